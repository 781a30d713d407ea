//! The ceiling: the least work a server on one core can do per request, as a
//! yardstick for the throughput benchmark. One thread, one epoll loop
//! (edge-triggered), nonblocking sockets with `TCP_NODELAY`. For each
//! connection it reads until `EAGAIN`, finds the end of every complete
//! request head in its buffer (and, for a `POST`, `Content-Length` body
//! bytes), appends a canned response for each (a `POST` gets its body back),
//! and writes them all with one `write`. Nothing else of HTTP is parsed:
//! this is the syscall-bound limit, not a server.
//!
//! `ceiling [HOST:PORT]` (default 127.0.0.1:8080): prints the same startup
//! line as basehttp's examples.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{SystemTime, UNIX_EPOCH};

/// The epoll token of the listening socket; a connection's is its fd.
const LISTENER: u64 = u64::MAX;

struct Conn {
    stream: TcpStream,
    input: Vec<u8>,
    output: Vec<u8>,
    /// A request said `Connection: close`: close once `output` is written.
    closing: bool,
}

/// `Date: …\r\n`, made anew at most once a second.
struct DateHeader {
    second: u64,
    line: String,
}

impl DateHeader {
    fn refresh(&mut self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if now != self.second || self.line.is_empty() {
            self.second = now;
            self.line = format!("Date: {}\r\n", http_date(now));
        }
    }
}

/// An IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`, from Unix seconds.
fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let (hour, minute, second) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {hour:02}:{minute:02}:{second:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize]
    )
}

/// What the head at the start of `input` asks for, if it is complete:
/// (head length, for a `POST` its `Content-Length`, `Connection: close`).
fn scan_head(input: &[u8]) -> Option<(usize, Option<usize>, bool)> {
    let end = input.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = &input[..end];
    let post = head.starts_with(b"POST ");
    let (mut length, mut close) = (0, false);
    for line in head.split(|&b| b == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if post && name.eq_ignore_ascii_case(b"content-length") {
            length = std::str::from_utf8(value).ok()?.parse().ok()?;
        } else if name.eq_ignore_ascii_case(b"connection") {
            close = value.eq_ignore_ascii_case(b"close");
        }
    }
    Some((end, post.then_some(length), close))
}

/// Answers every complete request in `conn.input`, appending the responses
/// to `conn.output`; stops after one that asked to close.
fn answer(conn: &mut Conn, date: &str) {
    let mut used = 0;
    while !conn.closing {
        let Some((head, post, close)) = scan_head(&conn.input[used..]) else {
            break;
        };
        let (start, length) = (used + head, post.unwrap_or(0));
        if conn.input.len() < start + length {
            break; // the body is still on its way
        }
        let out = &mut conn.output;
        let body = match post {
            Some(_) => {
                out.extend_from_slice(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n",
                );
                out.extend_from_slice(format!("Content-Length: {length}\r\n").as_bytes());
                &conn.input[start..start + length]
            }
            None => {
                out.extend_from_slice(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n",
                );
                b"Hello, World!"
            }
        };
        out.extend_from_slice(date.as_bytes());
        if close {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"Server: ceiling\r\n\r\n");
        out.extend_from_slice(body);
        used = start + length;
        conn.closing = close;
    }
    conn.input.drain(..used);
}

/// Reads until `EAGAIN`, answers, writes once. False: close the connection.
fn serve(conn: &mut Conn, date: &str, buf: &mut [u8]) -> bool {
    loop {
        match conn.stream.read(buf) {
            Ok(0) => return false,
            Ok(n) => conn.input.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    answer(conn, date);
    if !conn.output.is_empty() {
        // One write for every response in hand. If the socket takes less,
        // its buffer is full, and the edge of EPOLLOUT brings us back.
        match conn.stream.write(&conn.output) {
            Ok(n) => drop(conn.output.drain(..n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return false,
        }
    }
    !(conn.closing && conn.output.is_empty())
}

fn epoll_add(epoll: i32, fd: i32, events: u32, token: u64) -> io::Result<()> {
    let mut event = libc::epoll_event { events, u64: token };
    // SAFETY: epoll_ctl reads the event we pass; both descriptors are open.
    if unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, &mut event) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let address = basehttp_bench::address_argument("ceiling");
    basehttp_bench::raise_open_files_limit();
    let listener = TcpListener::bind(&address)?;
    listener.set_nonblocking(true)?;
    // SAFETY: epoll_create1 takes no pointers.
    let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epoll < 0 {
        return Err(io::Error::last_os_error());
    }
    epoll_add(epoll, listener.as_raw_fd(), libc::EPOLLIN as u32, LISTENER)?;
    basehttp_bench::announce(listener.local_addr()?);

    // Connections by file descriptor.
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut buf = vec![0u8; 64 * 1024];
    let mut date = DateHeader {
        second: 0,
        line: String::new(),
    };
    loop {
        // SAFETY: the kernel writes at most `events.len()` entries.
        let n = unsafe { libc::epoll_wait(epoll, events.as_mut_ptr(), events.len() as i32, -1) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        date.refresh();
        for event in &events[..n as usize] {
            let token = event.u64;
            if token == LISTENER {
                loop {
                    let stream = match listener.accept() {
                        Ok((stream, _)) => stream,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(_) => break, // EMFILE and the like: try at the next event
                    };
                    stream.set_nonblocking(true)?;
                    stream.set_nodelay(true)?;
                    let fd = stream.as_raw_fd();
                    let edges = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLET) as u32;
                    epoll_add(epoll, fd, edges, fd as u64)?;
                    let fd = fd as usize;
                    if conns.len() <= fd {
                        conns.resize_with(fd + 1, || None);
                    }
                    conns[fd] = Some(Conn {
                        stream,
                        input: Vec::new(),
                        output: Vec::new(),
                        closing: false,
                    });
                }
            } else if let Some(slot) = conns.get_mut(token as usize) {
                let keep = slot
                    .as_mut()
                    .is_some_and(|c| serve(c, &date.line, &mut buf));
                if !keep {
                    // Dropping the stream closes it, which leaves the epoll set.
                    *slot = None;
                }
            }
        }
    }
}
