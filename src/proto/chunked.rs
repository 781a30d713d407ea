//! The chunked transfer coding (RFC 9112 §7.1), decoded one byte of framing
//! at a time so that any split of the input gives the same result.
//!
//! ```text
//! chunked-body = *chunk last-chunk trailer-section CRLF
//! chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size   = 1*HEXDIG
//! last-chunk   = 1*("0") [ chunk-ext ] CRLF
//! chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//! chunk-ext-name = token
//! chunk-ext-val  = token / quoted-string
//! ```
//!
//! The extensions are ignored but parsed to this grammar (RFC 9112 §7.1.1):
//! `BWS` is whitespace only where the grammar puts it, so `5 \r\n`, `5;\r\n`
//! and `5;a \r\n` are malformed, and a name or value is a token or, for a
//! value, a quoted-string (RFC 9110 §5.6.2, §5.6.4).
//!
//! Every line in the framing must end with CRLF: a bare LF is an error here
//! (unlike in the head), because a disagreement between two parsers about
//! where a chunk ends is how request smuggling works.

use super::ProtoError;
use super::head::is_tchar;
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
    /// Whitespace after the size, which only a `;` may follow.
    SizeBws,
    /// After a `;`: whitespace, then an extension name.
    ExtName,
    /// Inside an extension name.
    ExtNameRest,
    /// Whitespace after a name, which a `=` or a `;` may follow.
    ExtNameBws,
    /// After a `=`: whitespace, then a token or a quoted-string.
    ExtVal,
    /// Inside a token value.
    ExtToken,
    /// Inside a quoted-string value, after its opening quote.
    ExtQuoted,
    /// After a backslash in a quoted-string.
    ExtQuotedPair,
    /// Just after a quoted-string's closing quote.
    ExtQuotedEnd,
    /// Whitespace after a value, which only a `;` may follow.
    ExtValBws,
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
                b' ' | b'\t' => self.ext_byte(SizeBws)?,
                b';' => self.ext_byte(ExtName)?,
                _ => return Err(ProtoError::ChunkSize),
            },
            // chunk-ext = *( BWS ";" BWS chunk-ext-name
            //                [ BWS "=" BWS chunk-ext-val ] ) (RFC 9112 §7.1.1):
            // each state below is one step of it.
            SizeBws => match b {
                b' ' | b'\t' => self.ext_byte(SizeBws)?,
                b';' => self.ext_byte(ExtName)?,
                // `5 \r\n` or `5 x`: BWS belongs before a `;` only.
                _ => return Err(ProtoError::ChunkSize),
            },
            ExtName => match b {
                b' ' | b'\t' => self.ext_byte(ExtName)?,
                // chunk-ext-name = token; `5;\r\n` has none.
                _ if is_tchar(b) => self.ext_byte(ExtNameRest)?,
                _ => return Err(ProtoError::ChunkExtension),
            },
            ExtNameRest => match b {
                _ if is_tchar(b) => self.ext_byte(ExtNameRest)?,
                b' ' | b'\t' => self.ext_byte(ExtNameBws)?,
                b'=' => self.ext_byte(ExtVal)?,
                b';' => self.ext_byte(ExtName)?,
                b'\r' => SizeLf,
                b'\n' => return Err(ProtoError::ChunkLineEnding),
                _ => return Err(ProtoError::ChunkExtension),
            },
            ExtNameBws => match b {
                b' ' | b'\t' => self.ext_byte(ExtNameBws)?,
                b'=' => self.ext_byte(ExtVal)?,
                b';' => self.ext_byte(ExtName)?,
                _ => return Err(ProtoError::ChunkExtension),
            },
            ExtVal => match b {
                b' ' | b'\t' => self.ext_byte(ExtVal)?,
                b'"' => self.ext_byte(ExtQuoted)?,
                // chunk-ext-val = token / quoted-string
                _ if is_tchar(b) => self.ext_byte(ExtToken)?,
                _ => return Err(ProtoError::ChunkExtension),
            },
            ExtToken => match b {
                _ if is_tchar(b) => self.ext_byte(ExtToken)?,
                b' ' | b'\t' => self.ext_byte(ExtValBws)?,
                b';' => self.ext_byte(ExtName)?,
                b'\r' => SizeLf,
                b'\n' => return Err(ProtoError::ChunkLineEnding),
                _ => return Err(ProtoError::ChunkExtension),
            },
            ExtQuoted => match b {
                b'"' => self.ext_byte(ExtQuotedEnd)?,
                b'\\' => self.ext_byte(ExtQuotedPair)?,
                // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
                // (RFC 9110 §5.6.4)
                b'\t' | b' '..=b'~' | 0x80..=0xff => self.ext_byte(ExtQuoted)?,
                _ => return Err(ProtoError::ChunkExtension),
            },
            ExtQuotedPair => match b {
                // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                b'\t' | b' '..=b'~' | 0x80..=0xff => self.ext_byte(ExtQuoted)?,
                _ => return Err(ProtoError::ChunkExtension),
            },
            ExtQuotedEnd => match b {
                b' ' | b'\t' => self.ext_byte(ExtValBws)?,
                b';' => self.ext_byte(ExtName)?,
                b'\r' => SizeLf,
                b'\n' => return Err(ProtoError::ChunkLineEnding),
                _ => return Err(ProtoError::ChunkExtension),
            },
            ExtValBws => match b {
                b' ' | b'\t' => self.ext_byte(ExtValBws)?,
                b';' => self.ext_byte(ExtName)?,
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

    /// Decodes a chunk of "hello" whose size line is `line`, then the last
    /// chunk, under every split of the input (which must agree).
    fn size_line(line: &[u8]) -> Result<Vec<u8>, ProtoError> {
        let raw = [line, b"\r\nhello\r\n0\r\n\r\n"].concat();
        let whole = decode_split(&raw, raw.len()).map(|(body, _, _)| body);
        for split in 1..raw.len() {
            let got = decode_split(&raw, split).map(|(body, _, _)| body);
            assert_eq!(
                got,
                whole,
                "{:?} split {split}",
                String::from_utf8_lossy(line)
            );
        }
        whole
    }

    #[test]
    fn accepted_chunk_extensions() {
        let cases: &[(&str, &[u8])] = &[
            ("name only", b"5;a"),
            ("name and token value", b"5;a=b"),
            ("two extensions", b"5;a=b;c"),
            ("BWS before the semicolon (RFC 9112 §7.1.1)", b"5 ;a=b"),
            ("HTAB as BWS", b"5\t;a"),
            ("BWS everywhere the grammar has it", b"5 ; a = b ; c"),
            ("token bytes in a name", b"5;!#$%&'*+-.^_`|~09az"),
            ("quoted-string value", b"5;a=\"x y\""),
            ("empty quoted-string", b"5;a=\"\""),
            ("quoted-pair", b"5;a=\"\\\"\\\\\""),
            ("semicolon and equals inside quotes", b"5;a=\";=\""),
            ("obs-text inside quotes", b"5;a=\"caf\xc3\xa9\""),
            ("quoted-string, BWS, next extension", b"5;a=\"b\" ;c"),
            ("quoted-string, next extension", b"5;a=\"b\";c"),
        ];
        for (name, line) in cases {
            assert_eq!(size_line(line), Ok(b"hello".to_vec()), "{name}");
        }
    }

    #[test]
    fn rejected_chunk_size_lines() {
        use ProtoError::*;
        let cases: &[(&str, &[u8], ProtoError)] = &[
            ("whitespace, then the line ends", b"5 ", ChunkSize),
            ("HTAB, then the line ends", b"5\t", ChunkSize),
            (
                "whitespace, then a name without a semicolon",
                b"5 a",
                ChunkSize,
            ),
            ("semicolon without a name", b"5;", ChunkExtension),
            ("semicolon and whitespace, no name", b"5; ", ChunkExtension),
            ("two semicolons", b"5;;a", ChunkExtension),
            ("trailing semicolon", b"5;a;", ChunkExtension),
            ("name not a token", b"5;bad[=x", ChunkExtension),
            ("name starting with a non-tchar", b"5;[a", ChunkExtension),
            ("value without a name", b"5;=b", ChunkExtension),
            ("equals without a value", b"5;a=", ChunkExtension),
            ("value not a token", b"5;a=b[", ChunkExtension),
            ("value starting with a non-tchar", b"5;a=@", ChunkExtension),
            ("two values", b"5;a=b c", ChunkExtension),
            (
                "whitespace after a name, then the line ends",
                b"5;a ",
                ChunkExtension,
            ),
            (
                "whitespace after a value, then the line ends",
                b"5;a=b ",
                ChunkExtension,
            ),
            (
                "whitespace after a quoted value, then the line ends",
                b"5;a=\"b\" ",
                ChunkExtension,
            ),
            ("unterminated quoted-string", b"5;a=\"b", ChunkExtension),
            ("bytes after a quoted-string", b"5;a=\"b\"c", ChunkExtension),
            (
                "control in a quoted-string",
                b"5;a=\"\x01\"",
                ChunkExtension,
            ),
            ("DEL in a quoted-string", b"5;a=\"\x7f\"", ChunkExtension),
            (
                "control in a quoted-pair",
                b"5;a=\"\\\x01\"",
                ChunkExtension,
            ),
            ("obs-text in a token", b"5;a=caf\xc3\xa9", ChunkExtension),
        ];
        for (name, line, want) in cases {
            assert_eq!(size_line(line), Err(*want), "{name}");
        }
    }

    #[test]
    fn bare_lf_ends_no_size_line() {
        // Wherever a CR may end the size line, a bare LF is a line-ending
        // error; where a CR may not, an LF is as wrong as any other byte.
        use ProtoError::*;
        let cases: &[(&str, &[u8], ProtoError)] = &[
            ("after a name", b"5;a\n", ChunkLineEnding),
            ("after a token value", b"5;a=b\n", ChunkLineEnding),
            ("after a quoted value", b"5;a=\"b\"\n", ChunkLineEnding),
            ("after a semicolon", b"5;\n", ChunkExtension),
            ("inside a quoted-string", b"5;a=\"b\n", ChunkExtension),
        ];
        for (name, raw, want) in cases {
            let mut d = ChunkedDecoder::new();
            assert_eq!(d.decode(raw, usize::MAX), Err(*want), "{name}");
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
