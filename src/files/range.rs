//! Byte ranges (RFC 9110 §14): what part of a file a `Range` header asks
//! for, and the `multipart/byteranges` body that carries several parts.
//!
//! A client asks for one range (`bytes=0-99`) or several
//! (`bytes=0-99,200-299`). One range is answered with a plain `206` and a
//! `Content-Range` header; several with a `206` whose body is
//! `multipart/byteranges` (§14.6): each part has its own `Content-Type` and
//! `Content-Range`, and a boundary line separates them.
//!
//! Several ranges are also a way to make a small request cost a large
//! response: the 2011 "Apache Killer" (CVE-2011-3192) asked for the same
//! bytes hundreds of times over in one header. So ranges that overlap or
//! touch are merged first (§15.3.7.2 allows it), and a `Range` asking for
//! more than [`MAX_RANGES`] ranges, or for more bytes in all than the file
//! holds, is ignored: the whole file is sent with 200, as nginx does.

use crate::handler::Request;
use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};

/// The most ranges one `Range` header may list (16); more, and the whole
/// file is sent with 200. Readers of PDFs and media ask for one or a few;
/// only an attack asks for dozens. The 2011 advisory for CVE-2011-3192
/// suggested refusing more than 5, and Apache added `MaxRanges` (default
/// 200) for it; 16 leaves room for honest clients while keeping a response
/// to at most 16 small part heads beyond the bytes asked for.
pub const MAX_RANGES: usize = 16;

/// Bytes `first..=last` of a file, both within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) first: u64,
    pub(super) last: u64,
}

impl Span {
    /// How many bytes the span holds.
    pub(super) fn len(self) -> u64 {
        self.last - self.first + 1
    }
}

/// What a `Range` header asks of a representation of a given length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ByteRange {
    /// No usable range: send the whole file with 200. Used for syntax the
    /// server does not understand (RFC 9110 §14.2 lets a server ignore
    /// `Range`) and for the range sets refused by [`MAX_RANGES`] or for
    /// asking more than the file.
    Whole,
    /// One span (after merging): a plain 206.
    Part(Span),
    /// Two or more disjoint spans, in ascending order: a
    /// `multipart/byteranges` 206.
    Parts(Vec<Span>),
    /// No range starts within the file: 416.
    Unsatisfiable,
}

/// One `range-spec` of a `Range` header, checked against the length.
enum Spec {
    Satisfiable(Span),
    /// Well formed, but starts at or past the end of the file.
    Unsatisfiable,
    /// Not a range-spec: the whole header is ignored.
    Invalid,
}

/// Parses a `Range` value (RFC 9110 §14.1.2) for a file of `len` bytes: a
/// comma-separated list of `FIRST-LAST`, `FIRST-` or `-SUFFIX` ranges after
/// `bytes=`. Ranges past the end are dropped (416 only if none is left);
/// the rest are merged where they overlap or touch.
pub(super) fn parse_range(value: &[u8], len: u64) -> ByteRange {
    let Ok(value) = std::str::from_utf8(value) else {
        return ByteRange::Whole;
    };
    let Some((unit, specs)) = value.trim().split_once('=') else {
        return ByteRange::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return ByteRange::Whole;
    }
    // A fixed array: the bound is checked as the list is read, so a header
    // of thousands of ranges costs no allocation.
    let mut spans = [Span { first: 0, last: 0 }; MAX_RANGES];
    let (mut listed, mut kept, mut asked) = (0, 0, 0u64);
    // RFC 9110 §5.6.1: empty list elements are allowed and ignored.
    for spec in specs.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        listed += 1;
        if listed > MAX_RANGES {
            return ByteRange::Whole;
        }
        match parse_spec(spec, len) {
            Spec::Invalid => return ByteRange::Whole,
            Spec::Unsatisfiable => {}
            Spec::Satisfiable(span) => {
                asked = asked.saturating_add(span.len());
                spans[kept] = span;
                kept += 1;
            }
        }
    }
    if listed == 0 {
        return ByteRange::Whole;
    }
    if kept == 0 {
        return ByteRange::Unsatisfiable;
    }
    if asked > len {
        // More bytes than the file holds: only overlapping ranges do that
        // (nginx's rule, ngx_http_range_filter_module).
        return ByteRange::Whole;
    }
    match coalesce(&mut spans[..kept]) {
        [one] => ByteRange::Part(*one),
        merged => ByteRange::Parts(merged.to_vec()),
    }
}

