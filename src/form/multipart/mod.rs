//! The streaming `multipart/form-data` reader.
//!
//! A multipart body (RFC 2046 §5.1.1, RFC 7578) looks like this, with
//! `BOUNDARY` taken from the request's `Content-Type`:
//!
//! ```text
//! preamble (ignored, usually empty)
//! --BOUNDARY
//! Content-Disposition: form-data; name="name"
//!
//! dhellmann
//! --BOUNDARY
//! Content-Disposition: form-data; name="datafile"; filename="a.txt"
//! Content-Type: text/plain
//!
//! ...file bytes...
//! --BOUNDARY--
//! epilogue (ignored)
//! ```
//!
//! Every line break is CRLF. The line break before each `--BOUNDARY` belongs
//! to the delimiter, not to the data before it, so a part's body is exactly
//! the bytes between its header section and the next `CRLF--BOUNDARY`. A
//! delimiter must be followed by optional spaces or tabs and a line break, or
//! by `--` (the close delimiter): `--BOUNDARYX` inside data is data.
//!
//! Line breaks: like Go's `mime/multipart`, the reader accepts bodies that
//! use bare LF throughout; which one a body uses is decided by the line that
//! ends its first boundary.
//!
//! The reader holds one fixed buffer (64 KiB, or more for a large
//! [`FormConfig::max_header_size`]) whatever the size of the parts, and finds
//! delimiters with `memchr::memmem`.
//!
//! Three files: this one holds the reader and its parts as a caller sees
//! them; `scan` moves through the buffer, finding delimiters and the end of
//! each header section; `headers` parses one header section, with no I/O.

mod headers;
mod scan;

pub use headers::PartHeaders;

use super::{FormConfig, FormError, Limit, Utf8Policy};
use memchr::memmem;
use scan::MAX_PADDING;
use std::borrow::Cow;
use std::io::{self, Read, Write};

/// The reader's buffer size, for a default [`FormConfig::max_header_size`].
const BUFFER_SIZE: usize = 64 << 10;

/// Longest boundary RFC 2046 §5.1.1 allows: 70 characters.
const MAX_BOUNDARY: usize = 70;

/// Smallest part-header limit used, whatever the configuration says.
const MIN_HEADER_SIZE: usize = 1 << 10;

/// Checks a boundary: 1 to 70 characters, none of them CR or LF.
pub(super) fn check_boundary(boundary: &[u8]) -> Result<(), FormError> {
    if boundary.is_empty() || boundary.len() > MAX_BOUNDARY {
        return Err(FormError::malformed(
            "multipart boundary must be 1 to 70 characters (RFC 2046)",
        ));
    }
    if boundary.iter().any(|&b| b == b'\r' || b == b'\n') {
        return Err(FormError::malformed(
            "multipart boundary contains a line break",
        ));
    }
    Ok(())
}

/// Where the reader is in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the first boundary.
    Preamble,
    /// Just after a boundary line: a part's header section comes next.
    Headers,
    /// Inside a part's body.
    Body,
    /// After the close delimiter: the epilogue is drained on the next call.
    Done,
    /// After an error: nothing more is read.
    Failed,
}

