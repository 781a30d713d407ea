//! `rfile`: the request body, exactly, whatever its framing.
//!
//! A request body is delimited either by `Content-Length` or by the chunked
//! transfer coding (RFC 9112 §6.3); with neither it is empty. [`Rfile`] hides
//! the difference: it reads the body's bytes and then reports end of file,
//! never a byte of the next request on the connection.

use crate::proto::{Chunk, ChunkedDecoder, ProtoError};
use crate::transport::{ReadBuf, Transport, write_all_vectored};
use std::io::{self, IoSlice, Read};

/// Reads of at least this many bytes skip the connection buffer and go
/// straight from the socket into the caller's buffer: 8 KiB.
const DIRECT_READ: usize = 8 * 1024;

/// The interim response that tells a client to send its body (RFC 9110 §15.2.1).
const CONTINUE_100: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

pub(crate) enum BodyState {
    /// This many bytes are left.
    Length(u64),
    /// Chunked, still being decoded.
    Chunked(ChunkedDecoder),
    /// A chunked body that has ended.
    ChunkedDone(ChunkedDecoder),
}

/// Whether the client waits for `100 Continue` before sending its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Continue {
    /// The client did not ask, or the interim response was sent.
    NotNeeded,
    /// The client sent `Expect: 100-continue`; it is sent on the first read.
    Pending,
}

/// The request body stream: Python's `rfile`.
///
/// Implements [`Read`]: it yields exactly the body's bytes, decoded from the
/// chunked coding if need be, then end of file (`Ok(0)`). A body that breaks
/// its framing or the server's size limit gives an error of kind
/// [`InvalidData`](io::ErrorKind::InvalidData), and the server answers 400 or
/// 413 if the handler has not responded yet; a client that disconnects
/// mid-body gives [`UnexpectedEof`](io::ErrorKind::UnexpectedEof).
///
/// When the client sent `Expect: 100-continue`, the first read sends it the
/// `100 Continue` interim response, so a handler that answers without reading
/// the body (say, a 413 or 401) never invites the upload.
pub struct Rfile<'a> {
    io: &'a dyn Transport,
    buf: &'a mut ReadBuf,
    body: BodyState,
    pub(crate) expect: Continue,
    limit: Option<u64>,
    received: u64,
    pub(crate) error: Option<ProtoError>,
    pub(crate) broken: bool,
    /// The client stopped sending its body for longer than the read timeout.
    pub(crate) timed_out: bool,
}

impl<'a> Rfile<'a> {
    pub(crate) fn new(
        io: &'a dyn Transport,
        buf: &'a mut ReadBuf,
        body: BodyState,
        expect: Continue,
        limit: Option<u64>,
    ) -> Self {
        Rfile {
            io,
            buf,
            body,
            expect,
            limit,
            received: 0,
            error: None,
            broken: false,
            timed_out: false,
        }
    }

    /// Whether the whole body has been read.
    pub fn is_done(&self) -> bool {
        matches!(self.body, BodyState::Length(0) | BodyState::ChunkedDone(_))
    }

    /// The body's length if it is known in advance (`Content-Length`), or
    /// `None` for a chunked body.
    pub fn content_length(&self) -> Option<u64> {
        match self.body {
            BodyState::Length(left) => Some(self.received + left),
            _ => None,
        }
    }

    /// The trailer section of a chunked body, once it has been read to the
    /// end: field lines each ending in CRLF; empty if there were none.
    pub fn trailers(&self) -> &[u8] {
        match &self.body {
            BodyState::ChunkedDone(d) => d.trailers(),
            _ => &[],
        }
    }

    /// Sends `100 Continue` now if the client is waiting for it.
    pub(crate) fn send_continue(&mut self) -> io::Result<()> {
        if self.expect == Continue::Pending {
            self.expect = Continue::NotNeeded;
            write_all_vectored(self.io, &mut [IoSlice::new(CONTINUE_100)])?;
        }
        Ok(())
    }