/// One range-spec: `FIRST-LAST`, `FIRST-` or `-SUFFIX`.
fn parse_spec(spec: &str, len: u64) -> Spec {
    let Some((first, last)) = spec.split_once('-') else {
        return Spec::Invalid;
    };
    let (first, last) = (first.trim(), last.trim());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if first.is_empty() {
        // A suffix: the last N bytes, or the whole file if it is shorter.
        if !digits(last) {
            return Spec::Invalid;
        }
        let suffix = last.parse::<u64>().unwrap_or(u64::MAX);
        if suffix == 0 || len == 0 {
            return Spec::Unsatisfiable;
        }
        return Spec::Satisfiable(Span {
            first: len - suffix.min(len),
            last: len - 1,
        });
    }
    if !digits(first) || !(last.is_empty() || digits(last)) {
        return Spec::Invalid;
    }
    // Too many digits to fit: surely past the end.
    let first = first.parse::<u64>().unwrap_or(u64::MAX);
    let last = if last.is_empty() {
        u64::MAX
    } else {
        last.parse::<u64>().unwrap_or(u64::MAX)
    };
    if last < first {
        // RFC 9110 §14.1.1: an invalid range-spec; the header is ignored.
        return Spec::Invalid;
    }
    if first >= len {
        return Spec::Unsatisfiable;
    }
    Spec::Satisfiable(Span {
        first,
        last: last.min(len - 1),
    })
}

/// Sorts `spans` and merges those that overlap or touch (RFC 9110
/// §15.3.7.2: "regardless of the order in which the corresponding
/// range-spec appeared"); returns the merged prefix.
fn coalesce(spans: &mut [Span]) -> &[Span] {
    spans.sort_unstable_by_key(|s| s.first);
    let mut merged = 0;
    for i in 0..spans.len() {
        let next = spans[i];
        if merged > 0 && next.first <= spans[merged - 1].last.saturating_add(1) {
            let prev = &mut spans[merged - 1];
            prev.last = prev.last.max(next.last);
        } else {
            spans[merged] = next;
            merged += 1;
        }
    }
    &spans[..merged]
}

/// A `multipart/byteranges` body (RFC 9110 §14.6), laid out before it is
/// sent so that its `Content-Length` is known: each part is a boundary
/// line, `Content-Type` and `Content-Range`, an empty line, then the bytes,
/// streamed from the file.
///
/// ```text
///
/// --BOUNDARY
/// Content-Type: text/plain
/// Content-Range: bytes 0-4/100
///
/// hello
/// --BOUNDARY--
/// ```
pub(super) struct Multipart<'s> {
    boundary: String,
    spans: &'s [Span],
    /// The text before each part's bytes.
    heads: Vec<String>,
}

impl<'s> Multipart<'s> {
    /// The body of `spans` of a file of `total` bytes whose parts have type
    /// `content_type`.
    pub(super) fn new(spans: &'s [Span], content_type: &str, total: u64) -> Self {
        let boundary = new_boundary();
        // The CRLF before the first boundary is an empty preamble (RFC
        // 2046 §5.1.1), as nginx sends it: every part head is alike.
        let heads = spans
            .iter()
            .map(|s| {
                format!(
                    "\r\n--{boundary}\r\nContent-Type: {content_type}\r\n\
                     Content-Range: bytes {}-{}/{total}\r\n\r\n",
                    s.first, s.last
                )
            })
            .collect();
        Multipart {
            boundary,
            spans,
            heads,
        }
    }

    /// The `Content-Type` of the response.
    pub(super) fn content_type(&self) -> String {
        format!("multipart/byteranges; boundary={}", self.boundary)
    }

    /// The closing delimiter.
    fn trailer(&self) -> String {
        format!("\r\n--{}--\r\n", self.boundary)
    }

    /// The length of the whole body, for `Content-Length`.
    pub(super) fn len(&self) -> u64 {
        let heads: usize = self.heads.iter().map(String::len).sum();
        let parts: u64 = self.spans.iter().map(|s| s.len()).sum();
        heads as u64 + parts + self.trailer().len() as u64
    }

    /// Writes the body: part heads from memory, part bytes streamed from
    /// `file` (with `sendfile(2)` where the connection allows).
    pub(super) fn write(&self, r: &mut Request<'_>, file: &File) -> io::Result<()> {
        for (head, span) in self.heads.iter().zip(self.spans) {
            r.wfile.write_all(head.as_bytes())?;
            r.wfile.write_file(file, span.first, span.len())?;
        }
        r.wfile.write_all(self.trailer().as_bytes())
    }
}