/// Reads a `multipart/form-data` body part by part, each part's body as a
/// stream, in constant memory.
///
/// [`next_part`](MultipartReader::next_part) returns the next [`Part`]: its
/// headers, and its body through [`Read`]. Asking for the next part skips
/// whatever is left of the current one. After the last part, the epilogue is
/// read and discarded (so a keep-alive connection is ready for its next
/// request) and `next_part` returns `None`.
///
/// Limits from [`FormConfig`]: `max_body_size` (every byte read, preamble
/// and epilogue included), `max_num_fields` (parts) and `max_header_size`
/// (one part's header section). The sizes of part bodies are the caller's to
/// bound, as it reads them ([`Part::copy_to`] and [`Part::read_text`] do).
///
/// Errors: a limit gives [`FormError::TooLarge`] (413); a body that breaks
/// the syntax, including one that ends before its close delimiter, gives
/// [`FormError::Malformed`] (400); a failed read of the source gives
/// [`FormError::Io`]. After an error the reader yields no more parts.
///
/// ```
/// use basehttp::form::{FormConfig, MultipartReader};
/// use std::io::Read;
///
/// let body = b"--b\r\n\
///     Content-Disposition: form-data; name=\"greeting\"\r\n\r\n\
///     hello\r\n\
///     --b\r\n\
///     Content-Disposition: form-data; name=\"upload\"; filename=\"big.bin\"\r\n\r\n\
///     0123456789\r\n\
///     --b--\r\n";
/// let mut reader = MultipartReader::new(&body[..], "b", &FormConfig::default())?;
/// let mut seen = Vec::new();
/// while let Some(mut part) = reader.next_part()? {
///     if part.headers().is_file() {
///         // Streamed: count the bytes without keeping them.
///         let size = std::io::copy(&mut part, &mut std::io::sink())?;
///         seen.push(format!("{} ({size} bytes)", part.headers().name()));
///     } else {
///         let mut text = String::new();
///         part.read_to_string(&mut text)?;
///         seen.push(format!("{}={text}", part.headers().name()));
///     }
/// }
/// assert_eq!(seen, ["greeting=hello", "upload (10 bytes)"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MultipartReader<R> {
    src: R,
    /// `--BOUNDARY`.
    dash_boundary: Vec<u8>,
    /// `NL--BOUNDARY`, known once the first boundary line is read.
    delimiter: Vec<u8>,
    finder: memmem::Finder<'static>,
    nl: &'static [u8],
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// Where the next delimiter search starts (everything in
    /// `pos..scan_from` holds no complete delimiter).
    scan_from: usize,
    eof: bool,
    state: State,
    /// Bytes read from `src`.
    read: u64,
    parts: usize,
    max_body_size: Option<u64>,
    max_parts: Option<usize>,
    max_header_size: usize,
    utf8: Utf8Policy,
}

impl<R: Read> MultipartReader<R> {
    /// A reader of `body`, whose parts are separated by `boundary` (the
    /// `boundary` parameter of the request's `Content-Type`; see
    /// [`FormKind::from_content_type`](super::FormKind::from_content_type)).
    /// Fails if the boundary is not 1 to 70 characters without line breaks.
    pub fn new(body: R, boundary: &str, config: &FormConfig) -> Result<Self, FormError> {
        check_boundary(boundary.as_bytes())?;
        let max_header_size = config.max_header_size.max(MIN_HEADER_SIZE);
        let size = BUFFER_SIZE.max(max_header_size + 2 * (MAX_BOUNDARY + 8) + MAX_PADDING);
        let mut dash_boundary = b"--".to_vec();
        dash_boundary.extend_from_slice(boundary.as_bytes());
        Ok(MultipartReader {
            src: body,
            finder: memmem::Finder::new(&dash_boundary).into_owned(),
            delimiter: dash_boundary.clone(),
            dash_boundary,
            nl: b"\r\n",
            buf: vec![0; size].into_boxed_slice(),
            pos: 0,
            end: 0,
            scan_from: 0,
            eof: false,
            state: State::Preamble,
            read: 0,
            parts: 0,
            max_body_size: config.max_body_size,
            max_parts: config.max_num_fields,
            max_header_size,
            utf8: config.utf8,
        })
    }

    /// The next part, or `None` after the last. Skips the rest of the
    /// previous part's body.
    pub fn next_part(&mut self) -> Result<Option<Part<'_, R>>, FormError> {
        let result = self.advance();
        if result.is_err() {
            self.state = State::Failed;
        }
        Ok(result?.map(|headers| Part {
            reader: self,
            headers,
        }))
    }

    /// Bytes read from the source so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// Gives back the source.
    pub fn into_inner(self) -> R {
        self.src
    }

    fn advance(&mut self) -> Result<Option<PartHeaders>, FormError> {
        loop {
            match self.state {
                State::Preamble => self.skip_preamble()?,
                State::Body => {
                    let mut scratch = [0u8; 8192];
                    while self.read_body(&mut scratch)? > 0 {}
                }
                State::Headers => {
                    self.parts += 1;
                    if let Some(max) = self.max_parts
                        && self.parts > max
                    {
                        return Err(FormError::too_large(Limit::NumFields, max as u64));
                    }
                    let headers = self.read_headers()?;
                    self.state = State::Body;
                    return Ok(Some(headers));
                }
                State::Done => {
                    self.drain_epilogue()?;
                    return Ok(None);
                }
                State::Failed => return Ok(None),
            }
        }
    }
}

