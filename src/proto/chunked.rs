//! The chunked transfer coding (RFC 9112 §7.1), decoded one byte of framing
//! at a time so that any split of the input gives the same result.
//!
//! ```text
//! chunked-body = *chunk last-chunk trailer-section CRLF
//! chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size   = 1*HEXDIG
//! last-chunk   = 1*("0") [ chunk-ext ] CRLF
//! chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//! ```
//!
//! Every line in the framing must end with CRLF: a bare LF is an error here
//! (unlike in the head), because a disagreement between two parsers about
//! where a chunk ends is how request smuggling works.

use super::ProtoError;
use std::ops::Range;

/// Most bytes of chunk extensions accepted on one chunk-size line: 4 KiB.
///
/// Nothing uses extensions in practice; the bound stops a client from making
/// us scan an endless size line (the CVE-2023-39326 class in Go).
pub const MAX_CHUNK_EXTENSIONS: usize = 4 * 1024;

/// Largest trailer section accepted: 16 KiB. Trailers are kept (for
/// [`ChunkedDecoder::trailers`]), so they are bounded like a head.
pub const MAX_TRAILER_SECTION: usize = 16 * 1024;

/// What [`ChunkedDecoder::decode`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chunk {
    /// Body bytes: this range of the input.
    Data(Range<usize>),
    /// All of the input was framing; more input is needed.
    NeedMore,
    /// The body is complete (last chunk and trailer section read).
    End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading the hex digits of a chunk size; `digits` seen so far.
    Size { digits: u8 },
    /// After the size: optional whitespace, then `;` or CR.
    ExtStart,
    /// Inside the chunk extensions, after a `;`.
    Ext,
    /// Expecting the LF of the size line.
    SizeLf,
    /// Inside chunk data, with this many bytes left.
    Data(u64),
    /// Expecting the CR after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// At the start of a trailer line, or of the final empty line.
    TrailerStart,
    /// Inside a trailer field line.
    TrailerLine,
    /// Expecting the LF of a trailer line.
    TrailerLf,
    /// Expecting the LF of the final empty line.
    EndLf,
    /// Finished.
    Done,
}