/// A boundary no file is likely to contain: 64 random bits in hex, from
/// the standard library's randomly keyed hasher (no RNG crate needed).
fn new_boundary() -> String {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u8(0);
    format!("basehttp-{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(first: u64, last: u64) -> ByteRange {
        ByteRange::Part(Span { first, last })
    }

    fn parts(spans: &[(u64, u64)]) -> ByteRange {
        ByteRange::Parts(
            spans
                .iter()
                .map(|&(first, last)| Span { first, last })
                .collect(),
        )
    }

    #[test]
    fn range_table() {
        use ByteRange::*;
        let many = (0..17).map(|i| format!("{i}-{i}")).collect::<Vec<_>>();
        let sixteen = format!("bytes={}", many[..16].join(","));
        let seventeen = format!("bytes={}", many.join(","));
        let cases: &[(&str, u64, ByteRange)] = &[
            ("bytes=0-99", 1000, part(0, 99)),
            ("bytes=0-0", 1000, part(0, 0)),
            ("bytes=100-", 1000, part(100, 999)),
            ("bytes=0-", 1000, part(0, 999)),
            ("bytes=990-2000", 1000, part(990, 999)),
            ("bytes=-100", 1000, part(900, 999)),
            ("bytes=-5000", 1000, part(0, 999)),
            ("BYTES = 1-2 ", 1000, part(1, 2)),
            ("bytes=999-999", 1000, part(999, 999)),
            ("bytes=0-99999999999999999999999", 10, part(0, 9)),
            ("bytes=1000-", 1000, Unsatisfiable),
            ("bytes=1000-1001", 1000, Unsatisfiable),
            ("bytes=99999999999999999999999-", 10, Unsatisfiable),
            ("bytes=-0", 1000, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            ("bytes=-1", 0, Unsatisfiable),
            ("bytes=5-4", 1000, Whole),
            ("items=0-1", 1000, Whole),
            ("bytes=a-b", 1000, Whole),
            ("bytes=-", 1000, Whole),
            ("bytes=--1", 1000, Whole),
            ("bytes=+1-2", 1000, Whole),
            ("bytes 0-1", 1000, Whole),
            ("bytes=", 1000, Whole),
            ("bytes=,,", 1000, Whole),
            ("", 1000, Whole),
            // Several ranges.
            ("bytes=0-1,5-6", 1000, parts(&[(0, 1), (5, 6)])),
            ("bytes=5-6,0-1", 1000, parts(&[(0, 1), (5, 6)])),
            ("bytes=0-1, ,5-6,", 1000, parts(&[(0, 1), (5, 6)])),
            ("bytes=0-99,-100", 1000, parts(&[(0, 99), (900, 999)])),
            // Overlapping and adjacent ranges merge.
            ("bytes=0-99,50-149", 1000, part(0, 149)),
            ("bytes=0-99,100-199", 1000, part(0, 199)),
            ("bytes=0-9,20-29,5-24", 1000, part(0, 29)),
            ("bytes=0-9,2-3,20-29", 1000, parts(&[(0, 9), (20, 29)])),
            // Ranges past the end are dropped; none left: 416.
            ("bytes=0-9,5000-", 1000, part(0, 9)),
            ("bytes=2000-,5000-", 1000, Unsatisfiable),
            // One bad range-spec: the header is ignored.
            ("bytes=0-9,x", 1000, Whole),
            ("bytes=0-9,9-0", 1000, Whole),
            // More bytes than the file, by overlap: the whole file.
            ("bytes=0-999,0-999", 1000, Whole),
            ("bytes=0-,-1000", 1000, Whole),
            (&sixteen, 1000, part(0, 15)),
            (&seventeen, 1000, Whole),
        ];
        for (value, len, want) in cases {
            assert_eq!(
                parse_range(value.as_bytes(), *len),
                *want,
                "Range: {value:?} on {len} bytes"
            );
        }
    }

    #[test]
    fn a_huge_range_list_is_refused_without_reading_it_all() {
        let huge = format!("bytes={}", "0-0,".repeat(100_000));
        assert_eq!(parse_range(huge.as_bytes(), 1000), ByteRange::Whole);
    }

    #[test]
    fn multipart_length_is_the_length_of_what_is_written() {
        let spans = [
            Span { first: 0, last: 4 },
            Span {
                first: 10,
                last: 19,
            },
        ];
        let body = Multipart::new(&spans, "text/plain", 100);
        let b = &body.boundary;
        let written = format!(
            "\r\n--{b}\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-4/100\r\n\r\n\
             01234\
             \r\n--{b}\r\nContent-Type: text/plain\r\nContent-Range: bytes 10-19/100\r\n\r\n\
             0123456789\
             \r\n--{b}--\r\n"
        );
        assert_eq!(body.len(), written.len() as u64);
        assert_ne!(new_boundary(), new_boundary());
    }
}
