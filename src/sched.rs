//! Which worker does what: one polls, the others serve or sleep, and a
//! monitor adds a worker only when handlers block.
//!
//! The poller's workers share one queue of ready connections. A worker with
//! nothing to serve becomes *the* poller if nobody is (one `epoll_wait` for
//! up to 32 events, whose connections join the queue), or sleeps on a
//! condition variable. So under a load of quick handlers a single worker
//! polls and serves everything, like an event loop, and the others cost
//! neither a wake-up nor a context switch; a second worker is woken only
//! while fewer workers are awake than there are CPUs.
//!
//! A handler that blocks (a database call, a slow client, a sleep) holds its
//! worker, and the ready connections and the poller role wait for it. The
//! monitor thread looks every 1 to 8 ms while handlers run: a worker that
//! stays in one request over three looks, neither running nor waiting for a
//! CPU most of the time between them (its `/proc/thread-self/schedstat`),
//! is blocked; when the workers not blocked are fewer than the CPUs and
//! work is waiting (queued connections, or nobody polling), it wakes a
//! sleeping worker or starts one, up to
//! [`max_workers`](crate::config::ServerConfig::max_workers). Workers that
//! sleep unused for
//! [`worker_idle_timeout`](crate::config::ServerConfig::worker_idle_timeout)
//! end, down to [`workers`](crate::config::ServerConfig::workers); the
//! thread that runs `serve_forever` never does. With no handler running the
//! monitor sleeps until one starts.

use crate::sys::lock;
use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// How often the monitor looks at workers that are in a handler: every
/// millisecond while a worker is seen in the same request twice, backing
/// off (doubling) to every 8 ms while every handler it sees is new.
const TICK: Duration = Duration::from_millis(1);
const MAX_TICK: Duration = Duration::from_millis(8);

/// Looks in a row without any handler running after which the monitor
/// sleeps until one starts.
const QUIET_TICKS: u32 = 50;

/// What a worker does next.
pub(crate) enum Job {
    /// Serve the connection with this token.
    Serve(u64),
    /// Wait for events: this worker is now the poller.
    Poll,
    /// Stop: shutdown.
    Stop,
    /// Stop: a surplus worker, already counted out of `workers`.
    Retire,
}

/// The ready queue and who polls, under one lock.
#[derive(Default)]
struct Ready {
    queue: VecDeque<u64>,
    polling: bool,
    sleeping: usize,
    /// Connections ever queued, and ever taken off the queue: the entry at
    /// the front is number `popped`. With samples of `pushed` over time,
    /// the monitor knows how long entries have waited without a clock
    /// read per request.
    pushed: u64,
    popped: u64,
}

/// What the monitor asks of the engine while the pool is overloaded.
pub(crate) struct Relief {
    /// Nobody polls: poll once, without waiting, in the workers' place.
    pub(crate) poll: bool,
    /// Connections that waited for a worker past the queue timeout: answer
    /// each 503 and close it.
    pub(crate) shed: Vec<u64>,
}

/// One worker's record, on a cache line of its own: only its worker writes
/// it, the monitor reads it.
#[repr(align(64))]
#[derive(Default)]
struct WorkerSlot {
    /// Incremented when the worker enters a handler and when it leaves:
    /// odd while it is in one.
    requests: AtomicU64,
    /// The worker thread's `/proc/thread-self/schedstat`, opened by the
    /// worker itself and read by the monitor.
    schedstat: Mutex<Option<File>>,
}

/// The scheduler of a poller server's workers.
pub(crate) struct Sched {
    ready: Mutex<Ready>,
    ready_changed: Condvar,
    slots: Box<[WorkerSlot]>,
    free_ids: Mutex<Vec<usize>>,
    /// Worker threads alive.
    pub(crate) workers: AtomicUsize,
    /// Workers wanted awake at once: the CPUs this process may run on.
    cpus: usize,
    monitor_asleep: AtomicBool,
    monitor_lock: Mutex<()>,
    monitor_wake: Condvar,
}

