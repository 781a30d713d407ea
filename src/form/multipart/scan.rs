//! The boundary scanner: how the reader moves through its one buffer,
//! refilling it from the source, finding each delimiter with
//! `memchr::memmem`, telling a delimiter from data that only looks like one,
//! and finding where a part's header section ends.
//!
//! A delimiter (RFC 2046 §5.1.1) is `NL--BOUNDARY` followed by optional
//! transport padding and a line break, or by `--` for the close delimiter;
//! [`classify`](MultipartReader::classify) decides which, or that more bytes
//! are needed to tell. The buffer keeps the last few bytes of each window,
//! since a delimiter can fall across two reads.

use super::headers::PartHeaders;
use super::{MultipartReader, State};
use crate::form::{FormError, Limit};
use memchr::memmem;
use std::io::{self, Read};

/// Longest run of spaces and tabs accepted after a boundary ("transport
/// padding", RFC 2046 §5.1.1) before its line break.
pub(super) const MAX_PADDING: usize = 256;

/// What follows a delimiter match.
enum After {
    /// More bytes are needed to tell.
    NeedMore,
    /// `--`: the close delimiter; this many bytes after the match belong to it.
    Close(usize),
    /// Padding and a line break: a part follows; this many bytes belong to
    /// the delimiter line.
    Next(usize),
    /// Anything else: the match was data.
    NotDelimiter,
}

