//! The hostile-clients benchmark: clients that misbehave on purpose, against
//! basehttp (`hello --mode pool`) and hyper (`hyper_hello`) in the same run,
//! while a well-behaved "normal client" sends a keep-alive `GET /` every
//! millisecond on one connection (reconnecting if it is closed) and records
//! each latency and each failure. Its p50/p99/max under each load is set
//! beside its p99 alone (the baseline, measured per server in the same run).
//!
//! - (a) slow bodies: 200 connections each send `POST /` with
//!   `Content-Length: 1048576` and drip the body at 100 B/s for 20 s; how
//!   the drippers ended (answered with a status, closed by the server, still
//!   open), the server's threads during the drip (workers held), the normal
//!   client's latency. Then the same at 2 KiB/s.
//! - (b) a form flood: 10,000 urlencoded `POST /` of 2 KiB, each dripped at
//!   400 B/s (about 5 s), opened at 2,000/s, all open at once: how many are
//!   answered 200 with their body echoed, threads, the server's peak RSS
//!   (VmHWM), the normal client's latency.
//! - (c) resets: 1,000 connections send a head (`Content-Length: 1048576`)
//!   and 64 KiB of body, then reset (SO_LINGER 0, close): how long until the
//!   server's descriptors are back to their count before.
//! - (d) the burst: 100 connections send `POST /` with `Content-Length: 10`
//!   and 5 body bytes, the other 5 bytes 1 s later; all must get 200. Then
//!   25 s of probes (a `GET /` every 100 ms on a fresh connection): is the
//!   server alive, did every probe get 200, are its descriptors back.
//! - (e) slow handlers: 4 × max_workers `GET /sleep` at once, each holding
//!   its handler 1 s (basehttp: `bench/src/bin/basehttp_blocking.rs`, a
//!   `PoolHttpServer` with the default configuration whose handler calls
//!   `thread::sleep`; hyper: `hyper_hello --sleep`, an async
//!   `tokio::time::sleep` that holds no thread), plus the normal client: the
//!   quick requests' p99, and how many slow ones were answered 503.
//!
//! basehttp's bars, judged for every server in the tables: (a) and (b) the
//! normal client's p99 at most 10 ms above its baseline, with no failure;
//! (b) all forms answered 200, no worker held (the server's threads never
//! above their count before) and VmHWM under 64 MiB; (c) the sockets back
//! to their count within 1 s of the resets; (d) all 100 answered 200, and
//! after the probes the server alive, every probe answered 200, its sockets
//! back to their count. (e) has no bar: its figures are the quick requests'
//! wait and the 503s.
//!
//! Every scenario starts a fresh server, so one scenario's damage never
//! shows in the next. The hostile connections are one epoll loop (mio) over
//! nonblocking sockets; the normal client and a sampler of
//! `/proc/PID/status` are threads of their own. Servers run on CPU 1 and
//! the benchmark on CPU 0 (taskset) when there are two CPUs. Traffic goes to
//! 127.0.0.1 only; every phase is bounded in count and time; a server that
//! dies is reported as such, and every server is stopped by its own `Drop`
//! guard (SIGTERM to its PID, then SIGKILL).
//!
//! `hostile [--scale F] [--duration SECS] [--drip SECS] [--probe SECS]
//!          [--open-rate N] [--burst N] [--blocking N]
//!          [--servers basehttp,hyper] [--scenarios a,b,c,d,e]
//!          [--hello PATH] [--peers DIR]`
//!
//! `--scale` multiplies the connection counts of (a), (b) and (c) (default
//! 1); `--duration` is the normal client's baseline (default 10 s);
//! `--drip` how long (a)'s drippers drip (default 20 s); `--probe` how long
//! (d) probes (default 25 s). A smoke run in under a minute:
//! `hostile --scale 0.1 --duration 2 --drip 4 --probe 3`.

use basehttp_bench::{
    CommandLine, HELLO_BODY, Pinning, ProcStatus, Server, StderrTally, mib, ms,
    parse_response_head, proc_status, quantile, thousands,
};
use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const SERVERS: [&str; 2] = ["basehttp", "hyper"];
const SCENARIOS: [&str; 5] = ["a", "b", "c", "d", "e"];

struct Options {
    scale: f64,
    duration: Duration,
    drip: Duration,
    probe: Duration,
    open_rate: f64,
    burst: usize,
    blocking: Option<usize>,
    servers: Vec<String>,
    scenarios: Vec<String>,
    hello: PathBuf,
    peers: PathBuf,
}

impl Options {
    fn scaled(&self, n: usize) -> usize {
        ((n as f64 * self.scale).round() as usize).max(1)
    }
}

fn usage(message: &str) -> ! {
    eprintln!(
        "hostile: {message}\nusage: hostile [--scale F] [--duration SECS] [--drip SECS] \
         [--probe SECS] [--open-rate N] [--burst N] [--blocking N] [--servers basehttp,hyper] \
         [--scenarios a,b,c,d,e] [--hello PATH] [--peers DIR]"
    );
    std::process::exit(2)
}

fn parse_options() -> Options {
    let mut o = Options {
        scale: 1.0,
        duration: Duration::from_secs(10),
        drip: Duration::from_secs(20),
        probe: Duration::from_secs(25),
        open_rate: 2000.0,
        burst: 100,
        blocking: None,
        servers: SERVERS.map(String::from).to_vec(),
        scenarios: SCENARIOS.map(String::from).to_vec(),
        // Defaults for `cargo run` from bench/: the root's target directory.
        hello: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/examples/hello"),
        peers: basehttp_bench::exe_dir(),
    };
    let mut args = CommandLine::new(usage);
    while let Some(arg) = args.next_name() {
        match arg.as_str() {
            "--scale" => {
                let v = args.value(&arg);
                o.scale = match v.parse::<f64>() {
                    Ok(f) if f > 0.0 && f <= 10.0 => f,
                    _ => usage(&format!("--scale: not a number in (0, 10]: {v:?}")),
                }
            }
            "--duration" => o.duration = Duration::from_secs(args.number(&arg).max(1)),
            "--drip" => o.drip = Duration::from_secs(args.number(&arg).max(1)),
            "--probe" => o.probe = Duration::from_secs(args.number(&arg).max(1)),
            "--open-rate" => o.open_rate = args.number(&arg).max(1) as f64,
            "--burst" => o.burst = args.number(&arg).clamp(1, 10_000) as usize,
            "--blocking" => o.blocking = Some(args.number(&arg).clamp(1, 10_000) as usize),
            "--servers" => o.servers = args.list(&arg, &SERVERS),
            "--scenarios" => o.scenarios = args.list(&arg, &SCENARIOS),
            "--hello" => o.hello = args.value(&arg).into(),
            "--peers" => o.peers = args.value(&arg).into(),
            _ => args.unknown(&arg),
        }
    }
    o
}

// ---------------------------------------------------------------------------
// Small helpers.

/// A short name for an I/O error, the same for every server.
fn io_reason(e: &io::Error) -> String {
    use io::ErrorKind::*;
    match e.kind() {
        WouldBlock | TimedOut => "timed out".into(),
        ConnectionRefused => "connection refused".into(),
        ConnectionReset => "reset by the server".into(),
        ConnectionAborted => "connection aborted".into(),
        BrokenPipe => "broken pipe".into(),
        UnexpectedEof => "closed by the server".into(),
        _ => match e.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code)
                .to_string()
                .split(" (os error")
                .next()
                .unwrap_or_default()
                .to_string(),
            None => e.to_string(),
        },
    }
}

/// `{"a": 2, "b": 1}` as "2× a, 1× b" (the largest first).
fn counts(map: &BTreeMap<String, usize>) -> String {
    if map.is_empty() {
        return "none".into();
    }
    let mut v: Vec<(&String, &usize)> = map.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|(k, n)| format!("{}× {k}", thousands(**n as u64)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Sets SO_LINGER to {on, 0 s}: closing the socket then sends a reset.
fn set_linger_zero(fd: &impl AsRawFd) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt reads a linger struct of the size given, from a
    // live socket descriptor that we own.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// Whether the process `pid` has ended (a zombie not yet reaped, or gone).
fn ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state == "Z" || state == "X"),
        Err(_) => true,
    }
}