impl Sched {
    pub(crate) fn new(max_workers: usize) -> Sched {
        let max_workers = max_workers.max(1);
        Sched {
            ready: Mutex::new(Ready::default()),
            ready_changed: Condvar::new(),
            slots: (0..max_workers).map(|_| WorkerSlot::default()).collect(),
            free_ids: Mutex::new((0..max_workers).rev().collect()),
            workers: AtomicUsize::new(0),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            monitor_asleep: AtomicBool::new(false),
            monitor_lock: Mutex::new(()),
            monitor_wake: Condvar::new(),
        }
    }

    /// Registers the calling thread as a worker; `None` if the pool is full.
    pub(crate) fn enter(&self) -> Option<WorkerId<'_>> {
        let id = lock(&self.free_ids).pop()?;
        *lock(&self.slots[id].schedstat) = File::open("/proc/thread-self/schedstat").ok();
        self.workers.fetch_add(1, Ordering::SeqCst);
        Some(WorkerId { sched: self, id })
    }

    /// The next job of a worker: a queued connection, else the poller role,
    /// else sleep until either comes (or shutdown). With `retire` =
    /// `Some((idle, keep))`, a worker that sleeps `idle` unused ends while
    /// more than `keep` workers are alive.
    pub(crate) fn next_job(&self, stopping: &AtomicBool, retire: Option<(Duration, usize)>) -> Job {
        let mut r = lock(&self.ready);
        loop {
            if stopping.load(Ordering::SeqCst) {
                return Job::Stop;
            }
            if let Some(token) = r.queue.pop_front() {
                r.popped += 1;
                return Job::Serve(token);
            }
            if !r.polling {
                r.polling = true;
                return Job::Poll;
            }
            r.sleeping += 1;
            let timed_out = match retire {
                Some((idle, _)) => {
                    let (guard, wait) = self
                        .ready_changed
                        .wait_timeout(r, idle)
                        .unwrap_or_else(|e| e.into_inner());
                    r = guard;
                    wait.timed_out()
                }
                None => {
                    r = self
                        .ready_changed
                        .wait(r)
                        .unwrap_or_else(|e| e.into_inner());
                    false
                }
            };
            r.sleeping -= 1;
            // Counted out under the lock, so two workers that time out
            // together cannot both leave when only one may.
            let keep = retire.map_or(usize::MAX, |(_, keep)| keep);
            if timed_out
                && self
                    .workers
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                        (n > keep.max(1)).then(|| n - 1)
                    })
                    .is_ok()
            {
                return Job::Retire;
            }
        }
    }

    /// The poller is back with the connections that became ready: queue
    /// them, and wake a sleeping worker to share them while fewer workers
    /// than CPUs are awake.
    pub(crate) fn polled(&self, tokens: &[u64]) {
        let mut r = lock(&self.ready);
        r.polling = false;
        r.queue.extend(tokens);
        r.pushed += tokens.len() as u64;
        let awake = self.workers.load(Ordering::SeqCst) - r.sleeping;
        if r.queue.len() > 1 && r.sleeping > 0 && awake < self.cpus {
            self.ready_changed.notify_one();
        }
    }

    /// The poller, back from a wait that brought nothing, leaves the pool if
    /// more than `keep` workers are alive: counted out here, and the poller
    /// role passes to a sleeping worker. Without this, a surplus worker that
    /// happened to hold the poller role when the burst ended would stay.
    pub(crate) fn retire_poller(&self, keep: usize) -> bool {
        let r = lock(&self.ready);
        let left = self
            .workers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n > keep.max(1)).then(|| n - 1)
            })
            .is_ok();
        if left {
            let mut r = r;
            r.polling = false;
            self.ready_changed.notify_one();
        }
        left
    }

    /// Wakes every sleeping worker and the monitor (shutdown).
    pub(crate) fn wake_all(&self) {
        drop(lock(&self.ready));
        self.ready_changed.notify_all();
        drop(lock(&self.monitor_lock));
        self.monitor_wake.notify_all();
    }

    /// Whether there are as many workers as the pool may have.
    pub(crate) fn full(&self) -> bool {
        self.workers.load(Ordering::SeqCst) >= self.slots.len()
    }

    /// The monitor: run on a thread of its own by a pool, until `stopping`.
    /// `spawn` starts one more worker if the pool is not [`full`](Self::full).
    /// While the pool is full and every worker is in a handler, `relieve`
    /// polls in the workers' place and answers (503) the connections that
    /// have waited longer than `queue_timeout`.
    pub(crate) fn monitor(
        &self,
        stopping: &AtomicBool,
        queue_timeout: Option<Duration>,
        spawn: &dyn Fn(),
        relieve: &dyn Fn(Relief),
    ) {
        let n = self.slots.len();
        // (when, `pushed` then), while overloaded: how long entries waited.
        let mut samples: VecDeque<(Instant, u64)> = VecDeque::new();
        let mut seen = vec![0u64; n];
        let mut scheduled_seen = vec![Duration::ZERO; n];
        // Looks in a row at which each worker seemed blocked.
        let mut strikes = vec![0u8; n];
        let mut quiet = 0;
        let mut tick = TICK;
        let mut last_look = Instant::now();
        loop {
            {
                let guard = lock(&self.monitor_lock);
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                if quiet >= QUIET_TICKS {
                    // Nothing runs: sleep until a handler starts. A worker that
                    // entered one before the flag was set is caught by the check.
                    self.monitor_asleep.store(true, Ordering::SeqCst);
                    if !self.any_busy() {
                        drop(
                            self.monitor_wake
                                .wait(guard)
                                .unwrap_or_else(|e| e.into_inner()),
                        );
                    }
                    self.monitor_asleep.store(false, Ordering::SeqCst);
                    quiet = 0;
                    tick = TICK;
                    last_look = Instant::now();
                    continue;
                }
                drop(
                    self.monitor_wake
                        .wait_timeout(guard, tick)
                        .unwrap_or_else(|e| e.into_inner()),
                );
            }
            if stopping.load(Ordering::SeqCst) {
                return;
            }
            let now = Instant::now();
            let elapsed = now - last_look;
            last_look = now;
            let (mut busy, mut lingering, mut blocked) = (0, 0, 0);
            for (i, slot) in self.slots.iter().enumerate() {
                let requests = slot.requests.load(Ordering::Acquire);
                if requests % 2 == 1 {
                    busy += 1;
                    let scheduled = lock(&slot.schedstat).as_ref().and_then(scheduled_time);
                    // In the same request since the last look, and neither on
                    // the CPU nor waiting for it most of that time: blocked.
                    // Judged only when this look came on time: a late one
                    // means the whole CPU was taken (by the hypervisor, say),
                    // which schedstat does not see. And only twice in a row,
                    // so one such stall does not wake a worker.
                    let stalled = requests == seen[i]
                        && elapsed <= 2 * tick
                        && scheduled.is_none_or(|t| t - scheduled_seen[i] < elapsed / 2);
                    strikes[i] = if stalled {
                        strikes[i].saturating_add(1)
                    } else {
                        0
                    };
                    if requests == seen[i] {
                        lingering += 1;
                    }
                    if strikes[i] >= 2 {
                        blocked += 1;
                    }
                    scheduled_seen[i] = scheduled.unwrap_or_default();
                } else {
                    strikes[i] = 0;
                }
                seen[i] = requests;
            }
            tick = if lingering > 0 {
                TICK
            } else {
                (tick * 2).min(MAX_TICK)
            };
            if busy == 0 {
                quiet += 1;
                samples.clear();
                continue;
            }
            quiet = 0;
            if let Some(timeout) = queue_timeout {
                self.overload(busy, now, timeout, &mut samples, relieve);
            }
            if blocked == 0 {
                continue;
            }
            let r = lock(&self.ready);
            let awake = self.workers.load(Ordering::SeqCst) - r.sleeping;
            let waiting = !r.queue.is_empty() || !r.polling;
            if waiting && awake.saturating_sub(blocked) < self.cpus {
                if r.sleeping > 0 {
                    self.ready_changed.notify_one();
                } else {
                    // Every worker blocked: start one for each connection
                    // waiting (at least one, to poll), so that a quick
                    // request is not served one monitor look per worker.
                    let wanted = r.queue.len().max(1);
                    drop(r);
                    for _ in 0..wanted {
                        if self.full() {
                            break;
                        }
                        spawn();
                    }
                }
            }
        }
    }

    /// One look at an overloaded pool (full, every worker in a handler):
    /// if nobody polls, poll in the workers' place; answer the connections
    /// queued longer than `timeout` ago. `samples` remember how many had
    /// been queued when; they are dropped as soon as the pool has room.
    fn overload(
        &self,
        busy: usize,
        now: Instant,
        timeout: Duration,
        samples: &mut VecDeque<(Instant, u64)>,
        relieve: &dyn Fn(Relief),
    ) {
        if !self.full() || busy < self.workers.load(Ordering::SeqCst) {
            samples.clear();
            return;
        }
        let mut r = lock(&self.ready);
        let poll = !r.polling;
        if poll {
            r.polling = true; // released by `polled`
        }
        samples.push_back((now, r.pushed));
        // The newest sample at least `timeout` old tells how many entries
        // had been queued by then: those still queued waited too long.
        let mut cutoff = None;
        while let Some(&sample) = samples.front() {
            if now.duration_since(sample.0) < timeout {
                break;
            }
            cutoff = Some(sample);
            samples.pop_front();
        }
        if let Some(sample) = cutoff {
            samples.push_front(sample);
        }
        let stale = cutoff.map_or(0, |(_, pushed)| pushed.saturating_sub(r.popped));
        let stale = usize::try_from(stale)
            .unwrap_or(usize::MAX)
            .min(r.queue.len());
        let shed: Vec<u64> = r.queue.drain(..stale).collect();
        r.popped += shed.len() as u64;
        drop(r);
        if poll || !shed.is_empty() {
            relieve(Relief { poll, shed });
        }
    }

    fn any_busy(&self) -> bool {
        self.slots
            .iter()
            .any(|s| s.requests.load(Ordering::SeqCst) % 2 == 1)
    }
}

