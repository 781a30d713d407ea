//! Writing responses: the status line, header fields and chunk framing.
//!
//! A response head is `HTTP-version SP status-code SP reason-phrase CRLF`,
//! then `name: value CRLF` per field, then an empty line (RFC 9112 §4, §5).
//! Nothing that could end a line early is ever written: a name must be a
//! token, and a value or reason phrase with CR, LF or NUL is refused, which is
//! what stops response splitting (CWE-113).

use super::{ONES, any_byte, has_less, is_token};
use http::Version;
use std::fmt;

/// A header name, value or reason phrase that cannot be written safely.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidHeader {
    what: &'static str,
}

impl fmt::Display for InvalidHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }
}

impl std::error::Error for InvalidHeader {}

/// The last chunk and the empty trailer section that end a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// The version as written in a status line.
pub fn version_str(v: Version) -> &'static str {
    if v == Version::HTTP_10 {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    }
}

/// Appends `HTTP/1.1 200 OK\r\n` to `buf`. The code must be three digits
/// (100–999) and the reason phrase free of CR, LF and NUL.
pub fn status_line(
    buf: &mut Vec<u8>,
    version: Version,
    code: u16,
    reason: &str,
) -> Result<(), InvalidHeader> {
    if !(100..=999).contains(&code) {
        return Err(InvalidHeader {
            what: "status code must have three digits",
        });
    }
    if has_line_break(reason.as_bytes()) {
        return Err(InvalidHeader {
            what: "reason phrase contains CR, LF or NUL",
        });
    }
    let digits = [
        b'0' + (code / 100) as u8,
        b'0' + (code / 10 % 10) as u8,
        b'0' + (code % 10) as u8,
    ];
    buf.extend_from_slice(version_str(version).as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(&digits);
    buf.push(b' ');
    buf.extend_from_slice(reason.as_bytes());
    buf.extend_from_slice(b"\r\n");
    Ok(())
}

/// Checks that `name: value` can be written: the name is a token and the value
/// has no CR, LF or NUL.
pub fn check_header(name: &str, value: &[u8]) -> Result<(), InvalidHeader> {
    if !is_token(name.as_bytes()) {
        return Err(InvalidHeader {
            what: "header name is not a token",
        });
    }
    if has_line_break(value) {
        return Err(InvalidHeader {
            what: "header value contains CR, LF or NUL",
        });
    }
    Ok(())
}

/// Appends `name: value\r\n` to `buf` after [`check_header`].
pub fn header(buf: &mut Vec<u8>, name: &str, value: &[u8]) -> Result<(), InvalidHeader> {
    check_header(name, value)?;
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b": ");
    buf.extend_from_slice(value);
    buf.extend_from_slice(b"\r\n");
    Ok(())
}

/// Writes the size line of a chunk of `len` bytes (`len` in hex, then CRLF)
/// into `out` and returns it. `len` must not be 0: that is the last chunk.
pub fn chunk_size_line(len: usize, out: &mut [u8; 18]) -> &[u8] {
    debug_assert!(len > 0);
    let digits = (usize::BITS - len.leading_zeros()).div_ceil(4).max(1) as usize;
    for (i, digit) in out[..digits].iter_mut().enumerate() {
        let nibble = (len >> (4 * (digits - 1 - i))) & 0xf;
        *digit = b"0123456789abcdef"[nibble];
    }
    out[digits] = b'\r';
    out[digits + 1] = b'\n';
    &out[..digits + 2]
}

/// Formats `n` in decimal into `out`, returning the digits.
pub fn itoa_u64(mut n: u64, out: &mut [u8; 20]) -> &[u8] {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &out[i..];
        }
    }
}

pub(crate) fn has_line_break(s: &[u8]) -> bool {
    // Eight bytes at a time: CR and LF are found as zero lanes (lanes below
    // 1) of the word XORed with them.
    let zero = |w: u64| has_less(w, 1);
    any_byte(
        s,
        |w| zero(w) | zero(w ^ (ONES * 0x0d)) | zero(w ^ (ONES * 0x0a)),
        |b| b == b'\r' || b == b'\n' || b == 0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_are_found_at_every_position() {
        for len in 0..40 {
            let clean = vec![b'a'; len];
            assert!(!has_line_break(&clean), "{len}");
            for at in 0..len {
                for bad in [b'\r', b'\n', 0] {
                    let mut v = clean.clone();
                    v[at] = bad;
                    assert!(has_line_break(&v), "{len} {at} {bad}");
                }
            }
        }
        // Bytes next to the ones searched for, and high bytes, are clean.
        assert!(!has_line_break(
            b"\x0b\x0c\x0e\x09\x01\xff\x80\x8d\x8a text"
        ));
    }

    #[test]
    fn status_lines() {
        let mut b = Vec::new();
        status_line(&mut b, Version::HTTP_11, 200, "OK").unwrap();
        status_line(&mut b, Version::HTTP_10, 404, "Not Found").unwrap();
        status_line(&mut b, Version::HTTP_11, 599, "").unwrap();
        assert_eq!(
            b,
            b"HTTP/1.1 200 OK\r\nHTTP/1.0 404 Not Found\r\nHTTP/1.1 599 \r\n"
        );
        assert!(status_line(&mut b, Version::HTTP_11, 99, "x").is_err());
        assert!(status_line(&mut b, Version::HTTP_11, 1000, "x").is_err());
        assert!(status_line(&mut b, Version::HTTP_11, 200, "OK\r\nX: y").is_err());
    }

    #[test]
    fn header_injection_is_refused() {
        let mut b = Vec::new();
        header(&mut b, "X-Ok", b"fine value").unwrap();
        assert_eq!(b, b"X-Ok: fine value\r\n");
        for (name, value) in [
            ("X", &b"a\r\nSet-Cookie: evil"[..]),
            ("X", b"a\nb"),
            ("X", b"a\rb"),
            ("X", b"a\0b"),
            ("X Y", b"v"),
            ("X:Y", b"v"),
            ("", b"v"),
            ("X\r\n", b"v"),
        ] {
            assert!(header(&mut b, name, value).is_err(), "{name:?}: {value:?}");
        }
        assert_eq!(b, b"X-Ok: fine value\r\n", "nothing written on refusal");
    }

    #[test]
    fn chunk_size_lines() {
        let mut out = [0; 18];
        assert_eq!(chunk_size_line(1, &mut out), b"1\r\n");
        assert_eq!(chunk_size_line(15, &mut out), b"f\r\n");
        assert_eq!(chunk_size_line(16, &mut out), b"10\r\n");
        assert_eq!(chunk_size_line(16384, &mut out), b"4000\r\n");
        assert_eq!(
            chunk_size_line(usize::MAX, &mut out),
            b"ffffffffffffffff\r\n"
        );
    }

    #[test]
    fn decimal() {
        assert_eq!(itoa_u64(0, &mut [0; 20]), b"0");
        assert_eq!(itoa_u64(13, &mut [0; 20]), b"13");
        assert_eq!(itoa_u64(u64::MAX, &mut [0; 20]), b"18446744073709551615");
    }
}
