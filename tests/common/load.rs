#![allow(dead_code)] // the tests and the bench program use different parts

//! A load at a fixed rate that checks every answer, and the events of a
//! restart, shared by `tests/fleet.rs` and `bench/src/bin/fleet_load.rs`
//! (which includes this file by its path): standard library and `libc`
//! only.
//!
//! [`Load`] runs workers on threads. Each sends `GET PATH` at its share of
//! the rate, never pipelining (the next request leaves once the previous
//! one is answered, or at its time if that is later); half of them keep
//! their connection alive between requests (a new one after
//! [`Load::requests_per_connection`] requests), the others open a new
//! connection for every request (`Connection: close`). Every answer is
//! read in full and checked: status 200 and the expected body. Each
//! request ends in exactly one [`Outcome`].
//!
//! A keep-alive connection that the server closed while it was idle (as a
//! draining server does, between requests) is seen before the next request
//! is sent, as an HTTP client's connection pool sees it: the worker opens
//! a new connection and counts [`Tally::idle_closed`]; no request is lost.
//! A request that was sent and got no full answer is counted as lost,
//! never retried.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// What became of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Status 200 and the expected body.
    Ok,
    /// The connection was refused (`ECONNREFUSED`): nobody listened.
    Refused,
    /// The connection was reset, or closed before a full answer.
    Reset,
    /// No connection, or no full answer, within the timeout.
    Timeout,
    /// An answer, but not the expected one (status, framing or body).
    Wrong,
}

/// The load to run.
#[derive(Clone, Debug)]
pub struct Load {
    /// Where to connect.
    pub target: SocketAddr,
    /// The address to connect from (bound before connecting), if any.
    pub from: Option<IpAddr>,
    /// Requests per second, all workers together.
    pub rate: u32,
    /// Worker threads: the even ones keep connections alive, the odd ones
    /// open one per request.
    pub workers: usize,
    /// Requests on one keep-alive connection before a new one.
    pub requests_per_connection: u32,
    /// The path requested.
    pub path: String,
    /// The body expected with status 200.
    pub body: Vec<u8>,
    /// The bound on a connect, and on each read and write.
    pub timeout: Duration,
}

/// What a load saw.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub ok: u64,
    pub refused: u64,
    pub reset: u64,
    pub timeout: u64,
    pub wrong: u64,
    /// New connections opened.
    pub connections: u64,
    /// Keep-alive connections found closed by the server while idle
    /// (replaced before a request was sent on them).
    pub idle_closed: u64,
    /// Answers that said `Connection: close` on a keep-alive connection
    /// (a draining server's).
    pub closed_after_answer: u64,
    /// The longest time between two answered requests, all workers
    /// together.
    pub longest_stall: Duration,
    /// The first few failures, described.
    pub failures: Vec<String>,
    /// The time the load ran.
    pub elapsed: Duration,
}

impl Tally {
    /// Requests that did not end [`Outcome::Ok`].
    pub fn failed(&self) -> u64 {
        self.refused + self.reset + self.timeout + self.wrong
    }

    pub fn requests(&self) -> u64 {
        self.ok + self.failed()
    }

    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Refused => self.refused += 1,
            Outcome::Reset => self.reset += 1,
            Outcome::Timeout => self.timeout += 1,
            Outcome::Wrong => self.wrong += 1,
        }
    }
}

/// The failures described in a [`Tally`], at most.
const MAX_FAILURES: usize = 20;

/// A load running until [`Running::stop`].
pub struct Running {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    started: Instant,
    workers: Vec<JoinHandle<(Tally, Vec<Instant>)>>,
}

impl Load {
    /// Starts the workers.
    pub fn start(&self) -> Running {
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let workers = (0..self.workers.max(1))
            .map(|k| {
                let load = self.clone();
                let stop = Arc::clone(&stop);
                let answered = Arc::clone(&answered);
                thread::spawn(move || load.work(k, started, &stop, &answered))
            })
            .collect();
        Running {
            stop,
            answered,
            started,
            workers,
        }
    }

