//! The byte stream under a connection, and the connection's read buffer.
//!
//! A [`Transport`] reads and writes through `&self`, as `&Stream` does, so
//! the request body reader and the response writer can share one stream.
//!
//! Sockets (TCP or Unix domain: a [`Stream`]) are always non-blocking. A
//! bare `&Stream` reports
//! `WouldBlock` (the poller's head reads use that); a [`Socket`] waits with
//! `poll(2)` instead, up to its timeouts, which gives handlers plain
//! blocking I/O with deadlines and costs no system call when data is ready.

use crate::config::MinDataRate;
use crate::net::Stream;
use rustix::event::{PollFd, PollFlags, Timespec};
use std::cell::Cell;
use std::io::{self, IoSlice};
use std::time::{Duration, Instant};

/// A connected byte stream: a plain socket, or TLS over one.
pub(crate) trait Transport {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize>;
    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// The plain socket underneath (TCP or Unix), if bytes written to it
    /// reach the client as they are (so `sendfile` may write to it
    /// directly).
    fn plain(&self) -> Option<&Stream> {
        None
    }
    /// Waits until a write could make progress, up to the write timeout.
    fn wait_writable(&self) -> io::Result<()>;
    /// Starts holding the client to a minimum data rate for what is read
    /// from now on (a request body); `None` ends the check. Only a
    /// [`Socket`] (and TLS over one) keeps it.
    fn set_body_rate(&self, rate: Option<MinDataRate>) {
        let _ = rate;
    }
    /// Counts bytes that reached the client around this transport
    /// (`sendfile`), toward the write rate.
    fn wrote(&self, n: usize) {
        let _ = n;
    }
}

/// A minimum data rate being enforced on one direction of a socket: the
/// bytes moved and the time spent waiting on the client since it started.
/// Counting a read or a write is one addition; the rate is looked at only
/// when the socket has to wait.
#[derive(Debug, Default)]
pub(crate) struct RateWindow {
    min: Cell<Option<MinDataRate>>,
    bytes: Cell<u64>,
    waited: Cell<Duration>,
}

impl RateWindow {
    /// Starts holding the client to `min` from now on (`None`: no check).
    fn start(&self, min: Option<MinDataRate>) {
        self.min.set(min);
        self.bytes.set(0);
        self.waited.set(Duration::ZERO);
    }

    /// Counts `n` bytes moved.
    fn count(&self, n: usize) {
        self.bytes.set(self.bytes.get().wrapping_add(n as u64));
    }

    /// Waits on the client for `flags` for at most `timeout`, and no longer
    /// than the rate allows: past that, `TimedOut` naming the rate.
    fn wait(&self, stream: &Stream, flags: PollFlags, timeout: Option<Duration>) -> io::Result<()> {
        let Some(min) = self.min.get() else {
            return wait(stream, flags, timeout);
        };
        let left = min
            .allowed_wait(self.bytes.get())
            .saturating_sub(self.waited.get());
        let rate_bound = timeout.is_none_or(|t| left < t);
        let started = Instant::now();
        let result = wait(stream, flags, Some(timeout.map_or(left, |t| t.min(left))));
        self.waited.set(self.waited.get() + started.elapsed());
        match result {
            Err(e) if e.kind() == io::ErrorKind::TimedOut && rate_bound => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client moved data below the minimum rate",
            )),
            other => other,
        }
    }
}

impl Transport for Stream {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        Stream::read(self, buf)
    }

    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        Stream::write_vectored(self, bufs)
    }

    fn plain(&self) -> Option<&Stream> {
        Some(self)
    }

    fn wait_writable(&self) -> io::Result<()> {
        wait(self, PollFlags::OUT, None)
    }
}

/// A non-blocking socket used as a blocking one: a read or write that would
/// block waits for readiness, for at most the timeout in force.
pub(crate) struct Socket<'s> {
    pub(crate) stream: &'s Stream,
    /// Longest wait for readable data; `None` waits forever.
    pub(crate) read_timeout: Cell<Option<Duration>>,
    /// A deadline that also bounds reads (the whole-head timeout).
    pub(crate) read_deadline: Cell<Option<Instant>>,
    /// Longest wait for room to write; `None` waits forever.
    pub(crate) write_timeout: Option<Duration>,
    /// When false, a read that would block reports `WouldBlock` at once (the
    /// poller's head reads) instead of waiting.
    pub(crate) blocking: Cell<bool>,
    /// Whether the last read found the socket empty (it returned less than
    /// asked, or would have blocked); `None` before the first read. An
    /// edge-triggered poller may wait for the next event only after that.
    pub(crate) drained: Cell<Option<bool>>,
    /// The minimum read rate in force, with its progress.
    read_rate: RateWindow,
    /// The minimum write rate in force, with its progress.
    write_rate: RateWindow,
}

impl<'s> Socket<'s> {
    pub(crate) fn new(
        stream: &'s Stream,
        read_timeout: Option<Duration>,
        write_timeout: Option<Duration>,
    ) -> Self {
        Socket {
            stream,
            read_timeout: Cell::new(read_timeout),
            read_deadline: Cell::new(None),
            write_timeout,
            blocking: Cell::new(true),
            drained: Cell::new(None),
            read_rate: RateWindow::default(),
            write_rate: RateWindow::default(),
        }
    }

    /// Holds the client to a minimum rate for everything written through
    /// this socket from now on (responses); `None`: no check.
    pub(crate) fn set_response_rate(&self, rate: Option<MinDataRate>) {
        self.write_rate.start(rate);
    }

    /// Counts bytes read from the socket by a layer above (TLS records).
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn count_read(&self, n: usize) {
        self.read_rate.count(n);
    }

