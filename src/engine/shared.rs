//! The state a server's workers, connections and handle share, and the
//! threads of the pool.

use super::{LISTENER, Run, Slab, WAKER};
use crate::config::ServerConfig;
use crate::conn::{Tracked, serve_connection};
use crate::handler::Handler;
use crate::net::{ClientAddress, Listener, ServerAddress, Stream};
use crate::sched::Sched;
use crate::sys::lock;
use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::{EventfdFlags, eventfd};
use std::collections::HashMap;
use std::io;
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Instant;

/// The state shared by the workers, the connections and the server handle.
#[doc(hidden)]
pub struct Shared<H> {
    pub(crate) handler: H,
    pub(crate) config: ServerConfig,
    /// The listening sockets, in the epoll set with tokens from
    /// [`LISTENER`] down.
    pub(crate) listeners: Vec<Listener>,
    /// Their addresses, in the same order.
    pub(crate) local_addrs: Vec<ServerAddress>,
    /// The first listener's address, for messages.
    pub(crate) local_addr: ServerAddress,
    pub(crate) epoll: OwnedFd,
    /// An eventfd in the epoll set, written once at shutdown.
    wake: OwnedFd,
    pub(crate) stopping: AtomicBool,
    /// Handing over to a new process (`Server::drain`): accept no more,
    /// close each connection after its next response.
    pub(crate) draining: AtomicBool,
    slab: Mutex<Slab>,
    /// Open connections (parked, active, or owned by a thread).
    pub(crate) open: AtomicUsize,
    /// Accepting is paused at the connection limit.
    pub(crate) accept_paused: AtomicBool,
    /// The wait after the last accept error, in milliseconds (0 after a
    /// success), and when the poller re-arms the listener after one.
    pub(crate) accept_backoff_ms: AtomicU64,
    pub(crate) accept_retry: Mutex<Option<Instant>>,
    pub(crate) last_sweep: Mutex<Instant>,
    /// Connections parked unread until the read-ahead budget has room
    /// (a hint for the poller; the list is in the slab).
    pub(crate) waiting_for_budget: AtomicUsize,
    /// The poller's workers: who polls, who serves, who sleeps.
    pub(crate) sched: Sched,
    /// Connections owned by threads (`ThreadingHttpServer`).
    pub(crate) tracked: Mutex<HashMap<u64, Arc<Tracked>>>,
    pub(crate) next_conn: AtomicU64,
    pub(crate) thread_names: AtomicU64,
    /// Threads besides the one in `serve_forever`: pool workers and
    /// connection threads.
    pub(crate) threads: Mutex<usize>,
    pub(crate) threads_changed: Condvar,
}

impl<H> Shared<H> {
    /// Wakes every worker and accept loop for good: the shutdown eventfd
    /// stays readable.
    pub(crate) fn wake(&self) {
        let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
    }

    /// Gives up the listeners' socket files (see [`Listener::socket_file`]):
    /// removes them when the server is done (`remove`), or leaves them to
    /// the process they were handed on to. Once: later calls do nothing.
    pub(crate) fn release_socket_files(&self, remove: bool) {
        for listener in &self.listeners {
            listener.release_socket_file(remove);
        }
    }
}

