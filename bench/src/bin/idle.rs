//! The connection-model benchmark: what idle and slow connections cost each
//! server, basehttp (`hello --mode pool`) beside hyper, tiny_http and nginx
//! in the same run, printed as one Markdown table.
//!
//! 1. N (10,000) keep-alive connections each make one request, then idle:
//!    the server's VmRSS, VmHWM and threads; meanwhile a fresh client's
//!    latency; after a wait (5 s), how many the server closed, and a second
//!    request on every one of them.
//! 2. 1,000 slowloris connections (one byte of a never-ending request head
//!    per second each) while a normal keep-alive client sends a request every
//!    millisecond for 10 s: its p50/p99 with and without them.
//! 3. basehttp's sequential mode: a client holds an idle keep-alive
//!    connection (or a half-sent head); a second client's latency.
//!
//! The client side is one epoll loop (mio) over nonblocking sockets, plus one
//! thread for the slowloris writes: no thread per connection. Every phase is
//! bounded in time; traffic goes to 127.0.0.1 only; every server is stopped
//! by its own `Drop` guard.
//!
//! `idle [--connections N] [--slowloris N] [--duration SECS] [--wait SECS]
//!       [--servers basehttp,hyper,tiny_http,nginx] [--hello PATH]
//!       [--peers DIR] [--nginx PATH]`

use basehttp_bench::{
    Client, CommandLine, GET_REQUEST, HELLO_BODY, Pinning, ProcStatus, Server,
    fresh_client_latency, mib, ms, parse_response_head, quantile, thousands,
};
use mio::net::TcpStream as MioStream;
use mio::{Events, Interest, Poll, Token};
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Options {
    connections: usize,
    slowloris: usize,
    duration: Duration,
    wait: Duration,
    servers: Vec<String>,
    hello: PathBuf,
    peers: PathBuf,
    nginx: PathBuf,
}

fn usage(message: &str) -> ! {
    eprintln!(
        "idle: {message}\nusage: idle [--connections N] [--slowloris N] [--duration SECS] [--wait SECS] \
         [--servers basehttp,hyper,tiny_http,nginx] [--hello PATH] [--peers DIR] [--nginx PATH]"
    );
    std::process::exit(2)
}

fn parse_options() -> Options {
    let mut o = Options {
        connections: 10_000,
        slowloris: 1_000,
        duration: Duration::from_secs(10),
        wait: Duration::from_secs(5),
        servers: ["basehttp", "hyper", "tiny_http", "nginx"]
            .map(String::from)
            .to_vec(),
        // Defaults for `cargo run` from bench/: the root's target directory.
        hello: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/examples/hello"),
        peers: basehttp_bench::exe_dir(),
        nginx: PathBuf::from("/usr/sbin/nginx"),
    };
    let mut args = CommandLine::new(usage);
    while let Some(arg) = args.next_name() {
        match arg.as_str() {
            "--connections" => o.connections = args.number(&arg) as usize,
            "--slowloris" => o.slowloris = args.number(&arg) as usize,
            "--duration" => o.duration = Duration::from_secs(args.number(&arg)),
            "--wait" => o.wait = Duration::from_secs(args.number(&arg)),
            "--servers" => {
                o.servers = args.list(&arg, &["basehttp", "hyper", "tiny_http", "nginx"])
            }
            "--hello" => o.hello = args.value(&arg).into(),
            "--peers" => o.peers = args.value(&arg).into(),
            "--nginx" => o.nginx = args.value(&arg).into(),
            _ => args.unknown(&arg),
        }
    }
    o
}

// ---------------------------------------------------------------------------
// Many connections in one epoll loop.

#[derive(Clone, Copy, PartialEq, Debug)]
enum State {
    /// No socket yet.
    New,
    Connecting,
    Writing,
    Reading,
    /// A response read in full; the connection is kept open.
    Idle,
    /// Closed after an error.
    Failed,
}

struct Conn {
    stream: Option<MioStream>,
    state: State,
    written: usize,
    buf: Vec<u8>,
    started: Instant,
}

/// The outcome of one request on each connection of a [`Fleet`].
#[derive(Default)]
struct Round {
    ok: usize,
    failed: usize,
    /// Failures by reason.
    errors: BTreeMap<String, usize>,
    elapsed: Duration,
}

