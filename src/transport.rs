//! The byte stream under a connection, and the connection's read buffer.
//!
//! A [`Transport`] reads and writes through `&self`, as `&TcpStream` does, so
//! the request body reader and the response writer can share one stream.

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;

/// A connected byte stream: plain TCP today, TLS later.
pub(crate) trait Transport {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize>;
    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
}

impl Transport for TcpStream {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut s: &TcpStream = self;
        Read::read(&mut s, buf)
    }

    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut s: &TcpStream = self;
        Write::write_vectored(&mut s, bufs)
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
}

impl ReadBuf {
    pub(crate) fn new() -> Self {
        ReadBuf {
            data: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
        }
    }

    /// The unconsumed bytes.
    pub(crate) fn available(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// Marks `n` bytes as consumed.
    pub(crate) fn consume(&mut self, n: usize) {
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

    /// Copies up to `out.len()` unconsumed bytes into `out`, consuming them.
    pub(crate) fn copy_to(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.data[self.start..self.start + n]);
        self.consume(n);
        n
    }
}