/// How many sockets the process `pid` has open (its descriptors that
/// `/proc/PID/fd` links to `socket:[…]`). Other descriptors are left out:
/// basehttp's pool keeps each worker's `/proc/thread-self/schedstat` open,
/// so its descriptor count follows its threads too.
fn open_sockets(pid: u32) -> Option<usize> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(
        dir.filter_map(Result::ok)
            .filter(|e| {
                std::fs::read_link(e.path())
                    .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
            })
            .count(),
    )
}

/// How many connections wait in the accept queue of the server listening
/// on `addr` (the `rx_queue` of its LISTEN line in `/proc/net/tcp`).
fn accept_queue(addr: SocketAddr) -> Option<u64> {
    let tcp = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let local = format!(":{:04X}", addr.port());
    tcp.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() > 4 && f[1].ends_with(&local) && f[3] == "0A" {
            u64::from_str_radix(f[4].split_once(':')?.1, 16).ok()
        } else {
            None
        }
    })
}

/// Reads one whole response (with a `Content-Length`) from a blocking
/// stream; returns its status and body.
fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(u16, Vec<u8>), String> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(parsed) = parse_response_head(buf) {
            let (head, status, length) = parsed.map_err(|e| e.to_string())?;
            if buf.len() >= head + length {
                return Ok((status, buf[head..head + length].to_vec()));
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err("closed by the server".into()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_reason(&e)),
        }
    }
}

/// One `GET /` on `stream`: Ok if answered 200 `Hello, World!`.
fn get_hello(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), String> {
    stream
        .write_all(basehttp_bench::GET_REQUEST)
        .map_err(|e| format!("write: {}", io_reason(&e)))?;
    match read_response(stream, buf)? {
        (200, body) if body == HELLO_BODY => Ok(()),
        (200, _) => Err("200 with another body".into()),
        (status, _) => Err(format!("status {status}")),
    }
}

fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, String> {
    let s = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("connect: {}", io_reason(&e)))?;
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    let _ = s.set_nodelay(true);
    Ok(s)
}

// ---------------------------------------------------------------------------
// The normal client.

/// What the normal client saw.
#[derive(Default, Clone)]
struct Latencies {
    samples: Vec<Duration>,
    failures: BTreeMap<String, usize>,
    /// How long each failed request took to fail.
    failed_after: Vec<Duration>,
}

impl Latencies {
    fn failed(&self) -> usize {
        self.failures.values().sum()
    }

    fn q(&self, q: f64) -> Option<Duration> {
        quantile(&mut self.samples.clone(), q)
    }

    fn p99(&self) -> Option<Duration> {
        self.q(0.99)
    }

    /// The p99 with the requests that a stall held back counted, as wrk
    /// does (HdrHistogram's correction for coordinated omission): a request
    /// that took L on a 1 ms schedule adds L − 1 ms, L − 2 ms, … down to
    /// 1 ms, the waits of the requests the client would have sent meanwhile.
    /// Failed requests count with the time they took to fail.
    fn p99_held_back(&self) -> Option<Duration> {
        let tick = Duration::from_millis(1);
        let mut all = Vec::with_capacity(self.samples.len());
        for &l in self.samples.iter().chain(&self.failed_after) {
            all.push(l);
            let mut held = l;
            while held > 2 * tick && all.len() < 50_000_000 {
                held -= tick;
                all.push(held);
            }
        }
        quantile(&mut all, 0.99)
    }

    /// "p50 / p99 / max".
    fn summary(&self) -> String {
        match (self.q(0.5), self.q(0.99), self.q(1.0)) {
            (Some(a), Some(b), Some(c)) => format!("{} / {} / {}", ms(a), ms(b), ms(c)),
            _ => "— (no request succeeded)".into(),
        }
    }

    /// "N ok, M failed (reasons)".
    fn tally(&self) -> String {
        let n = self.failed();
        let mut s = format!("{} ok, {} failed", thousands(self.samples.len() as u64), n);
        if n > 0 {
            s.push_str(&format!(" ({})", counts(&self.failures)));
        }
        s
    }
}

/// A keep-alive `GET /` every millisecond on one connection until `stop` is
/// set or `limit` has passed; reconnects after any failure. Timeouts 5 s.
fn normal_client(addr: SocketAddr, stop: &AtomicBool, limit: Duration) -> Latencies {
    let mut l = Latencies {
        samples: Vec::with_capacity(limit.as_millis().min(200_000) as usize),
        ..Latencies::default()
    };
    let mut stream: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(1024);
    let start = Instant::now();
    let mut tick = start;
    while !stop.load(Ordering::Relaxed) && start.elapsed() < limit {
        let t = Instant::now();
        let result = match stream.as_mut() {
            Some(s) => get_hello(s, &mut buf),
            None => connect(addr, Duration::from_secs(5)).and_then(|mut s| {
                let r = get_hello(&mut s, &mut buf);
                stream = Some(s);
                r
            }),
        };
        match result {
            Ok(()) => l.samples.push(t.elapsed()),
            Err(reason) => {
                *l.failures.entry(reason).or_default() += 1;
                l.failed_after.push(t.elapsed());
                stream = None;
            }
        }
        tick += Duration::from_millis(1);
        match tick.checked_duration_since(Instant::now()) {
            Some(rest) => std::thread::sleep(rest),
            None => tick = Instant::now(),
        }
    }
    l
}

// ---------------------------------------------------------------------------
// The sampler of /proc/PID/status.

#[derive(Default, Clone, Copy)]
struct Sampled {
    peak_threads: u64,
}