impl Round {
    fn fail(&mut self, reason: String) {
        self.failed += 1;
        *self.errors.entry(reason).or_default() += 1;
    }

    fn errors(&self) -> String {
        self.errors
            .iter()
            .map(|(reason, n)| format!("{n}× {reason}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// N keep-alive connections driven by one thread.
struct Fleet {
    addr: SocketAddr,
    poll: Poll,
    events: Events,
    conns: Vec<Conn>,
}

enum Step {
    Pending,
    Done,
    Error(String),
}

fn reason(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code).to_string(),
        None => e.to_string(),
    }
}

impl Fleet {
    fn new(addr: SocketAddr, n: usize) -> io::Result<Fleet> {
        let conns = (0..n)
            .map(|_| Conn {
                stream: None,
                state: State::New,
                written: 0,
                buf: Vec::new(),
                started: Instant::now(),
            })
            .collect();
        Ok(Fleet {
            addr,
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            conns,
        })
    }

    fn close(&mut self, i: usize) {
        if let Some(mut stream) = self.conns[i].stream.take() {
            let _ = self.poll.registry().deregister(&mut stream);
        }
        self.conns[i].state = State::Failed;
        self.conns[i].buf = Vec::new();
    }

    /// Starts a request on connection `i`, connecting it first if new.
    fn start(&mut self, i: usize) -> io::Result<()> {
        let conn = &mut self.conns[i];
        conn.started = Instant::now();
        conn.written = 0;
        conn.buf.clear();
        if conn.stream.is_none() {
            let mut stream = MioStream::connect(self.addr)?;
            self.poll.registry().register(
                &mut stream,
                Token(i),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            conn.stream = Some(stream);
            conn.state = State::Connecting;
        } else {
            conn.state = State::Writing;
        }
        Ok(())
    }

    /// Advances connection `i` as far as it goes without blocking (the
    /// registration is edge-triggered, so every step runs until WouldBlock).
    fn drive(&mut self, i: usize) -> Step {
        let conn = &mut self.conns[i];
        let Some(stream) = conn.stream.as_mut() else {
            return Step::Error("no socket".into());
        };
        loop {
            match conn.state {
                State::Connecting => {
                    match stream.take_error() {
                        Ok(Some(e)) | Err(e) => {
                            return Step::Error(format!("connect: {}", reason(&e)));
                        }
                        Ok(None) => {}
                    }
                    match stream.peer_addr() {
                        Ok(_) => {
                            let _ = stream.set_nodelay(true);
                            conn.state = State::Writing;
                        }
                        Err(e)
                            if e.kind() == io::ErrorKind::NotConnected
                                || e.raw_os_error() == Some(libc::EINPROGRESS) =>
                        {
                            return Step::Pending;
                        }
                        Err(e) => return Step::Error(format!("connect: {}", reason(&e))),
                    }
                }
                State::Writing => match stream.write(&GET_REQUEST[conn.written..]) {
                    Ok(n) => {
                        conn.written += n;
                        if conn.written == GET_REQUEST.len() {
                            conn.state = State::Reading;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Pending,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Step::Error(format!("write: {}", reason(&e))),
                },
                State::Reading => {
                    let mut chunk = [0u8; 2048];
                    match stream.read(&mut chunk) {
                        Ok(0) => return Step::Error("closed by server".into()),
                        Ok(n) => {
                            conn.buf.extend_from_slice(&chunk[..n]);
                            if let Some(parsed) = parse_response_head(&conn.buf) {
                                let (head, status, length) = match parsed {
                                    Ok(p) => p,
                                    Err(e) => return Step::Error(e.to_string()),
                                };
                                if conn.buf.len() > head + length {
                                    return Step::Error("bytes after the response".into());
                                }
                                if conn.buf.len() == head + length {
                                    if status != 200 || &conn.buf[head..] != HELLO_BODY {
                                        return Step::Error(format!("status {status}"));
                                    }
                                    conn.state = State::Idle;
                                    conn.buf = Vec::new();
                                    return Step::Done;
                                }
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Pending,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Step::Error(format!("read: {}", reason(&e))),
                    }
                }
                State::New | State::Idle | State::Failed => return Step::Done,
            }
        }
    }

    /// One `GET /` on every connection (connecting the new ones first), at
    /// most `window` at a time, each given `timeout`, all within `limit`.
    /// A connection that fails is closed and counts as failed in later rounds.
    fn round(&mut self, window: usize, timeout: Duration, limit: Duration) -> Round {
        let start = Instant::now();
        let deadline = start + limit;
        let mut round = Round::default();
        let mut next = 0;
        let mut active: Vec<usize> = Vec::with_capacity(window);
        loop {
            while active.len() < window && next < self.conns.len() {
                let i = next;
                next += 1;
                if self.conns[i].state == State::Failed {
                    round.fail("failed before".into());
                    continue;
                }
                if let Err(e) = self.start(i) {
                    round.fail(format!("connect: {}", reason(&e)));
                    self.close(i);
                    continue;
                }
                match self.drive(i) {
                    Step::Pending => active.push(i),
                    Step::Done => round.ok += 1,
                    Step::Error(e) => {
                        round.fail(e);
                        self.close(i);
                    }
                }
            }
            if active.is_empty() && next >= self.conns.len() {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                for &i in &active {
                    round.fail("round time limit".into());
                    self.close(i);
                }
                round.fail_rest(self.conns.len() - next);
                break;
            }
            // Requests past their own timeout.
            let mut k = 0;
            while k < active.len() {
                let i = active[k];
                if now.duration_since(self.conns[i].started) > timeout {
                    round.fail("timed out".into());
                    self.close(i);
                    active.swap_remove(k);
                } else {
                    k += 1;
                }
            }
            if let Err(e) = self
                .poll
                .poll(&mut self.events, Some(Duration::from_millis(10)))
                && e.kind() != io::ErrorKind::Interrupted
            {
                panic!("epoll_wait: {e}");
            }
            let ready: Vec<usize> = self.events.iter().map(|ev| ev.token().0).collect();
            for i in ready {
                if !matches!(
                    self.conns[i].state,
                    State::Connecting | State::Writing | State::Reading
                ) {
                    continue;
                }
                let step = self.drive(i);
                if matches!(step, Step::Pending) {
                    continue;
                }
                if let Some(k) = active.iter().position(|&a| a == i) {
                    active.swap_remove(k);
                }
                match step {
                    Step::Done => round.ok += 1,
                    Step::Error(e) => {
                        round.fail(e);
                        self.close(i);
                    }
                    Step::Pending => unreachable!(),
                }
            }
        }
        round.elapsed = start.elapsed();
        round
    }

    /// Looks at every idle connection without sending anything: how many the
    /// server has closed (EOF or reset) or written to unasked.
    fn closed_by_server(&mut self) -> (usize, usize) {
        let (mut closed, mut unasked) = (0, 0);
        for i in 0..self.conns.len() {
            if self.conns[i].state != State::Idle {
                continue;
            }
            let mut byte = [0u8; 1];
            let stream = self.conns[i].stream.as_ref().unwrap();
            match stream.peek(&mut byte) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Ok(0) | Err(_) => closed += 1,
                Ok(_) => unasked += 1,
            }
        }
        (closed, unasked)
    }
}

impl Round {
    fn fail_rest(&mut self, n: usize) {
        if n > 0 {
            self.failed += n;
            *self
                .errors
                .entry("not started (round time limit)".into())
                .or_default() += n;
        }
    }
}

// ---------------------------------------------------------------------------
// The phases.

#[derive(Default)]
struct IdleFigures {
    at_start: ProcStatus,
    opened: Option<Round>,
    /// Set when the server died while the connections were being opened.
    exited: Option<String>,
    idle: ProcStatus,
    idle_fds: usize,
    fresh: Vec<Duration>,
    fresh_errors: usize,
    closed_during_wait: usize,
    unasked_bytes: usize,
    second: Option<Round>,
    after_second: ProcStatus,
    stop: String,
}

fn idle_phase(name: &str, server: &mut Server, o: &Options) -> io::Result<IdleFigures> {
    let mut f = IdleFigures::default();
    std::thread::sleep(Duration::from_millis(200));
    f.at_start = server.status()?;
    let mut fleet = Fleet::new(server.addr, o.connections)?;
    eprintln!("[{name}] opening {} keep-alive connections…", o.connections);
    let opened = fleet.round(100, Duration::from_secs(10), Duration::from_secs(120));
    eprintln!(
        "[{name}]   {} ok, {} failed in {:.2?} {}",
        opened.ok,
        opened.failed,
        opened.elapsed,
        opened.errors()
    );
    let idle_since = Instant::now();
    f.opened = Some(opened);
    std::thread::sleep(Duration::from_millis(500));
    if let Some(status) = server.exited() {
        let exited = format!("server exited ({status}) while the connections opened");
        eprintln!("[{name}]   {exited}");
        f.exited = Some(exited);
        return Ok(f);
    }
    f.idle = server.status()?;
    f.idle_fds = server.open_fds()?;
    eprintln!(
        "[{name}]   VmRSS {} VmHWM {} threads {} fds {}",
        mib(f.idle.vm_rss_kib),
        mib(f.idle.vm_hwm_kib),
        f.idle.threads,
        f.idle_fds
    );
    // A fresh client every 250 ms while the connections idle.
    let wait_end = idle_since + o.wait;
    while Instant::now() + Duration::from_millis(250) <= wait_end {
        match fresh_client_latency(server.addr) {
            Ok(d) => f.fresh.push(d),
            Err(e) => {
                f.fresh_errors += 1;
                eprintln!("[{name}]   fresh client: {e}");
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    if let Some(rest) = wait_end.checked_duration_since(Instant::now()) {
        std::thread::sleep(rest);
    }
    (f.closed_during_wait, f.unasked_bytes) = fleet.closed_by_server();
    eprintln!(
        "[{name}]   after {:.1?} idle: {} closed by the server; second request on every connection…",
        idle_since.elapsed(),
        f.closed_during_wait
    );
    let second = fleet.round(100, Duration::from_secs(10), Duration::from_secs(120));
    eprintln!(
        "[{name}]   {} ok, {} failed in {:.2?} {}",
        second.ok,
        second.failed,
        second.elapsed,
        second.errors()
    );
    f.second = Some(second);
    f.after_second = server.status()?;
    // Stop the server while the connections are still open.
    let open = fleet
        .conns
        .iter()
        .filter(|c| c.state == State::Idle)
        .count();
    f.stop = match server.stop(Duration::from_secs(10)) {
        Some((status, took, killed)) => {
            let how = match (status.code(), killed) {
                (_, true) => "SIGKILL after 10 s".to_string(),
                (Some(code), _) => format!("exit {code}"),
                (None, _) => "killed by SIGTERM".to_string(),
            };
            format!("{how} in {} ({} open)", ms(took), thousands(open as u64))
        }
        None => "?".into(),
    };
    drop(fleet);
    Ok(f)
}

#[derive(Default)]
struct SlowFigures {
    calm: Vec<Duration>,
    calm_errors: usize,
    loaded: Vec<Duration>,
    loaded_errors: usize,
    slow_opened: usize,
    slow_dropped: usize,
}

/// A keep-alive client sending `GET /` every millisecond for `duration`;
/// reconnects after an error.
fn paced_client(addr: SocketAddr, duration: Duration) -> (Vec<Duration>, usize) {
    let mut samples = Vec::with_capacity(duration.as_millis() as usize + 1);
    let mut errors = 0;
    let mut client = None;
    let start = Instant::now();
    let mut tick = start;
    while start.elapsed() < duration {
        if client.is_none() {
            client = Client::connect(addr).ok();
        }
        match client.as_mut().map(Client::timed_get) {
            Some(Ok(d)) => samples.push(d),
            _ => {
                errors += 1;
                client = None;
            }
        }
        tick += Duration::from_millis(1);
        if let Some(rest) = tick.checked_duration_since(Instant::now()) {
            std::thread::sleep(rest);
        } else {
            tick = Instant::now();
        }
    }
    (samples, errors)
}

/// A request head that never ends; one byte of it per second.
fn slowloris_head() -> Vec<u8> {
    let mut head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slowloris: ".to_vec();
    head.resize(head.len() + 400, b'a');
    head
}

fn slowloris_phase(name: &str, server: &Server, o: &Options) -> io::Result<SlowFigures> {
    let mut f = SlowFigures::default();
    eprintln!("[{name}] normal client alone for {:?}…", o.duration);
    (f.calm, f.calm_errors) = paced_client(server.addr, o.duration);
    eprintln!("[{name}] opening {} slowloris connections…", o.slowloris);
    let head = slowloris_head();
    let mut slow = Vec::with_capacity(o.slowloris);
    let open_deadline = Instant::now() + Duration::from_secs(60);
    for _ in 0..o.slowloris {
        if Instant::now() > open_deadline {
            break;
        }
        match TcpStream::connect_timeout(&server.addr, Duration::from_secs(5)) {
            Ok(mut s) => {
                let _ = s.set_nodelay(true);
                if s.write_all(&head[..1]).is_ok() && s.set_nonblocking(true).is_ok() {
                    slow.push(s);
                }
            }
            Err(e) => eprintln!("[{name}]   slowloris connect: {e}"),
        }
    }
    f.slow_opened = slow.len();
    let stop = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicUsize::new(0));
    // One byte per connection per second, spread over the second in 100 steps.
    let writer = {
        let stop = stop.clone();
        let dropped = dropped.clone();
        std::thread::spawn(move || {
            let mut alive: Vec<(TcpStream, usize)> = slow.into_iter().map(|s| (s, 1)).collect();
            let start = Instant::now();
            let mut step = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let n = alive.len();
                let slice = (step as usize % 100) * n / 100..((step as usize % 100) + 1) * n / 100;
                for (stream, sent) in &mut alive[slice] {
                    if *sent == usize::MAX {
                        continue;
                    }
                    let byte = head[(*sent).min(head.len() - 1)];
                    if stream.write(&[byte]).is_err() {
                        *sent = usize::MAX;
                        dropped.fetch_add(1, Ordering::Relaxed);
                    } else {
                        *sent += 1;
                    }
                }
                step += 1;
                let next = start + Duration::from_millis(10 * step);
                if let Some(rest) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(rest);
                }
            }
            // How many did the server close (EOF, reset, or a 408 written)?
            for (stream, sent) in &mut alive {
                if *sent == usize::MAX {
                    continue;
                }
                let mut byte = [0u8; 1];
                match stream.peek(&mut byte) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    _ => {
                        dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            alive.len()
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    eprintln!(
        "[{name}] normal client with {} slowloris for {:?}…",
        f.slow_opened, o.duration
    );
    (f.loaded, f.loaded_errors) = paced_client(server.addr, o.duration);
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    f.slow_dropped = dropped.load(Ordering::Relaxed);
    Ok(f)
}

#[derive(Default)]
struct SequentialFigures {
    idle_client: Vec<Duration>,
    idle_errors: usize,
    idle_client_after: String,
    half_head: Vec<Duration>,
    half_head_errors: usize,
}

fn sequential_phase(server: &Server) -> io::Result<SequentialFigures> {
    let mut f = SequentialFigures::default();
    let samples = |errors: &mut usize| {
        let mut v = Vec::new();
        for _ in 0..20 {
            match fresh_client_latency(server.addr) {
                Ok(d) => v.push(d),
                Err(e) => {
                    *errors += 1;
                    eprintln!("[sequential]   second client: {e}");
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        v
    };
    // A keep-alive client that made one request and went silent.
    let mut idle = Client::connect(server.addr)?;
    idle.get()?;
    f.idle_client = samples(&mut f.idle_errors);
    f.idle_client_after = match idle.timed_get() {
        Ok(d) => format!("served ({})", ms(d)),
        Err(e) => format!("failed: {e}"),
    };
    drop(idle);
    // A client that sent half a request head and went silent.
    let mut half = TcpStream::connect(server.addr)?;
    half.write_all(b"GET / HTTP/1.1\r\nHost: 127.")?;
    f.half_head = samples(&mut f.half_head_errors);
    drop(half);
    Ok(f)
}

// ---------------------------------------------------------------------------
// The table.

struct Column {
    label: String,
    idle: Result<IdleFigures, String>,
    slow: Result<SlowFigures, String>,
}

fn p50_max(samples: &[Duration], errors: usize) -> String {
    let mut s = samples.to_vec();
    match (quantile(&mut s, 0.5), s.last()) {
        (Some(p50), Some(max)) if errors == 0 => format!("{} / {}", ms(p50), ms(*max)),
        (Some(p50), Some(max)) => format!("{} / {} ({errors} failed)", ms(p50), ms(*max)),
        _ => format!("— ({errors} failed)"),
    }
}

fn p50_p99(samples: &[Duration], errors: usize) -> String {
    let mut s = samples.to_vec();
    match (quantile(&mut s, 0.5), quantile(&mut s, 0.99)) {
        (Some(p50), Some(p99)) if errors == 0 => format!("{} / {}", ms(p50), ms(p99)),
        (Some(p50), Some(p99)) => format!("{} / {} ({errors} errors)", ms(p50), ms(p99)),
        _ => format!("— ({errors} errors)"),
    }
}

fn p99(samples: &[Duration]) -> Option<Duration> {
    quantile(&mut samples.to_vec(), 0.99)
}

fn p99_increase(f: &SlowFigures) -> Option<f64> {
    Some((p99(&f.loaded)?.as_secs_f64() - p99(&f.calm)?.as_secs_f64()) * 1e3)
}

fn main() {
    let o = parse_options();
    let nofile = basehttp_bench::raise_open_files_limit();
    let pinning = Pinning::setup();
    eprintln!(
        "idle: RLIMIT_NOFILE soft limit {nofile}; {}",
        pinning.describe()
    );
    if (nofile as usize) < o.connections + 100 {
        eprintln!(
            "idle: warning: {} connections need more than the {nofile} open files allowed",
            o.connections
        );
    }

    let start_server = |name: &str| -> io::Result<Server> {
        match name {
            "basehttp" => {
                Server::start(name, pinning, &o.hello, &["--mode", "pool", "127.0.0.1:0"])
            }
            "hyper" => Server::start(
                name,
                pinning,
                &o.peers.join("hyper_hello"),
                &["127.0.0.1:0"],
            ),
            "tiny_http" => Server::start(
                name,
                pinning,
                &o.peers.join("tiny_http_hello"),
                &["127.0.0.1:0"],
            ),
            "nginx" => Server::start_nginx(pinning, &o.nginx),
            _ => unreachable!(),
        }
    };

    let mut columns = Vec::new();
    for name in &o.servers {
        let label = match name.as_str() {
            "basehttp" => "basehttp (pool)".to_string(),
            other => other.to_string(),
        };
        let idle = start_server(name)
            .and_then(|mut server| idle_phase(name, &mut server, &o))
            .map_err(|e| {
                eprintln!("[{name}] idle phase failed: {e}");
                e.to_string()
            });
        std::thread::sleep(Duration::from_secs(1));
        let slow = start_server(name)
            .and_then(|server| slowloris_phase(name, &server, &o))
            .map_err(|e| {
                eprintln!("[{name}] slowloris phase failed: {e}");
                e.to_string()
            });
        columns.push(Column { label, idle, slow });
        std::thread::sleep(Duration::from_secs(1));
    }

    let sequential = if o.servers.iter().any(|s| s == "basehttp") {
        eprintln!("[sequential] hello --mode sequential…");
        Some(
            Server::start(
                "sequential",
                pinning,
                &o.hello,
                &["--mode", "sequential", "127.0.0.1:0"],
            )
            .and_then(|server| sequential_phase(&server))
            .map_err(|e| e.to_string()),
        )
    } else {
        None
    };

    // Rows of (figure, one cell per column).
    let n = thousands(o.connections as u64);
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |title: String, cell: &dyn Fn(&Column) -> String| {
        rows.push((title, columns.iter().map(cell).collect()));
    };
    let idle_cell = |c: &Column, f: &dyn Fn(&IdleFigures) -> String| match &c.idle {
        Ok(figures) if figures.exited.is_some() => "—".to_string(),
        Ok(figures) => f(figures),
        Err(e) => format!("error: {e}"),
    };
    // For the figures taken before the server could have died.
    let start_cell = |c: &Column, f: &dyn Fn(&IdleFigures) -> String| match &c.idle {
        Ok(figures) => f(figures),
        Err(e) => format!("error: {e}"),
    };
    let slow_cell = |c: &Column, f: &dyn Fn(&SlowFigures) -> String| match &c.slow {
        Ok(figures) => f(figures),
        Err(e) => format!("error: {e}"),
    };
    row("VmRSS at start".into(), &|c| {
        start_cell(c, &|f| mib(f.at_start.vm_rss_kib))
    });
    row(
        format!("{n} keep-alive connections opened (1 request each)"),
        &|c| {
            start_cell(c, &|f| {
                let r = f.opened.as_ref().unwrap();
                let mut cell = format!(
                    "{} in {:.2} s",
                    thousands(r.ok as u64),
                    r.elapsed.as_secs_f64()
                );
                if r.failed > 0 {
                    cell.push_str(&format!(" ({})", r.errors()));
                }
                if let Some(exited) = &f.exited {
                    cell.push_str(&format!("; {exited}"));
                }
                cell
            })
        },
    );
    row(format!("VmRSS, {n} idle"), &|c| {
        idle_cell(c, &|f| mib(f.idle.vm_rss_kib))
    });
    row(format!("VmHWM, {n} idle"), &|c| {
        idle_cell(c, &|f| mib(f.idle.vm_hwm_kib))
    });
    row(format!("threads / open fds, {n} idle"), &|c| {
        idle_cell(c, &|f| {
            format!("{} / {}", f.idle.threads, thousands(f.idle_fds as u64))
        })
    });
    row(format!("fresh client while {n} idle: p50 / max"), &|c| {
        idle_cell(c, &|f| p50_max(&f.fresh, f.fresh_errors))
    });
    row(
        format!("closed by the server after {} s idle", o.wait.as_secs()),
        &|c| {
            idle_cell(c, &|f| {
                if f.unasked_bytes > 0 {
                    format!(
                        "{} (+{} sent bytes unasked)",
                        f.closed_during_wait, f.unasked_bytes
                    )
                } else {
                    f.closed_during_wait.to_string()
                }
            })
        },
    );
    row(format!("second request on all {n}: succeeded"), &|c| {
        idle_cell(c, &|f| {
            let r = f.second.as_ref().unwrap();
            if r.failed == 0 {
                format!(
                    "{} in {:.2} s",
                    thousands(r.ok as u64),
                    r.elapsed.as_secs_f64()
                )
            } else {
                format!("{} ({})", thousands(r.ok as u64), r.errors())
            }
        })
    });
    row("VmHWM after the second requests".into(), &|c| {
        idle_cell(c, &|f| mib(f.after_second.vm_hwm_kib))
    });
    row(format!("SIGTERM with the {n} open"), &|c| {
        idle_cell(c, &|f| f.stop.clone())
    });
    row("normal client alone: p50 / p99".into(), &|c| {
        slow_cell(c, &|f| p50_p99(&f.calm, f.calm_errors))
    });
    row(
        format!(
            "normal client, {} slowloris: p50 / p99",
            thousands(o.slowloris as u64)
        ),
        &|c| slow_cell(c, &|f| p50_p99(&f.loaded, f.loaded_errors)),
    );
    row("p99 increase under slowloris".into(), &|c| {
        slow_cell(c, &|f| match p99_increase(f) {
            Some(d) => format!("{d:+.2} ms"),
            None => "—".into(),
        })
    });
    row(
        "slowloris connections opened / closed by the server".into(),
        &|c| {
            slow_cell(c, &|f| {
                format!("{} / {}", thousands(f.slow_opened as u64), f.slow_dropped)
            })
        },
    );
    let seq_cell = |c: &Column, f: &dyn Fn(&SequentialFigures) -> String| {
        if !c.label.starts_with("basehttp") {
            return "—".to_string();
        }
        match &sequential {
            Some(Ok(s)) => f(s),
            Some(Err(e)) => format!("error: {e}"),
            None => "—".into(),
        }
    };
    row(
        "sequential mode, a client idle on keep-alive: 2nd client p50 / max".into(),
        &|c| seq_cell(c, &|s| p50_max(&s.idle_client, s.idle_errors)),
    );
    row(
        "sequential mode, the idle client's next request".into(),
        &|c| seq_cell(c, &|s| s.idle_client_after.clone()),
    );
    row(
        "sequential mode, a client with half a head: 2nd client p50 / max".into(),
        &|c| seq_cell(c, &|s| p50_max(&s.half_head, s.half_head_errors)),
    );

    // Print the table.
    let mut out = String::new();
    out.push_str("| figure |");
    for c in &columns {
        out.push_str(&format!(" {} |", c.label));
    }
    out.push_str("\n| --- |");
    for _ in &columns {
        out.push_str(" ---: |");
    }
    out.push('\n');
    for (title, cells) in &rows {
        out.push_str(&format!("| {title} |"));
        for cell in cells {
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "\n{n} idle connections, {} s wait, {} slowloris connections, {} s per latency run \
         (a request every 1 ms); {}.\n",
        o.wait.as_secs(),
        thousands(o.slowloris as u64),
        o.duration.as_secs(),
        pinning.describe()
    ));

    // basehttp's bars (issue 4).
    if let Some(c) = columns.iter().find(|c| c.label.starts_with("basehttp")) {
        out.push_str("\nbasehttp against its bars:\n\n");
        let mut bar = |ok: Option<bool>, text: String| {
            let mark = match ok {
                Some(true) => "meets",
                Some(false) => "MISSES",
                None => "not measured",
            };
            out.push_str(&format!("- {mark}: {text}\n"));
        };
        match &c.idle {
            Ok(f) => {
                bar(
                    Some(f.idle.vm_rss_kib < 32 * 1024),
                    format!(
                        "VmRSS with {n} idle < 32 MiB: {} (VmHWM {})",
                        mib(f.idle.vm_rss_kib),
                        mib(f.idle.vm_hwm_kib)
                    ),
                );
                let mut fresh = f.fresh.clone();
                let max = quantile(&mut fresh, 1.0);
                bar(
                    max.map(|m| m < Duration::from_millis(100) && f.fresh_errors == 0),
                    format!(
                        "fresh client < 100 ms while {n} idle: max {} over {} requests, {} failed",
                        max.map_or("—".into(), ms),
                        f.fresh.len(),
                        f.fresh_errors
                    ),
                );
                let opened = f.opened.as_ref().unwrap();
                let second = f.second.as_ref().unwrap();
                bar(
                    Some(opened.failed == 0 && f.closed_during_wait == 0 && second.failed == 0),
                    format!(
                        "none of {n} closed, second request on all succeeds: {} opened, {} closed during the wait, {} second requests succeeded",
                        thousands(opened.ok as u64),
                        f.closed_during_wait,
                        thousands(second.ok as u64)
                    ),
                );
            }
            Err(e) => bar(None, format!("idle connections: {e}")),
        }
        match &c.slow {
            Ok(f) => bar(
                p99_increase(f).map(|d| d < 100.0 && f.loaded_errors == 0),
                format!(
                    "slowloris raises p99 by < 100 ms: {} → {} ({})",
                    p99(&f.calm).map_or("—".into(), ms),
                    p99(&f.loaded).map_or("—".into(), ms),
                    p99_increase(f).map_or("—".into(), |d| format!("{d:+.2} ms"))
                ),
            ),
            Err(e) => bar(None, format!("slowloris: {e}")),
        }
        match &sequential {
            Some(Ok(s)) => {
                let mut all = s.idle_client.clone();
                all.extend_from_slice(&s.half_head);
                let max = quantile(&mut all, 1.0);
                bar(
                    max.map(|m| {
                        m < Duration::from_millis(100) && s.idle_errors + s.half_head_errors == 0
                    }),
                    format!(
                        "sequential mode, second client < 100 ms: max {} (idle keep-alive client and half-head client, {} requests)",
                        max.map_or("—".into(), ms),
                        all.len()
                    ),
                );
            }
            Some(Err(e)) => bar(None, format!("sequential mode: {e}")),
            None => {}
        }
    }
    print!("{out}");
}