    /// Reads and discards what is left of the body, up to `max` bytes.
    /// Returns whether the body is now complete, so the connection can carry
    /// another request.
    pub(crate) fn drain(&mut self, max: u64) -> bool {
        if self.is_done() {
            return true;
        }
        if self.broken || self.timed_out || self.error.is_some() || self.expect == Continue::Pending
        {
            // A client waiting for 100 Continue may or may not send its body.
            return false;
        }
        if let BodyState::Length(left) = self.body
            && left > max
        {
            return false;
        }
        let mut scratch = [0u8; 4096];
        let mut drained = 0u64;
        while drained <= max {
            match self.read(&mut scratch) {
                Ok(0) => return true,
                Ok(n) => drained += n as u64,
                Err(_) => return false,
            }
        }
        false
    }

    fn fail(&mut self, e: ProtoError) -> io::Error {
        self.error = Some(e);
        io::Error::new(io::ErrorKind::InvalidData, e)
    }

    fn eof(&mut self) -> io::Error {
        self.broken = true;
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "client closed the connection mid-body",
        )
    }

    fn read_length(&mut self, out: &mut [u8], left: u64) -> io::Result<usize> {
        let want = out.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if !self.buf.available().is_empty() {
            return Ok(self.buf.copy_to(&mut out[..want]));
        }
        let n = if want >= DIRECT_READ {
            self.io.read(&mut out[..want])?
        } else {
            self.buf.fill(self.io, DIRECT_READ)?;
            self.buf.copy_to(&mut out[..want])
        };
        if n == 0 {
            return Err(self.eof());
        }
        Ok(n)
    }

    fn read_chunked(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            let BodyState::Chunked(dec) = &mut self.body else {
                return Ok(0);
            };
            if !self.buf.available().is_empty() {
                let avail = self.buf.available();
                match dec.decode(avail, out.len()) {
                    Ok((consumed, Chunk::Data(r))) => {
                        let n = r.len();
                        out[..n].copy_from_slice(&avail[r]);
                        self.buf.consume(consumed);
                        return Ok(n);
                    }
                    Ok((consumed, Chunk::NeedMore)) => self.buf.consume(consumed),
                    Ok((consumed, Chunk::End)) => {
                        self.buf.consume(consumed);
                        let BodyState::Chunked(dec) =
                            std::mem::replace(&mut self.body, BodyState::Length(0))
                        else {
                            unreachable!()
                        };
                        self.body = BodyState::ChunkedDone(dec);
                        return Ok(0);
                    }
                    Err(e) => return Err(self.fail(e)),
                }
                continue;
            }
            let direct = dec.data_remaining();
            if direct > 0 && out.len() >= DIRECT_READ {
                let want = out.len().min(usize::try_from(direct).unwrap_or(usize::MAX));
                let n = self.io.read(&mut out[..want])?;
                if n == 0 {
                    return Err(self.eof());
                }
                dec.advance_data(n as u64);
                return Ok(n);
            }
            if self.buf.fill(self.io, DIRECT_READ)? == 0 {
                return Err(self.eof());
            }
        }
    }
}

impl Read for Rfile<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.error {
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        if out.is_empty() || self.is_done() {
            return Ok(0);
        }
        if self.broken {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "request body incomplete",
            ));
        }
        self.send_continue()?;
        let read = match self.body {
            BodyState::Length(left) => self.read_length(out, left).inspect(|&n| {
                self.body = BodyState::Length(left - n as u64);
            }),
            _ => self.read_chunked(out),
        };
        let n = read.inspect_err(|e| match e.kind() {
            // Answered 408 if the handler has not responded (conn.rs).
            io::ErrorKind::TimedOut => self.timed_out = true,
            // Nobody left to answer: no 500 for a reset client.
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => self.broken = true,
            _ => {}
        })?;
        self.received += n as u64;
        if self.limit.is_some_and(|max| self.received > max) {
            return Err(self.fail(ProtoError::BodyTooLarge));
        }
        Ok(n)
    }
}