/// Reads `/proc/PID/status` every 20 ms until `stop` is set or the process
/// has ended.
fn sampler(pid: u32, stop: &AtomicBool) -> Sampled {
    let mut s = Sampled::default();
    loop {
        if ended(pid) {
            break;
        }
        if let Ok(status) = proc_status(pid) {
            s.peak_threads = s.peak_threads.max(status.threads);
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    s
}

/// Runs `load` while the normal client (if `normal`) and the sampler run in
/// threads of their own; stops them when `load` returns.
fn with_watchers<T>(
    server: &Server,
    normal: bool,
    load: impl FnOnce() -> T,
) -> (T, Option<Latencies>, Sampled) {
    let stop = AtomicBool::new(false);
    let (addr, pid) = (server.addr, server.pid());
    std::thread::scope(|scope| {
        let sampling = scope.spawn(|| sampler(pid, &stop));
        let client =
            normal.then(|| scope.spawn(|| normal_client(addr, &stop, Duration::from_secs(600))));
        let result = load();
        stop.store(true, Ordering::Relaxed);
        let latencies = client.and_then(|c| c.join().ok());
        let sampled = sampling.join().unwrap_or_default();
        (result, latencies, sampled)
    })
}

// ---------------------------------------------------------------------------
// Many hostile connections in one epoll loop.

/// What every connection of a [`Fleet`] sends: `head`, then `first` bytes of
/// `body` at once, then the rest at `rate` bytes a second in steps of
/// `interval`, up to `send` bytes of body.
struct Plan {
    head: Vec<u8>,
    body: Vec<u8>,
    send: usize,
    first: usize,
    rate: f64,
    interval: Duration,
    /// Once everything is sent, the connection is settled (the run may end)
    /// even with no response yet; else it waits for one.
    hold: bool,
    /// The body a 200 must have (else it counts as "200 with another body").
    expect: Option<Vec<u8>>,
}

impl Plan {
    fn request(head: String, body: Vec<u8>) -> Plan {
        Plan {
            head: head.into_bytes(),
            send: body.len(),
            body,
            first: 0,
            rate: 0.0,
            interval: Duration::from_secs(1),
            hold: false,
            expect: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Open,
    Answered { status: u16, body_ok: bool },
    Closed(String),
    Failed(String),
}

impl Outcome {
    fn label(&self, open: &str) -> String {
        match self {
            Outcome::Open => open.to_string(),
            Outcome::Answered {
                status: 200,
                body_ok: false,
            } => "200 with another body".into(),
            Outcome::Answered { status, .. } => format!("answered {status}"),
            Outcome::Closed(why) | Outcome::Failed(why) => why.clone(),
        }
    }

    fn ok(&self) -> bool {
        matches!(
            self,
            Outcome::Answered {
                status: 200,
                body_ok: true
            }
        )
    }
}

struct Conn {
    stream: Option<MioStream>,
    connected: bool,
    opened: Instant,
    /// Bytes of head and body written, and due by now.
    written: usize,
    due: usize,
    step: u32,
    buf: Vec<u8>,
    /// The status of a response without `Content-Length` (an echo streamed
    /// chunked) whose head has arrived; its body is read and discarded.
    streaming: Option<u16>,
    outcome: Outcome,
    answered_after: Option<Duration>,
    settled: bool,
}

struct Fleet {
    addr: SocketAddr,
    poll: Poll,
    events: Events,
    plan: Plan,
    conns: Vec<Conn>,
    /// Next steps of the drip: (when, connection).
    steps: BinaryHeap<Reverse<(Instant, usize)>>,
    settled: usize,
}

impl Fleet {
    fn new(addr: SocketAddr, n: usize, plan: Plan) -> io::Result<Fleet> {
        let now = Instant::now();
        let conns = (0..n)
            .map(|_| Conn {
                stream: None,
                connected: false,
                opened: now,
                written: 0,
                due: 0,
                step: 0,
                buf: Vec::new(),
                streaming: None,
                outcome: Outcome::Open,
                answered_after: None,
                settled: false,
            })
            .collect();
        Ok(Fleet {
            addr,
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            plan,
            conns,
            steps: BinaryHeap::new(),
            settled: 0,
        })
    }

    fn total(&self) -> usize {
        self.plan.head.len() + self.plan.send
    }

    fn settle(&mut self, i: usize) {
        if !self.conns[i].settled {
            self.conns[i].settled = true;
            self.settled += 1;
        }
    }

    /// Ends connection `i` with `outcome` and closes its socket.
    fn finish(&mut self, i: usize, outcome: Outcome) {
        if let Some(mut stream) = self.conns[i].stream.take() {
            let _ = self.poll.registry().deregister(&mut stream);
        }
        let conn = &mut self.conns[i];
        if conn.outcome == Outcome::Open {
            conn.outcome = outcome;
        }
        conn.buf = Vec::new();
        self.settle(i);
    }

    fn open(&mut self, i: usize) {
        self.conns[i].opened = Instant::now();
        let mut stream = match MioStream::connect(self.addr) {
            Ok(s) => s,
            Err(e) => {
                return self.finish(i, Outcome::Failed(format!("connect: {}", io_reason(&e))));
            }
        };
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            return self.finish(i, Outcome::Failed(format!("register: {}", io_reason(&e))));
        }
        self.conns[i].stream = Some(stream);
    }

    /// A readiness event on connection `i`.
    fn ready(&mut self, i: usize) {
        if !self.conns[i].connected {
            let Some(stream) = self.conns[i].stream.as_ref() else {
                return;
            };
            match stream.take_error() {
                Ok(Some(e)) | Err(e) => {
                    return self.finish(i, Outcome::Failed(format!("connect: {}", io_reason(&e))));
                }
                Ok(None) => {}
            }
            match stream.peer_addr() {
                Ok(_) => {}
                Err(e)
                    if e.kind() == io::ErrorKind::NotConnected
                        || e.raw_os_error() == Some(libc::EINPROGRESS) =>
                {
                    return;
                }
                Err(e) => {
                    return self.finish(i, Outcome::Failed(format!("connect: {}", io_reason(&e))));
                }
            }
            let _ = stream.set_nodelay(true);
            let now = Instant::now();
            let head = self.plan.head.len();
            let total = self.total();
            let conn = &mut self.conns[i];
            conn.connected = true;
            conn.due = (head + self.plan.first).min(total);
            if conn.due < total && self.plan.rate > 0.0 {
                self.steps.push(Reverse((now + self.plan.interval, i)));
            }
        }
        self.read(i);
        self.write(i);
    }

    /// The next step of connection `i`'s drip, due at `at`.
    fn step(&mut self, i: usize, at: Instant) {
        if self.conns[i].stream.is_none() || self.conns[i].outcome != Outcome::Open {
            return;
        }
        let (head, total) = (self.plan.head.len(), self.total());
        let conn = &mut self.conns[i];
        conn.step += 1;
        let dripped =
            (self.plan.rate * self.plan.interval.as_secs_f64() * conn.step as f64) as usize;
        conn.due = (head + self.plan.first + dripped).min(total);
        if conn.due < total {
            self.steps.push(Reverse((at + self.plan.interval, i)));
        }
        self.write(i);
    }

    fn write(&mut self, i: usize) {
        let head_len = self.plan.head.len();
        let total = self.total();
        loop {
            let conn = &mut self.conns[i];
            let Some(stream) = conn.stream.as_mut() else {
                return;
            };
            if !conn.connected || conn.written >= conn.due {
                break;
            }
            let slice = if conn.written < head_len {
                &self.plan.head[conn.written..]
            } else {
                &self.plan.body[conn.written - head_len..conn.due - head_len]
            };
            let slice = &slice[..slice.len().min(conn.due - conn.written)];
            match stream.write(slice) {
                Ok(n) => conn.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // A response may be waiting before the error: read it.
                    self.read(i);
                    return self.finish(i, Outcome::Closed(io_reason(&e)));
                }
            }
        }
        if self.plan.hold && self.conns[i].written >= total {
            self.settle(i);
        }
    }

    fn read(&mut self, i: usize) {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let conn = &mut self.conns[i];
            let Some(stream) = conn.stream.as_mut() else {
                return;
            };
            match stream.read(&mut chunk) {
                Ok(0) => {
                    let outcome = match conn.streaming.or_else(|| status_of(&conn.buf)) {
                        Some(status) => Outcome::Closed(format!(
                            "closed by the server within a {status} response"
                        )),
                        None => Outcome::Closed("closed by the server".into()),
                    };
                    return self.finish(i, outcome);
                }
                Ok(_) if conn.streaming.is_some() => {}
                Ok(n) => {
                    conn.buf.extend_from_slice(&chunk[..n]);
                    if let Some(outcome) = self.response(i) {
                        let after = self.conns[i].opened.elapsed();
                        self.conns[i].answered_after = Some(after);
                        return self.finish(i, outcome);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let conn = &self.conns[i];
                    let outcome = match conn.streaming.or_else(|| status_of(&conn.buf)) {
                        Some(status) => {
                            Outcome::Closed(format!("{} within a {status} response", io_reason(&e)))
                        }
                        None => Outcome::Closed(io_reason(&e)),
                    };
                    return self.finish(i, outcome);
                }
            }
        }
    }

    /// The outcome once connection `i` has a whole response. A response
    /// without `Content-Length` (the echo of a body too large for the
    /// server's response buffer goes out chunked while the request body is
    /// still arriving) only has its status noted: the connection goes on
    /// sending, and the rest of the response is discarded.
    fn response(&mut self, i: usize) -> Option<Outcome> {
        let conn = &mut self.conns[i];
        match parse_response_head(&conn.buf)? {
            Ok((head, status, length)) => {
                if conn.buf.len() < head + length {
                    return None;
                }
                let body = &conn.buf[head..head + length];
                let body_ok = self.plan.expect.as_deref().is_none_or(|e| e == body);
                Some(Outcome::Answered { status, body_ok })
            }
            Err(_) => {
                conn.streaming = Some(status_of(&conn.buf).unwrap_or(0));
                conn.buf = Vec::new();
                None
            }
        }
    }

    /// Opens the connections at `rate` a second and drives them until all
    /// are settled (answered, closed, or everything sent for a `hold` plan)
    /// or until `deadline`.
    fn run(&mut self, rate: f64, deadline: Instant) -> io::Result<()> {
        let start = Instant::now();
        let n = self.conns.len();
        let mut opened = 0;
        loop {
            let now = Instant::now();
            // Open those due, at most 256 per turn so the others are served.
            let mut burst = 0;
            while opened < n
                && burst < 256
                && start + Duration::from_secs_f64(opened as f64 / rate) <= now
            {
                self.open(opened);
                opened += 1;
                burst += 1;
            }
            while let Some(&Reverse((at, i))) = self.steps.peek() {
                if at > now {
                    break;
                }
                self.steps.pop();
                self.step(i, at);
            }
            if opened == n && self.settled == n {
                return Ok(());
            }
            if now >= deadline {
                return Ok(());
            }
            let mut wake = deadline;
            if let Some(&Reverse((at, _))) = self.steps.peek() {
                wake = wake.min(at);
            }
            if opened < n {
                wake = wake.min(start + Duration::from_secs_f64(opened as f64 / rate));
            }
            let timeout = wake
                .saturating_duration_since(now)
                .min(Duration::from_millis(50));
            match self.poll.poll(&mut self.events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            let ready: Vec<usize> = self.events.iter().map(|ev| ev.token().0).collect();
            for i in ready {
                self.ready(i);
            }
        }
    }

    /// Outcomes by label; `open` names those still open.
    fn outcomes(&self, open: &str) -> BTreeMap<String, usize> {
        let mut map = BTreeMap::new();
        for c in &self.conns {
            let label = match (&c.outcome, c.streaming) {
                (Outcome::Open, Some(status)) => format!("{open}, a {status} response streaming"),
                (outcome, _) => outcome.label(open),
            };
            *map.entry(label).or_default() += 1;
        }
        map
    }

    fn ok(&self) -> usize {
        self.conns.iter().filter(|c| c.outcome.ok()).count()
    }

    /// The longest time from connecting to a whole response.
    fn slowest_answer(&self) -> Option<Duration> {
        self.conns.iter().filter_map(|c| c.answered_after).max()
    }

    /// Resets every connection still open (SO_LINGER 0, then close).
    fn reset_all(&mut self) -> usize {
        let mut n = 0;
        for c in &mut self.conns {
            if let Some(mut stream) = c.stream.take() {
                let _ = self.poll.registry().deregister(&mut stream);
                set_linger_zero(&stream);
                n += 1;
            }
        }
        n
    }
}

/// The status of a response whose head is complete in `buf`.
fn status_of(buf: &[u8]) -> Option<u16> {
    let line = buf.split(|&b| b == b'\n').next()?;
    let rest = line
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| line.strip_prefix(b"HTTP/1.0 "))?;
    std::str::from_utf8(rest.get(..3)?).ok()?.parse().ok()
}

// ---------------------------------------------------------------------------
// The scenarios. Each returns its figures, or an error if the server could
// not be started or measured at all.

/// Waits a moment after the start, then reads the server's threads.
fn settle_idle(server: &Server) -> io::Result<ProcStatus> {
    std::thread::sleep(Duration::from_millis(300));
    server.status()
}

/// How the server's process fared: "alive", or how it ended.
fn fate(server: &mut Server) -> Option<String> {
    server
        .exited()
        .map(|status| format!("server died ({status})"))
}

struct Baseline {
    lat: Latencies,
}

fn baseline(name: &str, server: &Server, o: &Options) -> io::Result<Baseline> {
    settle_idle(server)?;
    eprintln!(
        "[{name}] baseline: normal client alone for {:?}…",
        o.duration
    );
    let stop = AtomicBool::new(false);
    Ok(Baseline {
        lat: normal_client(server.addr, &stop, o.duration),
    })
}

struct DripFigures {
    outcomes: BTreeMap<String, usize>,
    idle_threads: u64,
    sampled: Sampled,
    lat: Latencies,
    died: Option<String>,
}

/// (a): `n` connections drip a 1 MiB body at `rate` B/s for `o.drip`.
fn drip_phase(name: &str, server: &mut Server, o: &Options, rate: u64) -> io::Result<DripFigures> {
    let idle = settle_idle(server)?;
    let n = o.scaled(200);
    let mut plan = Plan::request(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: 1048576\r\n\r\n"
            .into(),
        vec![b'x'; 1 << 20],
    );
    plan.rate = rate as f64;
    plan.interval = Duration::from_millis(100);
    let mut fleet = Fleet::new(server.addr, n, plan)?;
    eprintln!(
        "[{name}] (a) {n} connections dripping 1 MiB bodies at {rate} B/s for {:?}…",
        o.drip
    );
    let deadline = Instant::now() + o.drip;
    let (run, lat, sampled) = with_watchers(server, true, || fleet.run(o.open_rate, deadline));
    run?;
    let outcomes = fleet.outcomes("still open");
    fleet.reset_all();
    let f = DripFigures {
        outcomes,
        idle_threads: idle.threads,
        sampled,
        lat: lat.unwrap_or_default(),
        died: fate(server),
    };
    eprintln!(
        "[{name}]   drippers: {}; threads {} → {}; normal client {} ({})",
        counts(&f.outcomes),
        f.idle_threads,
        f.sampled.peak_threads,
        f.lat.summary(),
        f.lat.tally()
    );
    Ok(f)
}

struct FormFigures {
    n: usize,
    ok: usize,
    outcomes: BTreeMap<String, usize>,
    slowest: Option<Duration>,
    took: Duration,
    idle_threads: u64,
    sampled: Sampled,
    hwm_kib: Option<u64>,
    lat: Latencies,
    died: Option<String>,
}

/// A urlencoded form body of exactly `len` bytes.
fn form_body(len: usize) -> Vec<u8> {
    let mut body = String::new();
    let mut i = 0;
    while body.len() < len {
        if !body.is_empty() {
            body.push('&');
        }
        body.push_str(&format!(
            "field{i:03}=value+{i:03}%21+abcdefghijklmnopqrstuvwxyz"
        ));
        i += 1;
    }
    body.truncate(len);
    body.into_bytes()
}

/// (b): `n` forms of 2 KiB, each dripped at 400 B/s, opened at `open_rate`.
fn form_phase(name: &str, server: &mut Server, o: &Options) -> io::Result<FormFigures> {
    let idle = settle_idle(server)?;
    let n = o.scaled(10_000);
    let body = form_body(2048);
    let mut plan = Plan::request(
        format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        ),
        body.clone(),
    );
    plan.rate = 400.0;
    plan.interval = Duration::from_millis(250);
    plan.expect = Some(body);
    let mut fleet = Fleet::new(server.addr, n, plan)?;
    eprintln!(
        "[{name}] (b) {n} forms of 2 KiB at 400 B/s each, opened at {}/s…",
        o.open_rate
    );
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(n as f64 / o.open_rate + 2048.0 / 400.0 + 30.0);
    let (run, lat, sampled) = with_watchers(server, true, || fleet.run(o.open_rate, deadline));
    run?;
    let took = start.elapsed();
    let hwm_kib = server.status().ok().map(|s| s.vm_hwm_kib);
    let f = FormFigures {
        n,
        ok: fleet.ok(),
        outcomes: fleet.outcomes("no answer within the time limit"),
        slowest: fleet.slowest_answer(),
        took,
        idle_threads: idle.threads,
        sampled,
        hwm_kib,
        lat: lat.unwrap_or_default(),
        died: fate(server),
    };
    fleet.reset_all();
    eprintln!(
        "[{name}]   {} of {n} answered 200 in {:.1?} ({}); threads {} → {}; VmHWM {}; normal client {} ({})",
        f.ok,
        f.took,
        counts(&f.outcomes),
        f.idle_threads,
        f.sampled.peak_threads,
        f.hwm_kib.map_or("—".into(), mib),
        f.lat.summary(),
        f.lat.tally()
    );
    Ok(f)
}

struct ResetFigures {
    n: usize,
    sent_all: usize,
    outcomes: BTreeMap<String, usize>,
    fds_idle: usize,
    fds_before_reset: Option<usize>,
    /// Connections not yet accepted when they were reset, and when the
    /// wait for the sockets ended.
    queued_at_reset: Option<u64>,
    queued_at_end: Option<u64>,
    /// Time from the last reset until the fd count was back to idle, or the
    /// count still open when the wait ended.
    back: Result<Duration, Option<usize>>,
    waited: Duration,
    died: Option<String>,
}

/// (c): `n` connections send a head and 64 KiB of body, then reset.
fn reset_phase(name: &str, server: &mut Server, o: &Options) -> io::Result<ResetFigures> {
    settle_idle(server)?;
    let pid = server.pid();
    let fds_idle = open_sockets(pid).ok_or_else(|| io::Error::other("no /proc/PID/fd"))?;
    let n = o.scaled(1000);
    let part = 64 * 1024;
    let mut plan = Plan::request(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: 1048576\r\n\r\n"
            .into(),
        vec![b'x'; part],
    );
    plan.first = part;
    plan.hold = true;
    let mut fleet = Fleet::new(server.addr, n, plan)?;
    eprintln!("[{name}] (c) {n} connections: head + 64 KiB of a 1 MiB body, then reset…");
    fleet.run(o.open_rate, Instant::now() + Duration::from_secs(30))?;
    // Give the server a moment to take them up, then reset them all at once.
    std::thread::sleep(Duration::from_millis(500));
    let fds_before_reset = open_sockets(pid);
    let queued_at_reset = accept_queue(server.addr);
    let total = fleet.total();
    let sent_all = fleet.conns.iter().filter(|c| c.written >= total).count();
    let outcomes = fleet.outcomes("open at the reset");
    fleet.reset_all();
    drop(fleet);
    let reset_at = Instant::now();
    let wait = Duration::from_secs(10);
    // Done when the sockets are back to their count and none of the reset
    // connections still waits to be accepted (accepting one would open a
    // socket again).
    let back = loop {
        match open_sockets(pid) {
            Some(fds) if fds <= fds_idle && accept_queue(server.addr).unwrap_or(0) == 0 => {
                break Ok(reset_at.elapsed());
            }
            fds if reset_at.elapsed() >= wait => break Err(fds),
            _ => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    let f = ResetFigures {
        n,
        sent_all,
        outcomes,
        fds_idle,
        fds_before_reset,
        queued_at_reset,
        queued_at_end: accept_queue(server.addr),
        back,
        waited: wait,
        died: fate(server),
    };
    eprintln!(
        "[{name}]   {} of {n} sent all; sockets {} idle, {} before the resets ({} not accepted), {}",
        f.sent_all,
        f.fds_idle,
        f.fds_before_reset.map_or("—".into(), |n| n.to_string()),
        f.queued_at_reset.map_or("—".into(), |n| n.to_string()),
        reset_cell(&f)
    );
    Ok(f)
}

fn reset_cell(f: &ResetFigures) -> String {
    match f.back {
        Ok(d) => format!("back to {} in {}", f.fds_idle, ms(d)),
        Err(Some(fds)) => format!(
            "still {fds} after {} s (idle: {}), {} not accepted",
            f.waited.as_secs(),
            f.fds_idle,
            f.queued_at_end.map_or("—".into(), |n| n.to_string())
        ),
        Err(None) => "server gone".into(),
    }
}

struct BurstFigures {
    n: usize,
    ok: usize,
    outcomes: BTreeMap<String, usize>,
    slowest: Option<Duration>,
    idle_threads: u64,
    peak_threads: u64,
    end_threads: Option<u64>,
    probes: usize,
    probe_failures: BTreeMap<String, usize>,
    /// How long after the burst the server was seen dead, and its status.
    died: Option<(Duration, String)>,
    fds_idle: usize,
    fds_end: Option<usize>,
}

impl BurstFigures {
    fn probes_ok(&self) -> usize {
        self.probes - self.probe_failures.values().sum::<usize>()
    }
}

/// (d): the burst, then probes.
fn burst_phase(name: &str, server: &mut Server, o: &Options) -> io::Result<BurstFigures> {
    let idle = settle_idle(server)?;
    let pid = server.pid();
    let fds_idle = open_sockets(pid).ok_or_else(|| io::Error::other("no /proc/PID/fd"))?;
    let n = o.burst;
    let body = b"0123456789".to_vec();
    let mut plan = Plan::request(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: 10\r\n\r\n"
            .into(),
        body.clone(),
    );
    plan.first = 5;
    plan.rate = 5.0;
    plan.interval = Duration::from_secs(1);
    plan.expect = Some(body);
    let mut fleet = Fleet::new(server.addr, n, plan)?;
    eprintln!("[{name}] (d) burst of {n} bodies in two halves 1 s apart…");
    let stop = AtomicBool::new(false);
    let (run, sampled) = std::thread::scope(|scope| {
        let sampling = scope.spawn(|| sampler(pid, &stop));
        let run = fleet.run(f64::INFINITY, Instant::now() + Duration::from_secs(15));
        stop.store(true, Ordering::Relaxed);
        (run, sampling.join().unwrap_or_default())
    });
    run?;
    let mut f = BurstFigures {
        n,
        ok: fleet.ok(),
        outcomes: fleet.outcomes("no answer within 15 s"),
        slowest: fleet.slowest_answer(),
        idle_threads: idle.threads,
        peak_threads: sampled.peak_threads,
        end_threads: None,
        probes: 0,
        probe_failures: BTreeMap::new(),
        died: None,
        fds_idle,
        fds_end: None,
    };
    fleet.reset_all();
    drop(fleet);
    eprintln!(
        "[{name}]   {} of {n} answered 200 ({}); probing for {:?}…",
        f.ok,
        counts(&f.outcomes),
        o.probe
    );
    let burst_end = Instant::now();
    let mut buf = Vec::new();
    let mut k = 0u32;
    while burst_end.elapsed() < o.probe {
        if let Some(status) = server.exited() {
            f.died = Some((burst_end.elapsed(), format!("{status}")));
            break;
        }
        if let Ok(s) = server.status() {
            f.peak_threads = f.peak_threads.max(s.threads);
        }
        f.probes += 1;
        let result = connect(server.addr, Duration::from_secs(2))
            .and_then(|mut s| get_hello(&mut s, &mut buf));
        if let Err(reason) = result {
            *f.probe_failures.entry(reason).or_default() += 1;
        }
        k += 1;
        if let Some(rest) =
            (burst_end + Duration::from_millis(100) * k).checked_duration_since(Instant::now())
        {
            std::thread::sleep(rest);
        }
    }
    if f.died.is_none()
        && let Some(status) = server.exited()
    {
        f.died = Some((burst_end.elapsed(), format!("{status}")));
    }
    if f.died.is_none() {
        // The probes' connections close on both sides within moments.
        let until = Instant::now() + Duration::from_secs(2);
        loop {
            f.fds_end = open_sockets(pid);
            if f.fds_end.is_none_or(|fds| fds <= fds_idle) || Instant::now() >= until {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        f.end_threads = server.status().ok().map(|s| s.threads);
    }
    eprintln!(
        "[{name}]   {}; probes {} ok of {}{}; threads {} → peak {} → {}; sockets {} → {}",
        match &f.died {
            Some((after, status)) => format!("server DIED ({status}) {after:.1?} after the burst"),
            None => "server alive".into(),
        },
        f.probes_ok(),
        f.probes,
        if f.probe_failures.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts(&f.probe_failures))
        },
        f.idle_threads,
        f.peak_threads,
        f.end_threads.map_or("—".into(), |t| t.to_string()),
        f.fds_idle,
        f.fds_end.map_or("—".into(), |n| n.to_string())
    );
    Ok(f)
}

struct BlockingFigures {
    handler: String,
    n: usize,
    outcomes: BTreeMap<String, usize>,
    slowest: Option<Duration>,
    idle_threads: u64,
    sampled: Sampled,
    lat: Latencies,
    died: Option<String>,
}

impl BlockingFigures {
    fn count(&self, label: &str) -> usize {
        self.outcomes.get(label).copied().unwrap_or(0)
    }
}

/// The `max_workers` a `basehttp_blocking` startup line announces.
fn announced_max_workers(line: &str) -> Option<usize> {
    let rest = &line[line.find("max_workers ")? + "max_workers ".len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// (e): `n` requests whose handler takes 1 s, at once, with the normal
/// client.
fn blocking_phase(
    name: &str,
    server: &mut Server,
    n: usize,
    handler: String,
) -> io::Result<BlockingFigures> {
    let idle = settle_idle(server)?;
    let mut plan = Plan::request(
        "GET /sleep HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".into(),
        Vec::new(),
    );
    plan.expect = Some(b"Slept 1 s".to_vec());
    let mut fleet = Fleet::new(server.addr, n, plan)?;
    eprintln!("[{name}] (e) {n} requests whose handler takes 1 s, at once…");
    let (run, lat, sampled) = with_watchers(server, true, || {
        // The normal client first, then the slow requests all at once.
        std::thread::sleep(Duration::from_millis(100));
        fleet.run(f64::INFINITY, Instant::now() + Duration::from_secs(60))
    });
    run?;
    let f = BlockingFigures {
        handler,
        n,
        outcomes: fleet.outcomes("no answer within 60 s"),
        slowest: fleet.slowest_answer(),
        idle_threads: idle.threads,
        sampled,
        lat: lat.unwrap_or_default(),
        died: fate(server),
    };
    fleet.reset_all();
    eprintln!(
        "[{name}]   slow requests: {} (last in {}); threads {} → {}; normal client {} ({})",
        counts(&f.outcomes),
        f.slowest.map_or("—".into(), ms),
        f.idle_threads,
        f.sampled.peak_threads,
        f.lat.summary(),
        f.lat.tally()
    );
    Ok(f)
}

// ---------------------------------------------------------------------------
// The report.

type Res<T> = Result<T, String>;

/// One server's results, scenario by scenario (None: not run).
struct Column {
    label: &'static str,
    baseline: Option<Res<Baseline>>,
    slow: Option<Res<DripFigures>>,
    fast: Option<Res<DripFigures>>,
    forms: Option<Res<FormFigures>>,
    resets: Option<Res<ResetFigures>>,
    burst: Option<Res<BurstFigures>>,
    blocking: Option<Res<BlockingFigures>>,
    /// What the server wrote to standard error, by scenario key.
    logs: BTreeMap<&'static str, StderrTally>,
}

const LOG_ROW: &str = "server's standard error";

/// A row with what the server wrote to standard error in scenario `key`.
fn log_row(t: &mut Table, columns: &[Column], key: &str) {
    t.row(columns, LOG_ROW, |c| match c.logs.get(key) {
        None => "—".into(),
        Some(log) if log.lines == 0 => "nothing".into(),
        Some(log) => {
            let messages: BTreeMap<String, usize> = log
                .messages
                .iter()
                .map(|(m, n)| {
                    let short: String = m.chars().take(120).collect();
                    let short = if short.len() < m.len() {
                        format!("{short}…")
                    } else {
                        short
                    };
                    (format!("`{}`", short.replace('`', "'")), *n)
                })
                .collect();
            format!(
                "{} lines: {}",
                thousands(log.lines as u64),
                counts(&messages)
            )
        }
    });
}

fn cell<T>(r: &Option<Res<T>>, f: impl Fn(&T) -> String) -> String {
    match r {
        None => "not run".into(),
        Some(Err(e)) => format!("error: {e}"),
        Some(Ok(t)) => f(t),
    }
}

fn verdict(ok: Option<bool>) -> String {
    match ok {
        Some(true) => "meets".into(),
        Some(false) => "**MISSES**".into(),
        None => "not measured".into(),
    }
}

fn alive(died: &Option<String>) -> String {
    died.clone().unwrap_or_else(|| "alive".into())
}

/// The normal client's p99 under load against its baseline; with
/// `held_back`, both counting the requests held back by stalls.
fn p99_against(c: &Column, lat: &Latencies, held_back: bool) -> (String, Option<bool>) {
    let p99 = |l: &Latencies| {
        if held_back {
            l.p99_held_back()
        } else {
            l.p99()
        }
    };
    let base = match &c.baseline {
        Some(Ok(b)) => p99(&b.lat),
        _ => None,
    };
    match (p99(lat), base) {
        (Some(p), Some(b)) => {
            let delta = (p.as_secs_f64() - b.as_secs_f64()) * 1e3;
            (
                format!("{delta:+.2} ms ({} → {})", ms(b), ms(p)),
                Some(delta <= 10.0 && lat.failed() == 0),
            )
        }
        _ => ("—".into(), None),
    }
}

struct Table {
    title: String,
    what: String,
    rows: Vec<(String, Vec<String>)>,
}

impl Table {
    fn new(title: &str, what: String) -> Table {
        Table {
            title: title.into(),
            what,
            rows: Vec::new(),
        }
    }

    fn row(&mut self, columns: &[Column], title: impl Into<String>, f: impl Fn(&Column) -> String) {
        self.rows
            .push((title.into(), columns.iter().map(f).collect()));
    }

    fn print(&self, columns: &[Column], out: &mut String) {
        out.push_str(&format!(
            "\n### {}\n\n{}\n\n| figure |",
            self.title, self.what
        ));
        for c in columns {
            out.push_str(&format!(" {} |", c.label));
        }
        out.push_str("\n| --- |");
        out.push_str(&" ---: |".repeat(columns.len()));
        out.push('\n');
        // The figures first, then the bars, then the server's log.
        let rank = |title: &str| match title {
            LOG_ROW => 2,
            t if t.starts_with("bar:") => 1,
            _ => 0,
        };
        let mut rows: Vec<&(String, Vec<String>)> = self.rows.iter().collect();
        rows.sort_by_key(|(title, _)| rank(title));
        for (title, cells) in rows {
            out.push_str(&format!("| {title} |"));
            for cell in cells {
                out.push_str(&format!(" {} |", cell.replace('|', "\\|")));
            }
            out.push('\n');
        }
    }
}

/// The normal client's rows; with `bars`, judged against the baseline.
fn normal_rows(
    t: &mut Table,
    columns: &[Column],
    during: &str,
    bars: bool,
    lat: impl Fn(&Column) -> Option<Res<Latencies>>,
) {
    let get = |c: &Column| -> Option<Res<Latencies>> { lat(c) };
    t.row(
        columns,
        format!("normal client {during}: p50 / p99 / max"),
        |c| cell(&get(c), |l| l.summary()),
    );
    t.row(columns, "normal client: requests ok, failed", |c| {
        cell(&get(c), |l| l.tally())
    });
    t.row(columns, "p99 against the baseline", |c| {
        cell(&get(c), |l| p99_against(c, l, false).0)
    });
    t.row(
        columns,
        "p99 with held-back requests counted, against the baseline's",
        |c| cell(&get(c), |l| p99_against(c, l, true).0),
    );
    if bars {
        t.row(columns, "bar: p99 ≤ baseline + 10 ms, no failure", |c| {
            cell(&get(c), |l| verdict(p99_against(c, l, false).1))
        });
    }
}

fn lat_of<T>(r: &Option<Res<T>>, f: impl Fn(&T) -> &Latencies) -> Option<Res<Latencies>> {
    r.as_ref().map(|r| match r {
        Ok(t) => Ok(f(t).clone()),
        Err(e) => Err(e.clone()),
    })
}

fn report(columns: &[Column], o: &Options, pin: Pinning, blocking_n: usize) -> String {
    let mut out = String::new();
    let mut tables = Vec::new();

    let mut t = Table::new(
        "Baseline",
        format!(
            "The normal client alone: a keep-alive `GET /` every millisecond on one connection for {} s.",
            o.duration.as_secs()
        ),
    );
    t.row(columns, "normal client alone: p50 / p99 / max", |c| {
        cell(&c.baseline, |b| b.lat.summary())
    });
    t.row(columns, "p99 with held-back requests counted", |c| {
        cell(&c.baseline, |b| {
            b.lat.p99_held_back().map_or("—".into(), ms)
        })
    });
    t.row(columns, "normal client: requests ok, failed", |c| {
        cell(&c.baseline, |b| b.lat.tally())
    });
    log_row(&mut t, columns, "baseline");
    tables.push(t);

    for (fast, rate) in [(false, "100 B/s"), (true, "2 KiB/s")] {
        fn drips(c: &Column, fast: bool) -> &Option<Res<DripFigures>> {
            if fast { &c.fast } else { &c.slow }
        }
        let n = thousands(o.scaled(200) as u64);
        let mut t = Table::new(
            &format!("(a) Slow request bodies at {rate}"),
            format!(
                "{n} connections each send `POST /` with `Content-Length: 1048576`, then drip the body \
                 at {rate} for {} s, while the normal client runs; then they are reset. The server's \
                 threads are sampled every 20 ms: the workers held beyond the idle pool are its peak \
                 thread count during the drip less its count before.",
                o.drip.as_secs()
            ),
        );
        t.row(columns, "drippers at the end of the drip", |c| {
            cell(drips(c, fast), |f| counts(&f.outcomes))
        });
        t.row(
            columns,
            "server threads: before → peak during the drip",
            |c| {
                cell(drips(c, fast), |f| {
                    format!("{} → {}", f.idle_threads, f.sampled.peak_threads)
                })
            },
        );
        t.row(
            columns,
            "workers held beyond the idle pool (peak − before)",
            |c| {
                cell(drips(c, fast), |f| {
                    f.sampled
                        .peak_threads
                        .saturating_sub(f.idle_threads)
                        .to_string()
                })
            },
        );
        normal_rows(&mut t, columns, "during the drip", true, |c| {
            lat_of(drips(c, fast), |f| &f.lat)
        });
        t.row(columns, "server after the scenario", |c| {
            cell(drips(c, fast), |f| alive(&f.died))
        });
        log_row(&mut t, columns, if fast { "a2048" } else { "a100" });
        tables.push(t);
    }

    let n = o.scaled(10_000);
    let mut t = Table::new(
        "(b) A flood of slow forms",
        format!(
            "{} connections each send `POST /` with `Content-Type: application/x-www-form-urlencoded` and a \
             2,048-byte body dripped at 400 B/s (about 5 s each), opened at {}/s, all in one epoll loop; \
             the server echoes each body.",
            thousands(n as u64),
            thousands(o.open_rate as u64)
        ),
    );
    t.row(columns, "answered 200 with the body echoed", |c| {
        cell(&c.forms, |f| {
            format!(
                "{} of {} in {:.1} s",
                thousands(f.ok as u64),
                thousands(f.n as u64),
                f.took.as_secs_f64()
            )
        })
    });
    t.row(columns, "outcomes", |c| {
        cell(&c.forms, |f| counts(&f.outcomes))
    });
    t.row(columns, "slowest form: connect to whole response", |c| {
        cell(&c.forms, |f| f.slowest.map_or("—".into(), ms))
    });
    t.row(columns, "server threads: before → peak", |c| {
        cell(&c.forms, |f| {
            format!("{} → {}", f.idle_threads, f.sampled.peak_threads)
        })
    });
    t.row(columns, "server VmHWM (peak RSS)", |c| {
        cell(&c.forms, |f| f.hwm_kib.map_or("—".into(), mib))
    });
    normal_rows(&mut t, columns, "during the flood", true, |c| {
        lat_of(&c.forms, |f| &f.lat)
    });
    t.row(columns, "server after the scenario", |c| {
        cell(&c.forms, |f| alive(&f.died))
    });
    t.row(columns, "bar: all answered 200", |c| {
        cell(&c.forms, |f| verdict(Some(f.ok == f.n)))
    });
    t.row(columns, "bar: no worker held (threads ≤ before)", |c| {
        cell(&c.forms, |f| {
            verdict(Some(f.sampled.peak_threads <= f.idle_threads))
        })
    });
    t.row(columns, "bar: VmHWM < 64 MiB", |c| {
        cell(&c.forms, |f| verdict(f.hwm_kib.map(|k| k < 64 * 1024)))
    });
    log_row(&mut t, columns, "b");
    tables.push(t);

    let mut t = Table::new(
        "(c) Resets in the middle of a body",
        format!(
            "{} connections each send `POST /` with `Content-Length: 1048576` and 64 KiB of the body; \
             0.5 s after the last has sent it, all are reset (`SO_LINGER` 0, close). The server's \
             sockets (its descriptors that `/proc/PID/fd` links to `socket:[…]`; basehttp's workers \
             also keep a file open each) are counted every 2 ms from the last reset until they are \
             back to their count before the scenario and no reset connection waits in the listen queue \
             (`/proc/net/tcp`) to be accepted.",
            thousands(o.scaled(1000) as u64)
        ),
    );
    t.row(columns, "connections that sent their 64 KiB", |c| {
        cell(&c.resets, |f| {
            format!(
                "{} of {}",
                thousands(f.sent_all as u64),
                thousands(f.n as u64)
            )
        })
    });
    t.row(columns, "their state at the reset", |c| {
        cell(&c.resets, |f| counts(&f.outcomes))
    });
    t.row(
        columns,
        "server sockets: before / just before the resets",
        |c| {
            cell(&c.resets, |f| {
                format!(
                    "{} / {}",
                    f.fds_idle,
                    f.fds_before_reset
                        .map_or("—".into(), |n| thousands(n as u64))
                )
            })
        },
    );
    t.row(
        columns,
        "connections not yet accepted at the reset (listen queue)",
        |c| {
            cell(&c.resets, |f| {
                f.queued_at_reset.map_or("—".into(), thousands)
            })
        },
    );
    t.row(columns, "server sockets after the resets", |c| {
        cell(&c.resets, reset_cell)
    });
    t.row(columns, "server after the scenario", |c| {
        cell(&c.resets, |f| alive(&f.died))
    });
    t.row(columns, "bar: all closed within 1 s", |c| {
        cell(&c.resets, |f| {
            verdict(Some(f.back.is_ok_and(|d| d <= Duration::from_secs(1))))
        })
    });
    log_row(&mut t, columns, "c");
    tables.push(t);

    let mut t = Table::new(
        "(d) A burst of split bodies, then probes",
        format!(
            "{} connections each send `POST /` with `Content-Length: 10` and 5 bytes of the body, the other \
             5 bytes 1 s later; each must be answered 200 with its body. Then for {} s a `GET /` every \
             100 ms on a fresh connection (2 s timeout), with the server's process checked before each.",
            o.burst,
            o.probe.as_secs()
        ),
    );
    t.row(columns, "answered 200 with the body echoed", |c| {
        cell(&c.burst, |f| {
            format!(
                "{} of {}, slowest {}",
                f.ok,
                f.n,
                f.slowest.map_or("—".into(), ms)
            )
        })
    });
    t.row(columns, "outcomes", |c| {
        cell(&c.burst, |f| counts(&f.outcomes))
    });
    t.row(
        columns,
        "server threads: before / peak / after the probes",
        |c| {
            cell(&c.burst, |f| {
                format!(
                    "{} / {} / {}",
                    f.idle_threads,
                    f.peak_threads,
                    f.end_threads.map_or("—".into(), |t| t.to_string())
                )
            })
        },
    );
    t.row(columns, "server during the probes", |c| {
        cell(&c.burst, |f| match &f.died {
            Some((after, status)) => format!(
                "**died** ({status}) {:.1} s after the burst",
                after.as_secs_f64()
            ),
            None => "alive".into(),
        })
    });
    t.row(columns, "probes answered 200", |c| {
        cell(&c.burst, |f| {
            let mut s = format!("{} of {}", f.probes_ok(), f.probes);
            if !f.probe_failures.is_empty() {
                s.push_str(&format!(" ({})", counts(&f.probe_failures)));
            }
            s
        })
    });
    t.row(columns, "server sockets: before / after the probes", |c| {
        cell(&c.burst, |f| {
            format!(
                "{} / {}",
                f.fds_idle,
                f.fds_end.map_or("—".into(), |n| n.to_string())
            )
        })
    });
    t.row(columns, "bar: all answered 200", |c| {
        cell(&c.burst, |f| verdict(Some(f.ok == f.n)))
    });
    t.row(columns, "bar: alive, every probe 200, sockets back", |c| {
        cell(&c.burst, |f| {
            verdict(Some(
                f.died.is_none()
                    && f.probe_failures.is_empty()
                    && f.fds_end.is_some_and(|n| n <= f.fds_idle),
            ))
        })
    });
    log_row(&mut t, columns, "d");
    tables.push(t);

    let mut t = Table::new(
        "(e) Handlers that take 1 s",
        format!(
            "{blocking_n} `GET /sleep` at once ({}), each on its own connection, each taking its handler \
             1 s, while the normal client sends `GET /` to the same server: the normal client's latency is \
             how long a quick request waits.",
            if o.blocking.is_some() {
                "as `--blocking` asks"
            } else {
                "4 × basehttp's max_workers, as its startup line gives it"
            }
        ),
    );
    t.row(columns, "the slow handler", |c| {
        cell(&c.blocking, |f| f.handler.clone())
    });
    t.row(columns, "slow requests: outcomes", |c| {
        cell(&c.blocking, |f| counts(&f.outcomes))
    });
    t.row(columns, "slow requests answered 503", |c| {
        cell(&c.blocking, |f| {
            format!("{} of {}", f.count("answered 503"), f.n)
        })
    });
    t.row(columns, "last slow request answered after", |c| {
        cell(&c.blocking, |f| f.slowest.map_or("—".into(), ms))
    });
    t.row(columns, "server threads: before → peak", |c| {
        cell(&c.blocking, |f| {
            format!("{} → {}", f.idle_threads, f.sampled.peak_threads)
        })
    });
    normal_rows(&mut t, columns, "while they run", false, |c| {
        lat_of(&c.blocking, |f| &f.lat)
    });
    t.row(columns, "server after the scenario", |c| {
        cell(&c.blocking, |f| alive(&f.died))
    });
    log_row(&mut t, columns, "e");
    tables.push(t);

    out.push_str(&format!(
        "Scale {}: (a) {} connections, (b) {} forms, (c) {} connections, (d) {} connections, (e) {} \
         slow requests; normal client baseline {} s, drip {} s, probes {} s; {}.\n",
        o.scale,
        thousands(o.scaled(200) as u64),
        thousands(o.scaled(10_000) as u64),
        thousands(o.scaled(1000) as u64),
        o.burst,
        if blocking_n > 0 {
            blocking_n.to_string()
        } else {
            "no".into()
        },
        o.duration.as_secs(),
        o.drip.as_secs(),
        o.probe.as_secs(),
        pin.describe()
    ));
    for t in &tables {
        // Skip the tables of scenarios nobody ran.
        if t.rows
            .iter()
            .filter(|(title, _)| title != LOG_ROW)
            .all(|(_, cells)| cells.iter().all(|c| c == "not run"))
        {
            continue;
        }
        t.print(columns, &mut out);
    }
    out
}

fn main() {
    let o = parse_options();
    let nofile = basehttp_bench::raise_open_files_limit();
    let pin = Pinning::setup();
    eprintln!(
        "hostile: RLIMIT_NOFILE soft limit {nofile}; {}",
        pin.describe()
    );
    let need = o.scaled(10_000) + 200;
    if (nofile as usize) < need {
        eprintln!("hostile: warning: (b) needs about {need} open files, {nofile} allowed");
    }
    let runs = |s: &str| o.scenarios.iter().any(|x| x == s);

    let start = |key: &str, blocking: bool| -> io::Result<Server> {
        let addr = "127.0.0.1:0";
        match (key, blocking) {
            ("basehttp", false) => {
                Server::start_tallying_stderr(key, pin, &o.hello, &["--mode", "pool", addr])
            }
            ("basehttp", true) => {
                Server::start_tallying_stderr(key, pin, &o.peers.join("basehttp_blocking"), &[addr])
            }
            (_, false) => {
                Server::start_tallying_stderr(key, pin, &o.peers.join("hyper_hello"), &[addr])
            }
            (_, true) => Server::start_tallying_stderr(
                key,
                pin,
                &o.peers.join("hyper_hello"),
                &["--sleep", addr],
            ),
        }
    };
    // Runs one scenario on a fresh server; a failure becomes the cell's text.
    // Also stops the server and keeps what it wrote to standard error.
    fn phase<T>(
        name: &str,
        column: &mut Column,
        scenario: &'static str,
        server: io::Result<Server>,
        run: impl FnOnce(&mut Server) -> io::Result<T>,
    ) -> Res<T> {
        let result = server.and_then(|mut s| {
            let result = run(&mut s);
            s.stop(Duration::from_secs(5));
            // The reader of its standard error sees the end of the pipe.
            std::thread::sleep(Duration::from_millis(100));
            if let Some(log) = s.stderr() {
                column.logs.insert(scenario, log);
            }
            result
        });
        // Let the stopped server's sockets go before the next one starts.
        std::thread::sleep(Duration::from_millis(400));
        result.map_err(|e| {
            eprintln!("[{name}] failed: {e}");
            e.to_string()
        })
    }

    let mut columns: Vec<Column> = o
        .servers
        .iter()
        .map(|s| Column {
            label: if s == "basehttp" {
                "basehttp (pool)"
            } else {
                "hyper"
            },
            baseline: None,
            slow: None,
            fast: None,
            forms: None,
            resets: None,
            burst: None,
            blocking: None,
            logs: BTreeMap::new(),
        })
        .collect();
    let started = Instant::now();
    // Scenario by scenario, each server in turn.
    for (i, key) in o.servers.iter().enumerate() {
        let c = &mut columns[i];
        c.baseline = Some(phase(key, c, "baseline", start(key, false), |s| {
            baseline(key, s, &o)
        }));
    }
    if runs("a") {
        for (i, key) in o.servers.iter().enumerate() {
            let c = &mut columns[i];
            c.slow = Some(phase(key, c, "a100", start(key, false), |s| {
                drip_phase(key, s, &o, 100)
            }));
        }
        for (i, key) in o.servers.iter().enumerate() {
            let c = &mut columns[i];
            c.fast = Some(phase(key, c, "a2048", start(key, false), |s| {
                drip_phase(key, s, &o, 2048)
            }));
        }
    }
    if runs("b") {
        for (i, key) in o.servers.iter().enumerate() {
            let c = &mut columns[i];
            c.forms = Some(phase(key, c, "b", start(key, false), |s| {
                form_phase(key, s, &o)
            }));
        }
    }
    if runs("c") {
        for (i, key) in o.servers.iter().enumerate() {
            let c = &mut columns[i];
            c.resets = Some(phase(key, c, "c", start(key, false), |s| {
                reset_phase(key, s, &o)
            }));
        }
    }
    if runs("d") {
        for (i, key) in o.servers.iter().enumerate() {
            let c = &mut columns[i];
            c.burst = Some(phase(key, c, "d", start(key, false), |s| {
                burst_phase(key, s, &o)
            }));
        }
    }
    // (e): as many slow requests for every server: 4 × basehttp's
    // max_workers (or --blocking).
    let mut blocking_n = o.blocking.unwrap_or(0);
    if runs("e") {
        for (i, key) in o.servers.iter().enumerate() {
            let c = &mut columns[i];
            c.blocking = Some(phase(key, c, "e", start(key, true), |s| {
                let handler = if key == "basehttp" {
                    let max = announced_max_workers(&s.startup_line);
                    if blocking_n == 0 {
                        blocking_n = 4 * max.unwrap_or(32);
                    }
                    format!(
                        "`thread::sleep(1 s)` in the handler, PoolHttpServer default config ({})",
                        max.map_or("max_workers not announced".into(), |m| format!(
                            "max_workers {m}"
                        ))
                    )
                } else {
                    "`tokio::time::sleep(1 s)`, async: holds no thread".into()
                };
                if blocking_n == 0 {
                    blocking_n = 128;
                }
                blocking_phase(key, s, blocking_n, handler)
            }));
        }
    }
    eprintln!(
        "hostile: done in {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    );
    print!("{}", report(&columns, &o, pin, blocking_n));
}