impl<H: Handler> Shared<H> {
    /// The state of a server listening on `listeners` (one at least): its
    /// epoll set holds the listeners (edge-triggered: whoever sees an event
    /// accepts until `EAGAIN`) and the shutdown eventfd; the pool may grow
    /// to `max_workers`.
    pub(crate) fn new(
        handler: H,
        config: ServerConfig,
        listeners: Vec<Listener>,
        max_workers: usize,
    ) -> io::Result<Self> {
        // (At most as many as a process has descriptors: far fewer than
        // the tokens from LAST_LISTENER to LISTENER.)
        if listeners.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a server needs at least one listening socket",
            ));
        }
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let flags = EventFlags::IN | EventFlags::ET;
        let mut local_addrs = Vec::with_capacity(listeners.len());
        for (i, listener) in listeners.iter().enumerate() {
            listener.set_nonblocking(true)?;
            local_addrs.push(listener.local_addr()?);
            let token = EventData::new_u64(LISTENER - i as u64);
            epoll::add(&epoll, listener, token, flags)?;
        }
        let local_addr = local_addrs[0].clone(); // one at least, checked above
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        // Level-triggered and never read: once written, every worker sees it.
        epoll::add(&epoll, &wake, EventData::new_u64(WAKER), EventFlags::IN)?;
        Ok(Shared {
            handler,
            config,
            listeners,
            local_addrs,
            local_addr,
            epoll,
            wake,
            stopping: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            slab: Mutex::new(Slab::default()),
            open: AtomicUsize::new(0),
            accept_paused: AtomicBool::new(false),
            accept_backoff_ms: AtomicU64::new(0),
            accept_retry: Mutex::new(None),
            last_sweep: Mutex::new(Instant::now()),
            waiting_for_budget: AtomicUsize::new(0),
            sched: Sched::new(max_workers),
            tracked: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
            thread_names: AtomicU64::new(0),
            threads: Mutex::new(0),
            threads_changed: Condvar::new(),
        })
    }

    pub(crate) fn lock_slab(&self) -> MutexGuard<'_, Slab> {
        lock(&self.slab)
    }

    /// The first half of shutdown, which never waits: stop accepting, wake
    /// every worker, close idle connections.
    pub(crate) fn begin_shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake();
        super::close_parked(self);
        self.close_idle_threads();
        self.sched.wake_all();
        self.threads_changed.notify_all();
    }

    /// Closes the connections whose threads wait for a next request.
    pub(crate) fn close_idle_threads(&self) {
        for conn in lock(&self.tracked).values() {
            if conn.idle.load(Ordering::SeqCst) {
                let _ = conn.stream.shutdown(Shutdown::Read);
            }
        }
    }

    /// Serves a connection on its own thread, tracked so that shutdown can
    /// close it while idle.
    pub(crate) fn serve_tracked(&self, stream: Stream, peer: ClientAddress) {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Tracked {
            stream,
            idle: AtomicBool::new(false),
        });
        lock(&self.tracked).insert(id, Arc::clone(&conn));
        serve_connection(&self.handler, &conn, peer, &self.config, &self.stopping);
        lock(&self.tracked).remove(&id);
    }
}

/// Starts one more worker thread of the poller, unless it has
/// `max_workers` already.
pub(crate) fn spawn_worker<H: Handler>(shared: &Arc<Shared<H>>) {
    if !shared.sched.full() {
        spawn_thread(shared, "basehttp-worker", |worker| {
            super::worker_loop(worker, Run::UntilIdle)
        });
    }
}

/// Starts the pool's monitor (see [`sched`](crate::sched)).
pub(crate) fn spawn_monitor<H: Handler>(shared: &Arc<Shared<H>>) {
    spawn_thread(shared, "basehttp-monitor", |shared| {
        shared.sched.monitor(
            &shared.stopping,
            shared.config.queue_timeout,
            &|| spawn_worker(shared),
            &|relief| super::relieve(shared, relief),
        )
    });
}

/// Runs `f` on a thread of its own, counted in `threads` while it runs.
fn spawn_thread<H: Handler>(
    shared: &Arc<Shared<H>>,
    name: &str,
    f: impl FnOnce(&Arc<Shared<H>>) + Send + 'static,
) {
    *lock(&shared.threads) += 1;
    let owned = Arc::clone(shared);
    let spawned = thread::Builder::new().name(name.into()).spawn(move || {
        f(&owned);
        *lock(&owned.threads) -= 1;
        owned.threads_changed.notify_all();
    });
    if spawned.is_err() {
        *lock(&shared.threads) -= 1;
    }
}