    /// Counts bytes written to the socket by a layer above.
    pub(crate) fn count_written(&self, n: usize) {
        self.write_rate.count(n);
    }

    /// After a read found nothing: waits until the socket is readable, up to
    /// the read timeout and deadline, or reports `WouldBlock` at once when
    /// not blocking.
    pub(crate) fn wait_readable(&self) -> io::Result<()> {
        if !self.blocking.get() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut timeout = self.read_timeout.get();
        if let Some(deadline) = self.read_deadline.get() {
            let left = deadline.saturating_duration_since(Instant::now());
            timeout = Some(timeout.map_or(left, |t| t.min(left)));
        }
        self.read_rate.wait(self.stream, PollFlags::IN, timeout)
    }
}

impl Transport for Socket<'_> {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match Transport::read(self.stream, buf) {
                Ok(n) => {
                    self.drained.set(Some(n < buf.len()));
                    self.read_rate.count(n);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.drained.set(Some(true));
                    self.wait_readable()?
                }
                other => return other,
            }
        }
    }

    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        loop {
            match Transport::write_vectored(self.stream, bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait_writable()?,
                Ok(n) => {
                    self.write_rate.count(n);
                    return Ok(n);
                }
                other => return other,
            }
        }
    }

    fn plain(&self) -> Option<&Stream> {
        Some(self.stream)
    }

    fn wait_writable(&self) -> io::Result<()> {
        self.write_rate
            .wait(self.stream, PollFlags::OUT, self.write_timeout)
    }

    fn set_body_rate(&self, rate: Option<MinDataRate>) {
        self.read_rate.start(rate);
    }

    fn wrote(&self, n: usize) {
        self.count_written(n);
    }
}

/// Waits until `stream` is ready for `flags` (or has an error or hang-up),
/// for at most `timeout`; past it, an error of kind `TimedOut`.
pub(crate) fn wait(stream: &Stream, flags: PollFlags, timeout: Option<Duration>) -> io::Result<()> {
    let ts = timeout.map(|t| Timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as i64,
        tv_nsec: i64::from(t.subsec_nanos()),
    });
    let mut fds = [PollFd::new(stream, flags)];
    loop {
        match rustix::event::poll(&mut fds, ts.as_ref()) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "timed out waiting for the client",
                ));
            }
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Writes every byte of `slices`, retrying short writes (`writev` may send a
/// prefix) and interrupted calls.
pub(crate) fn write_all_vectored(
    io: &dyn Transport,
    mut slices: &mut [IoSlice<'_>],
) -> io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match io.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Initial size of a connection's read buffer: 8 KiB, enough for a typical
/// request head and a small body in one `read`. It grows only as far as a
/// long head needs (bounded by the head limits).
pub(crate) const READ_BUFFER: usize = 8 * 1024;

/// Bytes read from the client and not yet consumed: `data[start..end]`.
pub(crate) struct ReadBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
    /// The extent of a whole head found at the front of the unconsumed
    /// bytes, kept until they change so that it is not searched for twice.
    head: Option<(usize, usize)>,
}

impl ReadBuf {
    pub(crate) fn new() -> Self {
        ReadBuf {
            data: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
            head: None,
        }
    }

    /// The unconsumed bytes.
    pub(crate) fn available(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// Notes that the unconsumed bytes start with a whole head at `extent`.
    pub(crate) fn set_head(&mut self, extent: (usize, usize)) {
        self.head = Some(extent);
    }

    /// The extent noted by [`set_head`](Self::set_head), if the bytes have
    /// not changed since.
    pub(crate) fn take_head(&mut self) -> Option<(usize, usize)> {
        self.head.take()
    }

    /// Marks `n` bytes as consumed.
    pub(crate) fn consume(&mut self, n: usize) {
        self.head = None;
        self.start += n;
        debug_assert!(self.start <= self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads once from `io`, appending to the unconsumed bytes; room is made by
    /// moving them to the front, or by growing the buffer up to `max` bytes of
    /// unconsumed data. Returns the bytes read (0 at end of stream).
    pub(crate) fn fill(&mut self, io: &dyn Transport, max: usize) -> io::Result<usize> {
        self.head = None;
        if self.end == self.data.len() {
            if self.start > 0 {
                self.data.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.data.len() < max {
                let grown = (self.data.len() * 2).min(max.max(self.data.len() + 1));
                self.data.resize(grown, 0);
            }
        }
        let room = self.data.len() - self.end;
        if room == 0 {
            return Err(io::Error::other("read buffer full"));
        }
        loop {
            match io.read(&mut self.data[self.end..self.end + room]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Appends bytes kept from earlier (a parked connection's partial head).
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.head = None;
        if self.data.len() - self.end < bytes.len() {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.data.len() - self.end < bytes.len() {
                self.data.resize(self.end + bytes.len(), 0);
            }
        }
        self.data[self.end..self.end + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }

    /// Drops every unconsumed byte.
    pub(crate) fn clear(&mut self) {
        self.head = None;
        self.start = 0;
        self.end = 0;
    }

    /// Shrinks a buffer that grew for a long head back to its usual size, so
    /// a worker does not keep a large buffer forever.
    pub(crate) fn shrink(&mut self) {
        self.head = None;
        if self.data.len() > READ_BUFFER && self.end - self.start <= READ_BUFFER {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            self.data.truncate(READ_BUFFER);
            self.data.shrink_to_fit();
        }
    }

    /// Copies up to `out.len()` unconsumed bytes into `out`, consuming them.
    pub(crate) fn copy_to(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.data[self.start..self.start + n]);
        self.consume(n);
        n
    }
}