/// One part of a multipart body: its [`headers`](Part::headers), and its
/// body through [`Read`] (which ends at the part's end).
///
/// Read errors carry a [`FormError`] inside the `io::Error`; convert with
/// `FormError::from` to get it back (the helpers here do that for you).
pub struct Part<'r, R> {
    reader: &'r mut MultipartReader<R>,
    headers: PartHeaders,
}

impl<R: Read> Part<'_, R> {
    /// The part's parsed header section.
    pub fn headers(&self) -> &PartHeaders {
        &self.headers
    }

    /// Copies the rest of the body to `w` in constant memory, failing with
    /// [`FormError::TooLarge`] once more than `max` bytes have come (the
    /// limit is [`Limit::File`] for a file part, [`Limit::Field`] otherwise).
    /// Returns the number of bytes copied.
    pub fn copy_to<W: Write + ?Sized>(
        &mut self,
        w: &mut W,
        max: Option<u64>,
    ) -> Result<u64, FormError> {
        let limit = if self.headers.is_file() {
            Limit::File
        } else {
            Limit::Field
        };
        let mut total = 0u64;
        let result = loop {
            // Straight from the reader's buffer: no copy of our own.
            let (start, n) = match self.reader.body_chunk(usize::MAX) {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break Ok(total),
                Err(e) => break Err(e),
            };
            total += n as u64;
            if let Some(max) = max
                && total > max
            {
                break Err(FormError::too_large(limit, max));
            }
            if let Err(e) = w.write_all(&self.reader.buf[start..start + n]) {
                break Err(e.into());
            }
        };
        if result.is_err() {
            self.reader.state = State::Failed;
        }
        result
    }

    /// Reads the rest of the body as text of at most `max` bytes, decoded
    /// with the reader's [`Utf8Policy`].
    pub fn read_text(&mut self, max: u64) -> Result<String, FormError> {
        let mut bytes = Vec::new();
        self.copy_to(&mut bytes, Some(max))?;
        let what = format!("the value of field {:?}", self.headers.name);
        self.reader.utf8.decode(Cow::Owned(bytes), &what)
    }
}