/// A resumable decoder for a chunked body.
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    size: u64,
    ext_len: usize,
    trailers: Vec<u8>,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub fn new() -> Self {
        ChunkedDecoder {
            state: State::Size { digits: 0 },
            size: 0,
            ext_len: 0,
            trailers: Vec::new(),
        }
    }

    /// Decodes from `input`, returning how many bytes were consumed and what
    /// was found. At most `max_data` body bytes are returned at once (pass
    /// the room in the caller's buffer); `max_data` of 0 is treated as 1.
    ///
    /// Bytes after [`Chunk::End`] are not consumed: they belong to the next
    /// request on the connection.
    pub fn decode(&mut self, input: &[u8], max_data: usize) -> Result<(usize, Chunk), ProtoError> {
        let mut i = 0;
        while i < input.len() {
            if let State::Data(left) = self.state {
                let n = (input.len() - i).min(max_data.max(1)).min(clamp(left));
                self.advance_data(n as u64);
                return Ok((i + n, Chunk::Data(i..i + n)));
            }
            self.step(input[i])?;
            i += 1;
            if self.state == State::Done {
                return Ok((i, Chunk::End));
            }
        }
        if self.state == State::Done {
            return Ok((i, Chunk::End));
        }
        Ok((i, Chunk::NeedMore))
    }

    /// Body bytes left in the current chunk: a caller may read up to this many
    /// straight into its own buffer, then call [`advance_data`](Self::advance_data).
    pub fn data_remaining(&self) -> u64 {
        match self.state {
            State::Data(left) => left,
            _ => 0,
        }
    }

    /// Records that `n` bytes of chunk data (at most
    /// [`data_remaining`](Self::data_remaining)) were consumed.
    pub fn advance_data(&mut self, n: u64) {
        if let State::Data(left) = self.state {
            debug_assert!(n <= left);
            let left = left - n.min(left);
            self.state = if left == 0 {
                State::DataCr
            } else {
                State::Data(left)
            };
        }
    }

    /// Whether the whole body, trailers included, has been decoded.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The trailer section received after the last chunk: field lines each
    /// ending in CRLF, already validated; empty if there were none.
    pub fn trailers(&self) -> &[u8] {
        &self.trailers
    }

    /// One byte of framing.
    fn step(&mut self, b: u8) -> Result<(), ProtoError> {
        use State::*;
        self.state = match self.state {
            Size { digits } => match b {
                b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                    let d = (b as char).to_digit(16).unwrap_or(0);
                    self.size = self
                        .size
                        .checked_mul(16)
                        .and_then(|s| s.checked_add(u64::from(d)))
                        .ok_or(ProtoError::ChunkSizeOverflow)?;
                    Size {
                        digits: digits.saturating_add(1),
                    }
                }
                _ if digits == 0 => return Err(ProtoError::ChunkSize),
                b'\r' => SizeLf,
                b'\n' => return Err(ProtoError::ChunkLineEnding),
                b' ' | b'\t' => ExtStart,
                b';' => self.ext_byte(Ext)?,
                _ => return Err(ProtoError::ChunkSize),
            },
            ExtStart => match b {
                b' ' | b'\t' => self.ext_byte(ExtStart)?,
                b';' => self.ext_byte(Ext)?,
                b'\r' => SizeLf,
                b'\n' => return Err(ProtoError::ChunkLineEnding),
                _ => return Err(ProtoError::ChunkSize),
            },
            Ext => match b {
                b'\r' => SizeLf,
                b'\n' => return Err(ProtoError::ChunkLineEnding),
                // Extension names, values and quoted strings: visible ASCII,
                // whitespace and obs-text; no controls.
                b'\t' | b' '..=b'~' | 0x80..=0xff => self.ext_byte(Ext)?,
                _ => return Err(ProtoError::ChunkExtension),
            },
            SizeLf => match b {
                b'\n' => {
                    self.ext_len = 0;
                    let size = std::mem::take(&mut self.size);
                    if size == 0 { TrailerStart } else { Data(size) }
                }
                _ => return Err(ProtoError::ChunkLineEnding),
            },
            DataCr => match b {
                b'\r' => DataLf,
                _ => return Err(ProtoError::ChunkLineEnding),
            },
            DataLf => match b {
                b'\n' => Size { digits: 0 },
                _ => return Err(ProtoError::ChunkLineEnding),
            },
            TrailerStart => match b {
                b'\r' => EndLf,
                b'\n' => return Err(ProtoError::ChunkLineEnding),
                _ => self.trailer_byte(b, TrailerLine)?,
            },
            TrailerLine => match b {
                b'\r' => TrailerLf,
                b'\n' => return Err(ProtoError::ChunkLineEnding),
                _ => self.trailer_byte(b, TrailerLine)?,
            },
            TrailerLf => match b {
                b'\n' => {
                    self.trailer_byte(b'\r', TrailerStart)?;
                    self.trailer_byte(b'\n', TrailerStart)?
                }
                _ => return Err(ProtoError::ChunkLineEnding),
            },
            EndLf => match b {
                b'\n' => {
                    self.validate_trailers()?;
                    Done
                }
                _ => return Err(ProtoError::ChunkLineEnding),
            },
            Data(_) | Done => unreachable!("decode() never steps in these states"),
        };
        Ok(())
    }

    fn ext_byte(&mut self, next: State) -> Result<State, ProtoError> {
        self.ext_len += 1;
        if self.ext_len > MAX_CHUNK_EXTENSIONS {
            return Err(ProtoError::ChunkExtension);
        }
        Ok(next)
    }

    fn trailer_byte(&mut self, b: u8, next: State) -> Result<State, ProtoError> {
        if self.trailers.len() >= MAX_TRAILER_SECTION {
            return Err(ProtoError::Trailer);
        }
        self.trailers.push(b);
        Ok(next)
    }

    /// Trailer fields have the syntax of header fields (RFC 9112 §7.1.2).
    fn validate_trailers(&self) -> Result<(), ProtoError> {
        if self.trailers.is_empty() {
            return Ok(());
        }
        let mut section = self.trailers.clone();
        section.extend_from_slice(b"\r\n");
        let mut fields = [httparse::EMPTY_HEADER; super::MAX_HEADERS];
        match httparse::parse_headers(&section, &mut fields) {
            Ok(httparse::Status::Complete((n, parsed))) if n == section.len() => {
                if parsed
                    .iter()
                    .any(|h| h.value.iter().any(|&b| b == 0 || b == b'\r'))
                {
                    return Err(ProtoError::Trailer);
                }
                Ok(())
            }
            _ => Err(ProtoError::Trailer),
        }
    }
}