    /// One worker: worker `k` of [`Load::workers`].
    fn work(
        &self,
        k: usize,
        started: Instant,
        stop: &AtomicBool,
        answered_count: &AtomicU64,
    ) -> (Tally, Vec<Instant>) {
        let workers = self.workers.max(1);
        let interval = Duration::from_secs_f64(workers as f64 / f64::from(self.rate.max(1)));
        let mut next = started + Duration::from_secs_f64(k as f64 / f64::from(self.rate.max(1)));
        let keep_alive = k.is_multiple_of(2);
        let mut tally = Tally::default();
        let mut answered = Vec::new();
        let mut connection: Option<(TcpStream, u32)> = None;
        while !stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            if next > now {
                // The schedule of a fixed rate, not a synchronisation.
                thread::sleep(next - now);
            }
            // Late (the previous answer took longer than the interval):
            // send now, without a burst to catch up.
            next = (next + interval).max(Instant::now());
            // A kept connection the server closed while idle is replaced
            // before anything is sent on it.
            if let Some((stream, _)) = &connection {
                match still_open(stream) {
                    Ok(true) => {}
                    Ok(false) => {
                        tally.idle_closed += 1;
                        connection = None;
                    }
                    Err(e) => {
                        tally.count(Outcome::Wrong);
                        note(&mut tally, format!("an idle connection: {e}"));
                        connection = None;
                    }
                }
            }
            let (mut stream, used) = match connection.take() {
                Some(kept) => kept,
                None => match self.connect() {
                    Ok(stream) => {
                        tally.connections += 1;
                        (stream, 0)
                    }
                    Err(e) => {
                        let outcome = classify(&e);
                        tally.count(outcome);
                        note(&mut tally, format!("connect: {e} ({outcome:?})"));
                        continue;
                    }
                },
            };
            let last = !keep_alive || used + 1 >= self.requests_per_connection;
            match self.request(&mut stream, last) {
                Ok(close) => {
                    tally.count(Outcome::Ok);
                    answered.push(Instant::now());
                    answered_count.fetch_add(1, Ordering::SeqCst);
                    if close && !last {
                        tally.closed_after_answer += 1;
                    }
                    if !close && !last {
                        connection = Some((stream, used + 1));
                    }
                }
                Err((outcome, what)) => {
                    tally.count(outcome);
                    let reused = if used > 0 { " (reused connection)" } else { "" };
                    note(&mut tally, format!("{what}{reused} ({outcome:?})"));
                }
            }
        }
        (tally, answered)
    }

    fn connect(&self) -> io::Result<TcpStream> {
        let Some(from) = self.from else {
            let stream = TcpStream::connect_timeout(&self.target, self.timeout)?;
            return prepare(stream, self.timeout);
        };
        let family = if self.target.is_ipv4() {
            libc::AF_INET
        } else {
            libc::AF_INET6
        };
        // SAFETY: socket(2) with constant arguments; the descriptor it
        // returns, if any, is owned by the OwnedFd at once.
        let fd = unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a descriptor just made and owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // The port is chosen at connect time, for the 4-tuple, rather than
        // at bind time for any destination: many connections from one
        // address do not run out of ports.
        let on: libc::c_int = 1;
        // SAFETY: an int option on a socket we own, with its size.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_BIND_ADDRESS_NO_PORT,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        let (storage, len) = sockaddr(SocketAddr::new(from, 0));
        // SAFETY: the address is a valid sockaddr of `len` bytes.
        if unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&storage as *const libc::sockaddr_storage).cast(),
                len,
            )
        } != 0
        {
            return Err(io::Error::last_os_error());
        }
        let stream = TcpStream::from(fd);
        // A blocking connect, bounded by the socket's send timeout
        // (SO_SNDTIMEO applies to connect(2) on Linux).
        stream.set_write_timeout(Some(self.timeout))?;
        let (storage, len) = sockaddr(self.target);
        // SAFETY: as above.
        if unsafe {
            libc::connect(
                stream.as_raw_fd(),
                (&storage as *const libc::sockaddr_storage).cast(),
                len,
            )
        } != 0
        {
            let e = io::Error::last_os_error();
            // EINPROGRESS: the send timeout ran out while connecting.
            if e.raw_os_error() == Some(libc::EINPROGRESS) {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"));
            }
            return Err(e);
        }
        prepare(stream, self.timeout)
    }

    /// Sends one request on `stream` and reads its answer; `Ok(close)`
    /// for a right answer, `close` telling whether the connection ends.
    fn request(&self, stream: &mut TcpStream, last: bool) -> Result<bool, (Outcome, String)> {
        let connection = if last { "close" } else { "keep-alive" };
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: fleet\r\nConnection: {connection}\r\n\r\n",
            self.path
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|e| (classify(&e), format!("write: {e}")))?;
        let (status, close, body) = read_answer(stream)?;
        if status != 200 || body != self.body {
            return Err((
                Outcome::Wrong,
                format!(
                    "status {status}, body {:?}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                ),
            ));
        }
        Ok(close || last)
    }
}

impl Running {
    /// Requests answered right so far.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::SeqCst)
    }

    /// Stops the workers (each finishes the request it is on) and adds up
    /// what they saw.
    pub fn stop(mut self) -> Tally {
        self.stop.store(true, Ordering::SeqCst);
        let mut tally = Tally::default();
        let mut answered = Vec::new();
        for worker in std::mem::take(&mut self.workers) {
            let (t, a) = worker.join().expect("a load worker panicked");
            tally.ok += t.ok;
            tally.refused += t.refused;
            tally.reset += t.reset;
            tally.timeout += t.timeout;
            tally.wrong += t.wrong;
            tally.connections += t.connections;
            tally.idle_closed += t.idle_closed;
            tally.closed_after_answer += t.closed_after_answer;
            for f in t.failures {
                if tally.failures.len() < MAX_FAILURES {
                    tally.failures.push(f);
                }
            }
            answered.extend(a);
        }
        answered.sort();
        tally.longest_stall = answered
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or_default();
        tally.elapsed = self.started.elapsed();
        tally
    }
}