impl<R: Read> Read for Part<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let result = self.reader.read_body(out);
        if result.is_err() {
            self.reader.state = State::Failed;
        }
        Ok(result?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that gives its bytes in pieces of the sizes given, cycling.
    struct Chunked<'a> {
        data: &'a [u8],
        sizes: Vec<usize>,
        i: usize,
    }

    impl Read for Chunked<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let size = self.sizes[self.i % self.sizes.len()].max(1);
            self.i += 1;
            let n = size.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[derive(Debug, PartialEq)]
    struct Seen {
        name: String,
        filename: Option<String>,
        content_type: Option<String>,
        body: Vec<u8>,
    }

    fn parse_with<R: Read>(
        src: R,
        boundary: &str,
        config: &FormConfig,
    ) -> Result<Vec<Seen>, FormError> {
        let mut reader = MultipartReader::new(src, boundary, config)?;
        let mut seen = Vec::new();
        while let Some(mut part) = reader.next_part()? {
            let mut body = Vec::new();
            part.copy_to(&mut body, None)?;
            let h = part.headers();
            seen.push(Seen {
                name: h.name().to_owned(),
                filename: h.filename().map(str::to_owned),
                content_type: h.content_type().map(str::to_owned),
                body,
            });
        }
        Ok(seen)
    }

    fn parse(body: &[u8], boundary: &str) -> Result<Vec<Seen>, FormError> {
        parse_with(body, boundary, &FormConfig::default())
    }

    /// Parses `body` whole, then fed one byte at a time, then in pieces of
    /// every size up to 20, and checks all agree.
    fn parse_every_way(body: &[u8], boundary: &str) -> Result<Vec<Seen>, String> {
        let whole = parse(body, boundary).map_err(|e| e.to_string());
        for sizes in (1..=20)
            .map(|n| vec![n])
            .chain([vec![1, 7, 3], vec![64, 1, 2]])
        {
            let src = Chunked {
                data: body,
                sizes: sizes.clone(),
                i: 0,
            };
            let split =
                parse_with(src, boundary, &FormConfig::default()).map_err(|e| e.to_string());
            assert_eq!(
                format!("{whole:?}"),
                format!("{split:?}"),
                "pieces of {sizes:?} disagree for {:?}",
                String::from_utf8_lossy(body)
            );
        }
        whole
    }

    fn text(name: &str, body: &str) -> Seen {
        Seen {
            name: name.into(),
            filename: None,
            content_type: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn file(name: &str, filename: &str, ct: &str, body: &[u8]) -> Seen {
        Seen {
            name: name.into(),
            filename: Some(filename.into()),
            content_type: Some(ct.into()),
            body: body.to_vec(),
        }
    }

    const CD: &str = "Content-Disposition: form-data; name=";

    #[test]
    fn well_formed_bodies() {
        let table: Vec<(String, Vec<Seen>)> = vec![
            // The seed's curl request, shortened.
            (
                format!(
                    "--XX\r\n{CD}\"name\"\r\n\r\ndhellmann\r\n--XX\r\n{CD}\"foo\"\r\n\r\nbar\r\n\
                     --XX\r\n{CD}\"datafile\"; filename=\"get.py\"\r\nContent-Type: text/x-python\r\n\r\n\
                     print(1)\n\r\n--XX--\r\n"
                ),
                vec![
                    text("name", "dhellmann"),
                    text("foo", "bar"),
                    file("datafile", "get.py", "text/x-python", b"print(1)\n"),
                ],
            ),
            // Empty values, and a repeated name.
            (
                format!("--XX\r\n{CD}a\r\n\r\n\r\n--XX\r\n{CD}a\r\n\r\nx\r\n--XX--"),
                vec![text("a", ""), text("a", "x")],
            ),
            // No parts at all.
            ("--XX--\r\n".to_string(), vec![]),
            // A preamble and an epilogue are ignored.
            (
                format!(
                    "This is a preamble\r\n--XX\r\n{CD}a\r\n\r\n1\r\n--XX--\r\nepilogue\r\n--XX\r\n"
                ),
                vec![text("a", "1")],
            ),
            // Transport padding after the boundaries.
            (
                format!("--XX \t\r\n{CD}a\r\n\r\n1\r\n--XX  \r\n{CD}b\r\n\r\n2\r\n--XX--  \r\n"),
                vec![text("a", "1"), text("b", "2")],
            ),
            // Things that look like a delimiter inside data.
            (
                format!("--XX\r\n{CD}a\r\n\r\n--XX\r\n--XXY\r\n--X\r\n-\r\n\r\n--XX--"),
                vec![text("a", "--XX\r\n--XXY\r\n--X\r\n-\r\n")],
            ),
            // Bare LF line breaks throughout.
            (
                format!("--XX\n{CD}a\n\nline1\nline2\n--XX\n{CD}b\n\n\n--XX--\n"),
                vec![text("a", "line1\nline2"), text("b", "")],
            ),
            // Folded header line, header names in any case.
            (
                "--XX\r\ncontent-disposition: form-data;\r\n name=\"f\"; filename=\"a b.txt\"\r\n\
                 CONTENT-TYPE:text/plain\r\n\r\nhi\r\n--XX--\r\n"
                    .to_string(),
                vec![file("f", "a b.txt", "text/plain", b"hi")],
            ),
        ];
        for (body, expected) in table {
            let got =
                parse_every_way(body.as_bytes(), "XX").unwrap_or_else(|e| panic!("{body:?}: {e}"));
            assert_eq!(got, expected, "{body:?}");
        }
    }

    #[test]
    fn first_boundary_must_start_a_line() {
        let body = format!("x--XX\r\n{CD}a\r\n\r\n1\r\n--XX\r\n{CD}b\r\n\r\n2\r\n--XX--");
        assert_eq!(
            parse_every_way(body.as_bytes(), "XX").unwrap(),
            vec![text("b", "2")]
        );
    }

    #[test]
    fn boundary_prefix_split_at_every_position() {
        // The delimiter falls across two reads at every possible offset.
        let data: Vec<u8> = (0..300u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut body = format!("--bnd\r\n{CD}f; filename=\"d\"\r\n\r\n").into_bytes();
        body.extend_from_slice(&data);
        body.extend_from_slice(b"\r\n--bnd--\r\n");
        for first in 1..body.len() {
            let src = Chunked {
                data: &body,
                sizes: vec![first, body.len()],
                i: 0,
            };
            let got = parse_with(src, "bnd", &FormConfig::default()).unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].body, data, "first read of {first}");
        }
    }

    #[test]
    fn malformed_bodies_are_400() {
        let table: Vec<String> = vec![
            String::new(),
            "no boundary here".into(),
            // Missing final boundary.
            format!("--XX\r\n{CD}a\r\n\r\nvalue"),
            format!("--XX\r\n{CD}a\r\n\r\nvalue\r\n"),
            format!("--XX\r\n{CD}a\r\n\r\nvalue\r\n--XX"),
            format!("--XX\r\n{CD}a\r\n\r\nvalue\r\n--XX\r\n"),
            format!("--XX\r\n{CD}a\r\n\r\nvalue\r\n--XX-"),
            // Ends in the headers.
            format!("--XX\r\n{CD}a\r\n"),
            "--XX".into(),
            "--XX\r".into(),
            // No Content-Disposition, or not form-data, or no name.
            "--XX\r\nContent-Type: text/plain\r\n\r\nx\r\n--XX--".into(),
            "--XX\r\n\r\nx\r\n--XX--".into(),
            "--XX\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--XX--".into(),
            "--XX\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XX--".into(),
            // Header line without a colon; bad header name.
            format!("--XX\r\n{CD}a\r\nbogus\r\n\r\nx\r\n--XX--"),
            format!("--XX\r\n{CD}a\r\nBad Name: x\r\n\r\nx\r\n--XX--"),
            format!("--XX\r\n {CD}a\r\n\r\nx\r\n--XX--"),
        ];
        for body in table {
            match parse_every_way(body.as_bytes(), "XX") {
                Ok(got) => panic!("{body:?} parsed as {got:?}"),
                Err(e) => assert!(e.starts_with("malformed form data"), "{body:?}: {e}"),
            }
            let err = parse(body.as_bytes(), "XX").unwrap_err();
            assert_eq!(
                err.status(),
                Some(http::StatusCode::BAD_REQUEST),
                "{body:?}"
            );
        }
    }

    #[test]
    fn crlf_body_does_not_accept_bare_lf_delimiters() {
        // Decided by the first boundary line: CRLF, so "\n--XX" is data.
        let body = format!("--XX\r\n{CD}a\r\n\r\nx\n--XX\r\n--XX--");
        assert_eq!(
            parse_every_way(body.as_bytes(), "XX").unwrap(),
            vec![text("a", "x\n--XX")]
        );
    }

    #[test]
    fn limits() {
        let two = format!("--XX\r\n{CD}a\r\n\r\n1\r\n--XX\r\n{CD}b\r\n\r\n2\r\n--XX--\r\n");
        let config = FormConfig {
            max_num_fields: Some(1),
            ..FormConfig::default()
        };
        assert!(matches!(
            parse_with(two.as_bytes(), "XX", &config),
            Err(FormError::TooLarge {
                limit: Limit::NumFields,
                max: 1
            })
        ));
        let config = FormConfig {
            max_body_size: Some(two.len() as u64 - 1),
            ..FormConfig::default()
        };
        assert!(matches!(
            parse_with(two.as_bytes(), "XX", &config),
            Err(FormError::TooLarge {
                limit: Limit::Body,
                ..
            })
        ));
        let config = FormConfig {
            max_body_size: Some(two.len() as u64),
            ..FormConfig::default()
        };
        assert_eq!(parse_with(two.as_bytes(), "XX", &config).unwrap().len(), 2);

        // Part headers: exactly at the limit passes, one byte more fails.
        let filler = |n: usize| {
            format!(
                "--XX\r\n{CD}a\r\nX-Pad: {}\r\n\r\n1\r\n--XX--",
                "p".repeat(n)
            )
        };
        let config = FormConfig {
            max_header_size: 2000,
            ..FormConfig::default()
        };
        let header_len = |n: usize| format!("{CD}a\r\nX-Pad: {}", "p".repeat(n)).len();
        let n = 2000 - header_len(0);
        assert_eq!(header_len(n), 2000);
        assert!(parse_with(filler(n).as_bytes(), "XX", &config).is_ok());
        assert!(matches!(
            parse_with(filler(n + 1).as_bytes(), "XX", &config),
            Err(FormError::TooLarge {
                limit: Limit::PartHeader,
                max: 2000
            })
        ));
        // Endless headers with no blank line never buffer more than the limit.
        let endless = format!("--XX\r\n{CD}a\r\n{}", "X-A: b\r\n".repeat(100_000));
        assert!(matches!(
            parse_with(endless.as_bytes(), "XX", &config),
            Err(FormError::TooLarge {
                limit: Limit::PartHeader,
                ..
            })
        ));
    }

    #[test]
    fn copy_to_limits_a_part() {
        let body = format!("--XX\r\n{CD}f; filename=\"x\"\r\n\r\n12345\r\n--XX--");
        let mut reader =
            MultipartReader::new(body.as_bytes(), "XX", &FormConfig::default()).unwrap();
        let mut part = reader.next_part().unwrap().unwrap();
        let err = part.copy_to(&mut io::sink(), Some(4)).unwrap_err();
        assert!(matches!(
            err,
            FormError::TooLarge {
                limit: Limit::File,
                max: 4
            }
        ));
        // After an error, no more parts.
        assert!(reader.next_part().unwrap().is_none());

        let mut reader =
            MultipartReader::new(body.as_bytes(), "XX", &FormConfig::default()).unwrap();
        let mut part = reader.next_part().unwrap().unwrap();
        assert_eq!(part.copy_to(&mut io::sink(), Some(5)).unwrap(), 5);
    }

    #[test]
    fn unread_parts_are_skipped() {
        let big = "z".repeat(200_000);
        let body = format!("--XX\r\n{CD}a\r\n\r\n{big}\r\n--XX\r\n{CD}b\r\n\r\n2\r\n--XX--");
        let mut reader =
            MultipartReader::new(body.as_bytes(), "XX", &FormConfig::default()).unwrap();
        assert_eq!(reader.next_part().unwrap().unwrap().headers().name(), "a");
        let mut b = reader.next_part().unwrap().unwrap();
        assert_eq!(b.headers().name(), "b");
        assert_eq!(b.read_text(10).unwrap(), "2");
        assert!(reader.next_part().unwrap().is_none());
        assert_eq!(reader.bytes_read(), body.len() as u64);
    }

    #[test]
    fn large_body_in_constant_memory() {
        // 10 MiB through a reader whose buffer stays 64 KiB.
        struct Gen {
            left: usize,
            head: Vec<u8>,
            tail: &'static [u8],
        }
        impl Read for Gen {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                if !self.head.is_empty() {
                    let n = out.len().min(self.head.len());
                    out[..n].copy_from_slice(&self.head[..n]);
                    self.head.drain(..n);
                    return Ok(n);
                }
                if self.left > 0 {
                    let n = out.len().min(self.left);
                    out[..n].fill(b'\r');
                    self.left -= n;
                    return Ok(n);
                }
                let n = out.len().min(self.tail.len());
                out[..n].copy_from_slice(&self.tail[..n]);
                self.tail = &self.tail[n..];
                Ok(n)
            }
        }
        let size = 10 << 20;
        let src = Gen {
            left: size,
            head: format!("--XX\r\n{CD}f; filename=\"cr.bin\"\r\n\r\n").into_bytes(),
            tail: b"\r\n--XX--\r\n",
        };
        let mut reader = MultipartReader::new(src, "XX", &FormConfig::default()).unwrap();
        assert_eq!(reader.buf.len(), BUFFER_SIZE);
        let mut part = reader.next_part().unwrap().unwrap();
        assert_eq!(part.copy_to(&mut io::sink(), None).unwrap(), size as u64);
        assert!(reader.next_part().unwrap().is_none());
    }

    #[test]
    fn bad_boundaries() {
        for b in ["", &"x".repeat(71), "a\r\nb"] {
            assert!(MultipartReader::new(&b""[..], b, &FormConfig::default()).is_err());
        }
        assert!(MultipartReader::new(&b""[..], &"x".repeat(70), &FormConfig::default()).is_ok());
    }

    #[test]
    fn strict_utf8_in_names() {
        let body = b"--XX\r\nContent-Disposition: form-data; name=\"\xff\"\r\n\r\n1\r\n--XX--";
        let strict = FormConfig {
            utf8: Utf8Policy::Strict,
            ..FormConfig::default()
        };
        assert!(matches!(
            parse_with(&body[..], "XX", &strict),
            Err(FormError::InvalidUtf8 { .. })
        ));
        assert_eq!(parse(&body[..], "XX").unwrap()[0].name, "\u{fffd}");
    }
}
