//! A pool that grows under blocking handlers and shrinks back when they are
//! done: it keeps serving, gives back its threads and descriptors, and
//! `serve_forever` returns only after `shutdown()` or the stop descriptor.
//!
//! The regression these guard against: the thread that ran `serve_forever`
//! was itself a worker that could retire after sleeping unused, and then
//! `serve_forever` returned by itself (and a program like the `basehttp`
//! binary exited with status 0 some seconds after a burst); every retired
//! worker also left its `/proc/thread-self/schedstat` file open.
//!
//! The tests count the process's threads and descriptors, so they run one
//! at a time (a lock) and in a file of their own.

mod common;

use basehttp::{PoolHttpServer, ServerConfig};
use common::{Client, Gate, TIMEOUT, eventually};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{self, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One test at a time: they count process-wide threads and descriptors.
static SERIAL: Mutex<()> = Mutex::new(());

/// Threads of this process with this name.
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

/// Open descriptors of this process.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// A pool of one worker that may grow to eight, whose extra workers end
/// after 100 ms unused, and whose shutdown waits at most 2 s (so that a
/// `serve_forever` that returned by itself shows within the test).
fn config() -> ServerConfig {
    ServerConfig {
        workers: 1,
        max_workers: 8,
        worker_idle_timeout: Duration::from_millis(100),
        shutdown_timeout: Duration::from_secs(2),
        ..common::config()
    }
}

fn get_alive(addr: std::net::SocketAddr) {
    let mut c = Client::connect(addr);
    c.send(b"GET /alive HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    let r = c.read_response("GET").expect("response to GET /alive");
    assert_eq!(r.status, 200, "{r:?}");
}

/// Grows the pool with `blocked` blocking handlers, lets them finish, and
/// waits until the extra workers have ended and the descriptors are back
/// to `baseline`; `serving` must not have returned meanwhile.
fn grow_and_shrink(
    server: &PoolHttpServer<Gate>,
    blocked: usize,
    baseline: usize,
    serving: &mpsc::Receiver<std::io::Result<()>>,
) {
    let addr = server.local_addr().socket_addr().expect("a TCP server");
    let gate = server.handler();
    gate.set_open(false);
    let clients: Vec<Client> = (0..blocked)
        .map(|_| {
            let mut c = Client::connect(addr);
            c.send(b"GET /block HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
            c
        })
        .collect();
    // Each blocked handler holds a worker: the pool grew to `blocked`.
    gate.wait_for_waiters(blocked);
    assert!(threads_named("basehttp-worker") >= blocked - 1);
    // Still a worker for a quick request while they block.
    get_alive(addr);
    gate.set_open(true);
    for mut c in clients {
        let r = c.read_response("GET").expect("response to GET /block");
        assert_eq!(r.status, 200);
    }
    // The extra workers end (workers = 1: only the serve_forever thread stays).
    eventually("the pool shrinks back", Duration::from_secs(5), || {
        threads_named("basehttp-worker") == 0
    });
    eventually(
        "descriptors return to the baseline",
        Duration::from_secs(5),
        || open_descriptors() <= baseline,
    );
    assert!(
        matches!(serving.try_recv(), Err(TryRecvError::Empty)),
        "serve_forever returned by itself"
    );
    get_alive(addr);
}

#[test]
fn a_pool_shrinks_back_and_keeps_serving_until_shutdown() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = Arc::new(
        PoolHttpServer::bind_with_config("127.0.0.1:0", Gate::default(), config()).unwrap(),
    );
    let (tx, serving) = mpsc::channel();
    let running = Arc::clone(&server);
    thread::spawn(move || tx.send(running.serve_forever()));
    get_alive(server.local_addr().socket_addr().expect("a TCP server"));
    let baseline = open_descriptors();
    // Three rounds: which sleeping worker retires first is up to the
    // scheduler, so one round alone might miss a thread that must not.
    for _ in 0..3 {
        grow_and_shrink(&server, 6, baseline, &serving);
    }
    let stopper = Arc::clone(&server);
    common::bounded("shutdown()", move || stopper.shutdown());
    serving
        .recv_timeout(TIMEOUT)
        .expect("serve_forever returns after shutdown()")
        .expect("serve_forever succeeds");
}

#[test]
fn a_pool_shrinks_back_and_keeps_serving_until_the_stop_descriptor() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let server = Arc::new(
        PoolHttpServer::bind_with_config("127.0.0.1:0", Gate::default(), config()).unwrap(),
    );
    let (mut stop, stop_reader) = UnixStream::pair().unwrap();
    let (tx, serving) = mpsc::channel();
    let running = Arc::clone(&server);
    thread::spawn(move || tx.send(running.serve_until(&stop_reader)));
    get_alive(server.local_addr().socket_addr().expect("a TCP server"));
    let baseline = open_descriptors();
    for _ in 0..3 {
        grow_and_shrink(&server, 6, baseline, &serving);
    }
    stop.write_all(b"x").unwrap();
    serving
        .recv_timeout(TIMEOUT)
        .expect("serve_until returns after the stop descriptor")
        .expect("serve_until succeeds");
}