/// Time a thread has spent on a CPU plus time it has waited for one, from
/// its `schedstat` (`on-CPU-ns wait-ns timeslices`); `None` if unreadable.
fn scheduled_time(schedstat: &File) -> Option<Duration> {
    let mut buf = [0u8; 96];
    let n = schedstat.read_at(&mut buf, 0).ok()?;
    let text = std::str::from_utf8(&buf[..n]).ok()?;
    let mut fields = text.split_ascii_whitespace().map(|f| f.parse::<u64>().ok());
    let (on_cpu, waiting) = (fields.next()??, fields.next()??);
    Some(Duration::from_nanos(on_cpu.saturating_add(waiting)))
}

/// A worker's registration; ends it when dropped.
pub(crate) struct WorkerId<'a> {
    sched: &'a Sched,
    id: usize,
}

impl WorkerId<'_> {
    /// Marks the worker as in a handler until the guard is dropped.
    pub(crate) fn busy(&self) -> BusyGuard<'_> {
        let slot = &self.sched.slots[self.id];
        // Sequentially consistent, like the monitor's side (it sets
        // `monitor_asleep`, then looks for busy workers): one of the two
        // sees the other, so a handler never runs unwatched.
        slot.requests.fetch_add(1, Ordering::SeqCst);
        if self.sched.monitor_asleep.load(Ordering::SeqCst)
            && self.sched.monitor_asleep.swap(false, Ordering::SeqCst)
        {
            drop(lock(&self.sched.monitor_lock));
            self.sched.monitor_wake.notify_one();
        }
        BusyGuard(slot)
    }
}

impl WorkerId<'_> {
    /// Ends a worker that [`Job::Retire`] already counted out.
    pub(crate) fn retire(self) {
        self.release();
        std::mem::forget(self);
    }

    /// Gives the worker's slot back, closing its `schedstat` file (else every
    /// retired worker would leave a descriptor open).
    fn release(&self) {
        *lock(&self.sched.slots[self.id].schedstat) = None;
        lock(&self.sched.free_ids).push(self.id);
    }
}

impl Drop for WorkerId<'_> {
    fn drop(&mut self) {
        self.sched.workers.fetch_sub(1, Ordering::SeqCst);
        self.release();
    }
}

/// See [`WorkerId::busy`].
pub(crate) struct BusyGuard<'a>(&'a WorkerSlot);

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.0.requests.fetch_add(1, Ordering::Release);
    }
}