impl Drop for Running {
    /// A load left running (a failed assertion before [`Running::stop`])
    /// stops too: its workers end after the request they are on.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn note(tally: &mut Tally, what: String) {
    if tally.failures.len() < MAX_FAILURES {
        tally.failures.push(what);
    }
}

fn prepare(stream: TcpStream, timeout: Duration) -> io::Result<TcpStream> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    Ok(stream)
}

/// Whether a kept connection is still open: a peek that does not wait
/// finds nothing to read (open), or its end (closed by the server).
fn still_open(stream: &TcpStream) -> io::Result<bool> {
    let mut byte = [0u8; 1];
    // SAFETY: a peek of at most one byte into a buffer of one byte.
    let n = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            byte.as_mut_ptr().cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    match n {
        0 => Ok(false),
        n if n > 0 => Err(io::Error::other("the server sent bytes nobody asked for")),
        _ => {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => Ok(true),
                io::ErrorKind::ConnectionReset => Ok(false),
                _ => Err(e),
            }
        }
    }
}

fn classify(e: &io::Error) -> Outcome {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Outcome::Refused,
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Outcome::Timeout,
        _ => Outcome::Reset,
    }
}

/// The largest answer head read.
const MAX_HEAD: usize = 16 * 1024;

/// Reads one answer: its status, whether it says `Connection: close`, and
/// its body (by `Content-Length`, which the server under test sends).
fn read_answer(stream: &mut TcpStream) -> Result<(u16, bool, Vec<u8>), (Outcome, String)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err((Outcome::Wrong, "an answer head too long".into()));
        }
        match stream.read(&mut chunk) {
            Ok(0) => {
                let what = if buf.is_empty() {
                    "closed before any answer".to_string()
                } else {
                    format!("closed in the head after {} bytes", buf.len())
                };
                return Err((Outcome::Reset, what));
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((classify(&e), format!("read the head: {e}"))),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1.1 "))
        .and_then(|l| l.get(..3))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| (Outcome::Wrong, format!("a bad status line: {head:?}")))?;
    let mut length = None;
    let mut close = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    let length = length.ok_or_else(|| (Outcome::Wrong, format!("no Content-Length: {head:?}")))?;
    let mut body = buf.split_off(head_end);
    while body.len() < length {
        match stream.read(&mut chunk) {
            Ok(0) => {
                return Err((
                    Outcome::Reset,
                    format!("closed in the body after {} bytes", body.len()),
                ));
            }
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((classify(&e), format!("read the body: {e}"))),
        }
    }
    if body.len() > length {
        return Err((Outcome::Wrong, "bytes after the body".into()));
    }
    Ok((status, close, body))
}

/// `addr` as a `sockaddr_storage` and its length.
fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all zeroes is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in and
            // suitably aligned for it.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// Restarts that the test or benchmark follows: a process started with
/// `NOTIFY_SOCKET` set to [`Notify::path`] reports `MAINPID=` and
/// `READY=1` there, and each copy it restarts into does the same.
pub struct Notify {
    socket: std::os::unix::net::UnixDatagram,
    path: std::path::PathBuf,
}

impl Notify {
    /// A notify socket at `path` (which must not exist), read with
    /// `timeout`.
    pub fn bind(path: &std::path::Path, timeout: Duration) -> io::Result<Notify> {
        let socket = std::os::unix::net::UnixDatagram::bind(path)?;
        socket.set_read_timeout(Some(timeout))?;
        Ok(Notify {
            socket,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Waits for the next `MAINPID=PID` with `READY=1`; the PID.
    pub fn ready(&self) -> io::Result<i32> {
        let mut buf = [0u8; 256];
        let n = self.socket.recv(&mut buf)?;
        let message = String::from_utf8_lossy(&buf[..n]);
        let pid = message
            .lines()
            .find_map(|l| l.strip_prefix("MAINPID="))
            .and_then(|p| p.parse().ok());
        match pid {
            Some(pid) if message.lines().any(|l| l == "READY=1") => Ok(pid),
            _ => Err(io::Error::other(format!("a notify message {message:?}"))),
        }
    }
}

/// A process by its pidfd: another's (a restarted copy is no child of
/// ours), which can be waited for and signalled without the risk of a PID
/// used again.
pub struct PidFd {
    pub pid: i32,
    fd: OwnedFd,
}

impl PidFd {
    pub fn open(pid: i32) -> io::Result<PidFd> {
        // SAFETY: the pidfd_open system call with a PID and no flags.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new descriptor owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        Ok(PidFd { pid, fd })
    }

    /// Sends `signal`, unless the process has exited.
    pub fn signal(&self, signal: libc::c_int) -> io::Result<()> {
        // SAFETY: pidfd_send_signal with our pidfd, no info, no flags.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            // ESRCH: it has exited already.
            if e.raw_os_error() != Some(libc::ESRCH) {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Waits, at most `timeout`, for the process to exit; whether it did.
    pub fn wait_gone(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut fds = [libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            let ms = left.as_millis().min(i32::MAX as u128) as libc::c_int;
            // SAFETY: one pollfd, its count.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, ms) };
            if n > 0 {
                return true;
            }
            if n == 0 || left.is_zero() {
                return false;
            }
        }
    }
}