fn clamp(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes all of `input` in pieces of `split` bytes, returning the body,
    /// the bytes left after the end, and the trailers.
    fn decode_split(input: &[u8], split: usize) -> Result<(Vec<u8>, usize, Vec<u8>), ProtoError> {
        let mut d = ChunkedDecoder::new();
        let mut body = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut fed = 0;
        loop {
            if fed < input.len() {
                let end = (fed + split).min(input.len());
                buf.extend_from_slice(&input[fed..end]);
                fed = end;
            }
            let mut at = 0;
            loop {
                let (n, chunk) = d.decode(&buf[at..], 3)?;
                match chunk {
                    Chunk::Data(r) => body.extend_from_slice(&buf[at + r.start..at + r.end]),
                    Chunk::NeedMore => {
                        at += n;
                        break;
                    }
                    Chunk::End => {
                        at += n;
                        let left = buf.len() - at + (input.len() - fed);
                        return Ok((body, left, d.trailers().to_vec()));
                    }
                }
                at += n;
            }
            buf.drain(..at);
            if fed == input.len() && buf.is_empty() {
                return Err(ProtoError::ChunkSize); // truncated: stand-in for "EOF"
            }
        }
    }

    #[test]
    fn accepted_bodies_decode_the_same_under_every_split() {
        let cases: &[(&[u8], &[u8], &[u8])] = &[
            (b"0\r\n\r\n", b"", b""),
            (b"5\r\nhello\r\n0\r\n\r\n", b"hello", b""),
            (
                b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT",
                b"hello world",
                b"",
            ),
            (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789", b""),
            (b"000a\r\n0123456789\r\n000\r\n\r\n", b"0123456789", b""),
            (b"5;name=value\r\nhello\r\n0;x\r\n\r\n", b"hello", b""),
            (
                b"5 ; a=\"q;uo\\\"ted\"\r\nhello\r\n0\r\n\r\n",
                b"hello",
                b"",
            ),
            (
                b"5\r\nhello\r\n0\r\nX-Sum: 1\r\nY: two\r\n\r\n",
                b"hello",
                b"X-Sum: 1\r\nY: two\r\n",
            ),
            (b"ffffffffffffffff\r\n", b"", b""), // huge but valid size: only a prefix is fed
        ];
        for (raw, body, trailers) in cases {
            if raw.starts_with(b"ffff") {
                let mut d = ChunkedDecoder::new();
                assert_eq!(d.decode(raw, 10).unwrap(), (raw.len(), Chunk::NeedMore));
                assert_eq!(d.data_remaining(), u64::MAX);
                continue;
            }
            for split in 1..=raw.len() {
                let (got, left, got_trailers) = decode_split(raw, split).unwrap_or_else(|e| {
                    panic!("{:?} split {split}: {e}", String::from_utf8_lossy(raw))
                });
                assert_eq!(got, *body);
                assert_eq!(got_trailers, *trailers);
                let expect_left = if raw.ends_with(b"NEXT") { 4 } else { 0 };
                assert_eq!(left, expect_left);
            }
        }
    }

    #[test]
    fn rejected_bodies() {
        use ProtoError::*;
        let long_ext = format!("1;{}\r\nx\r\n0\r\n\r\n", "a".repeat(MAX_CHUNK_EXTENSIONS));
        let long_trailer = format!("0\r\nX: {}\r\n\r\n", "a".repeat(MAX_TRAILER_SECTION));
        let cases: Vec<(&[u8], ProtoError)> = vec![
            (b"\r\n", ChunkSize),
            (b"x\r\n", ChunkSize),
            (b"-5\r\nhello\r\n", ChunkSize),
            (b"+5\r\nhello\r\n", ChunkSize),
            (b"0x5\r\nhello\r\n", ChunkSize),
            (b"5 5\r\nhello\r\n", ChunkSize),
            (b"5\nhello\r\n0\r\n\r\n", ChunkLineEnding),
            (b"5\rhello", ChunkLineEnding),
            (b"5\r\nhello\n0\r\n\r\n", ChunkLineEnding),
            (b"5\r\nhelloX\r\n", ChunkLineEnding),
            (b"5\r\nhello\rX", ChunkLineEnding),
            (b"0\r\n\n", ChunkLineEnding),
            (b"0\r\nX: y\n\r\n", ChunkLineEnding),
            (b"0\r\n\rX", ChunkLineEnding),
            (b"10000000000000000\r\n", ChunkSizeOverflow),
            (b"5;a\x00b\r\nhello\r\n", ChunkExtension),
            (long_ext.as_bytes(), ChunkExtension),
            (long_trailer.as_bytes(), Trailer),
            (b"0\r\nno colon\r\n\r\n", Trailer),
            (b"0\r\nBad Name: x\r\n\r\n", Trailer),
        ];
        for (raw, want) in cases {
            let mut d = ChunkedDecoder::new();
            let mut at = 0;
            let got = loop {
                match d.decode(&raw[at..], usize::MAX) {
                    Err(e) => break Some(e),
                    Ok((n, Chunk::Data(_))) => at += n,
                    Ok((_, Chunk::NeedMore | Chunk::End)) => break None,
                }
            };
            assert_eq!(got, Some(want), "{:?}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn data_can_be_read_around_the_decoder() {
        let mut d = ChunkedDecoder::new();
        assert_eq!(d.decode(b"a\r\n", 100).unwrap(), (3, Chunk::NeedMore));
        assert_eq!(d.data_remaining(), 10);
        d.advance_data(4);
        assert_eq!(d.data_remaining(), 6);
        d.advance_data(6);
        assert_eq!(d.data_remaining(), 0);
        assert_eq!(d.decode(b"\r\n0\r\n\r\n", 100).unwrap(), (7, Chunk::End));
        assert!(d.is_done());
    }
}