impl<R: Read> MultipartReader<R> {
    /// Reads more from the source into the buffer, first moving the unread
    /// bytes to its start if it is full. Returns the number of bytes read
    /// (0 at end of input, or when the buffer is full of unread bytes).
    fn fill(&mut self) -> Result<usize, FormError> {
        if self.eof {
            return Ok(0);
        }
        // Move the unread bytes (usually a few: a possible delimiter start)
        // to the front once less than a quarter of the buffer is free, so
        // reads stay large.
        if self.pos > 0 && self.buf.len() - self.end < self.buf.len() / 4 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.scan_from -= self.pos.min(self.scan_from);
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            return Ok(0);
        }
        let n = loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        };
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
        self.read += n as u64;
        if let Some(max) = self.max_body_size
            && self.read > max
        {
            return Err(FormError::too_large(Limit::Body, max));
        }
        Ok(n)
    }

    /// Reads until a buffer-full or end of input; errors at end of input
    /// with `at_eof`.
    fn need_more(&mut self, at_eof: &'static str) -> Result<(), FormError> {
        if self.fill()? == 0 {
            if self.eof {
                return Err(FormError::malformed(at_eof));
            }
            return Err(FormError::malformed("multipart line too long"));
        }
        Ok(())
    }

    /// Tells what follows a boundary whose last byte is at `after - 1`.
    fn classify(&self, after: usize) -> After {
        let rest = &self.buf[after..self.end];
        if rest.starts_with(b"--") {
            return After::Close(2);
        }
        if rest == b"-" {
            return if self.eof {
                After::NotDelimiter
            } else {
                After::NeedMore
            };
        }
        let padding = rest
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        if padding > MAX_PADDING {
            return After::NotDelimiter;
        }
        let line = &rest[padding..];
        let nl = self.nl;
        if self.state == State::Preamble {
            // The first boundary line decides the line breaks.
            if line.starts_with(b"\r\n") {
                return After::Next(padding + 2);
            }
            if line.starts_with(b"\n") {
                return After::Next(padding + 1);
            }
            if line.is_empty() || line == b"\r" {
                return if self.eof {
                    After::NotDelimiter
                } else {
                    After::NeedMore
                };
            }
            return After::NotDelimiter;
        }
        if line.starts_with(nl) {
            After::Next(padding + nl.len())
        } else if nl.starts_with(line) && !self.eof {
            After::NeedMore
        } else {
            After::NotDelimiter
        }
    }

    /// Finds the first boundary: `--BOUNDARY` at the start of the body or
    /// of a line.
    pub(super) fn skip_preamble(&mut self) -> Result<(), FormError> {
        let dlen = self.dash_boundary.len();
        loop {
            let window = &self.buf[self.scan_from..self.end];
            let found = self.finder.find(window).map(|i| i + self.scan_from);
            let Some(p) = found else {
                if self.eof {
                    return Err(FormError::malformed("no multipart boundary in the body"));
                }
                // Keep the last bytes: the start of a boundary, and the byte
                // before it, which tells whether it starts a line.
                self.scan_from = self.end.saturating_sub(dlen - 1).max(self.pos);
                self.pos = self.scan_from.saturating_sub(1).max(self.pos);
                self.need_more("no multipart boundary in the body")?;
                continue;
            };
            let at_line_start =
                (p == 0 && self.read == self.end as u64) || (p > 0 && self.buf[p - 1] == b'\n');
            if !at_line_start {
                self.scan_from = p + 1;
                continue;
            }
            match self.classify(p + dlen) {
                After::NeedMore => {
                    self.pos = p.saturating_sub(1).max(self.pos);
                    self.scan_from = p;
                    self.need_more("body ended in the first multipart boundary")?;
                }
                After::NotDelimiter => self.scan_from = p + 1,
                After::Close(n) => {
                    self.pos = p + dlen + n;
                    self.state = State::Done;
                    return Ok(());
                }
                After::Next(n) => {
                    let line_end = p + dlen + n;
                    if self.buf[line_end - 1] == b'\n' && self.buf[line_end - 2] != b'\r' {
                        self.nl = b"\n";
                    }
                    let mut delimiter = self.nl.to_vec();
                    delimiter.extend_from_slice(&self.dash_boundary);
                    self.finder = memmem::Finder::new(&delimiter).into_owned();
                    self.delimiter = delimiter;
                    self.pos = line_end;
                    self.scan_from = line_end;
                    self.state = State::Headers;
                    return Ok(());
                }
            }
        }
    }

    /// Reads one part's header section, up to and including the empty line.
    pub(super) fn read_headers(&mut self) -> Result<PartHeaders, FormError> {
        let nl = self.nl;
        let blank: &[u8] = if nl == b"\r\n" { b"\r\n\r\n" } else { b"\n\n" };
        loop {
            let avail = &self.buf[self.pos..self.end];
            if avail.starts_with(nl) {
                // No header lines at all.
                self.pos += nl.len();
                self.scan_from = self.pos;
                return PartHeaders::parse(b"", nl, self.utf8);
            }
            if let Some(i) = memmem::find(avail, blank) {
                if i > self.max_header_size {
                    return Err(FormError::too_large(
                        Limit::PartHeader,
                        self.max_header_size as u64,
                    ));
                }
                let block_end = self.pos + i;
                let headers = PartHeaders::parse(&self.buf[self.pos..block_end], nl, self.utf8);
                self.pos = block_end + blank.len();
                self.scan_from = self.pos;
                return headers;
            }
            if avail.len() > self.max_header_size + blank.len() {
                return Err(FormError::too_large(
                    Limit::PartHeader,
                    self.max_header_size as u64,
                ));
            }
            self.need_more("body ended in a part's headers")?;
        }
    }

    /// Reads body bytes of the current part into `out`; 0 at its end, when
    /// the state moves on to `Headers` or `Done`.
    pub(super) fn read_body(&mut self, out: &mut [u8]) -> Result<usize, FormError> {
        match self.body_chunk(out.len())? {
            Some((start, n)) => {
                out[..n].copy_from_slice(&self.buf[start..start + n]);
                Ok(n)
            }
            None => Ok(0),
        }
    }

    /// The next run of body bytes of the current part, at most `max`, as a
    /// range `(start, len)` of the buffer, consumed; `None` at the part's
    /// end, when the state moves on to `Headers` or `Done`. Lets
    /// [`Part::copy_to`](super::Part::copy_to) write straight from the buffer.
    pub(super) fn body_chunk(&mut self, max: usize) -> Result<Option<(usize, usize)>, FormError> {
        if self.state != State::Body || max == 0 {
            return Ok(None);
        }
        let dlen = self.delimiter.len();
        loop {
            let found = self
                .finder
                .find(&self.buf[self.scan_from..self.end])
                .map(|i| i + self.scan_from);
            let data_end = match found {
                Some(p) if p > self.pos => {
                    // Nothing before p matches: search from p next time.
                    self.scan_from = p;
                    p
                }
                Some(p) => match self.classify(p + dlen) {
                    After::NeedMore => {
                        self.need_more("body ended in a multipart boundary")?;
                        continue;
                    }
                    After::Close(n) => {
                        self.pos = p + dlen + n;
                        self.scan_from = self.pos;
                        self.state = State::Done;
                        return Ok(None);
                    }
                    After::Next(n) => {
                        self.pos = p + dlen + n;
                        self.scan_from = self.pos;
                        self.state = State::Headers;
                        return Ok(None);
                    }
                    // Data that looks like a delimiter: give its first byte
                    // and search again after it.
                    After::NotDelimiter => {
                        self.scan_from = p + 1;
                        p + 1
                    }
                },
                None => {
                    if self.eof {
                        return Err(FormError::malformed(
                            "body ended before the final multipart boundary",
                        ));
                    }
                    // The last dlen - 1 bytes may be the start of a delimiter.
                    let safe = self.end.saturating_sub(dlen - 1).max(self.pos);
                    self.scan_from = safe;
                    if safe == self.pos {
                        self.need_more("body ended before the final multipart boundary")?;
                        continue;
                    }
                    safe
                }
            };
            let n = max.min(data_end - self.pos);
            let start = self.pos;
            self.pos += n;
            if self.scan_from < self.pos {
                self.scan_from = self.pos;
            }
            return Ok(Some((start, n)));
        }
    }

    /// Reads and discards everything after the close delimiter.
    pub(super) fn drain_epilogue(&mut self) -> Result<(), FormError> {
        loop {
            self.pos = self.end;
            self.scan_from = self.end;
            if self.fill()? == 0 && self.eof {
                return Ok(());
            }
        }
    }
}
