//! `proto`: a pure HTTP/1.1 codec, with no I/O.
//!
//! Everything here works on byte slices, so it can be unit-tested with tables
//! of raw bytes and fuzzed without sockets:
//!
//! - [`HeadScanner`] finds the end of a request head in bytes as they arrive,
//!   enforcing the size limits line by line, and [`parse_head`] parses and
//!   validates a complete head (RFC 9112 §2–§7);
//! - [`ChunkedDecoder`] decodes a `Transfer-Encoding: chunked` body one step
//!   at a time (RFC 9112 §7.1);
//! - [`encode`] writes status lines, header fields and chunk framing, refusing
//!   any header that would split the response;
//! - [`parse_proxy_header`] reads the PROXY protocol header (versions 1 and
//!   2) that a load balancer sends before everything else, and
//!   [`forwarded_client`] the client address that trusted proxies name in
//!   `X-Forwarded-For` or `Forwarded`.
//!
//! Every protocol failure is one [`ProtoError`], and [`ProtoError::status`] is
//! the single place that turns it into a response status.

mod chunked;
pub mod encode;
mod forwarded;
mod head;
mod proxy;

pub use chunked::{Chunk, ChunkedDecoder, MAX_CHUNK_EXTENSIONS, MAX_TRAILER_SECTION};
pub use forwarded::{ForwardedHeader, ParseForwardedError, TrustedProxy, forwarded_client};
pub use head::{
    BodyFraming, HeadScanner, HeaderSpan, MAX_METHOD, RequestHead, TargetForm, is_token, parse_head,
};
pub use proxy::{
    MAX_PROXY_HEADER, MAX_V1_HEADER, MAX_V2_BLOCK, ProxyError, ProxyHeader, ProxyParse,
    V2_SIGNATURE, parse_proxy_header,
};

use http::StatusCode;
use std::fmt;

/// Longest request line accepted: 64 KiB. Longer gets 414 URI Too Long.
///
/// Browsers and proxies commonly cap URLs near 8–64 KiB; 64 KiB leaves room
/// for long query strings while bounding what one client can make us buffer.
/// Documented in INTERFACE.md's error table.
pub const MAX_REQUEST_LINE: usize = 64 * 1024;

/// Longest single header line accepted: 64 KiB. Longer gets 431.
///
/// Large cookies are the usual long header; 64 KiB is far beyond any browser's
/// cookie limit.
pub const MAX_HEADER_LINE: usize = 64 * 1024;

/// Most header lines accepted in one head: 100. More gets 431.
///
/// The same bound as Python's `http.client._MAXHEADERS`; it caps the work of
/// parsing a head and the size of the parsed header index.
pub const MAX_HEADERS: usize = 100;

/// Largest whole request head accepted (request line, headers, blank line):
/// 256 KiB. Larger gets 431.
pub const MAX_HEAD: usize = 256 * 1024;

/// The size limits applied to a request head.
///
/// The default is the constants of this module, which are the figures that
/// INTERFACE.md documents. Each bound is in bytes except `max_headers`, and
/// none may be disabled: a limit of `usize::MAX` is the way to say "as much as
/// memory allows".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line (method, target and version), without its line
    /// ending. Beyond it: 414. Default [`MAX_REQUEST_LINE`].
    pub max_request_line: usize,
    /// Longest header line, without its line ending. Beyond it: 431. Default
    /// [`MAX_HEADER_LINE`].
    pub max_header_line: usize,
    /// Most header lines. Beyond it: 431. Default [`MAX_HEADERS`].
    pub max_headers: usize,
    /// Largest whole head, from the first byte of the request line to the end
    /// of the blank line. Beyond it: 431. Default [`MAX_HEAD`].
    pub max_head: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: MAX_REQUEST_LINE,
            max_header_line: MAX_HEADER_LINE,
            max_headers: MAX_HEADERS,
            max_head: MAX_HEAD,
        }
    }
}

/// Why a request could not be understood. Each variant maps to exactly one
/// response status through [`ProtoError::status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtoError {
    /// The request line is not `method SP target SP version`.
    RequestLine,
    /// The method is not a token (RFC 9110 §9.1).
    Method,
    /// The method is longer than [`MAX_METHOD`], so longer than any method
    /// the server implements (501, RFC 9112 §3).
    MethodTooLong,
    /// The request target is empty, contains a forbidden byte, or has a form
    /// the method does not allow (RFC 9112 §3.2).
    Target,
    /// The request line is longer than [`Limits::max_request_line`] (414).
    TargetTooLong,
    /// The version is not `HTTP/DIGIT.DIGIT` (RFC 9112 §2.3).
    Version,
    /// The version is well formed but not HTTP/1.x (505).
    VersionNotSupported,
    /// A header line is malformed: an empty or invalid field name, whitespace
    /// before the colon (RFC 9112 §5.1), or a forbidden byte in a value.
    HeaderSyntax,
    /// A header line starts with whitespace: obsolete line folding, which a
    /// server must reject or unfold (RFC 9112 §5.2); we reject it.
    ObsFold,
    /// An HTTP/1.1 request has no `Host` header (RFC 9112 §3.2).
    MissingHost,
    /// More than one `Host` header, or a list of hosts (RFC 9112 §3.2).
    DuplicateHost,
    /// The `Host` value is not `uri-host [ ":" port ]` (RFC 9110 §7.2), e.g.
    /// it carries userinfo or a path, or it is empty where the request
    /// target has no authority of its own (RFC 9112 §3.2).
    BadHost,
    /// A `Content-Length` is not plain digits, overflows, or disagrees with
    /// another one (RFC 9112 §6.3 item 5).
    ContentLength,
    /// Both `Content-Length` and `Transfer-Encoding` are present, which is
    /// how request smuggling starts (RFC 9112 §6.1); we reject it.
    LengthAndTransferEncoding,
    /// `Transfer-Encoding` in an HTTP/1.0 request (RFC 9112 §6.1: the framing
    /// must be treated as faulty).
    TransferEncodingOnHttp10,
    /// `chunked` is present but is not the last coding, or appears twice
    /// (RFC 9112 §6.1, §6.3 item 4).
    ChunkedNotLast,
    /// A transfer coding other than `chunked` (501, RFC 9112 §6.1).
    UnsupportedTransferCoding,
    /// One header line is longer than [`Limits::max_header_line`] (431).
    HeaderLineTooLong,
    /// More header lines than [`Limits::max_headers`] (431).
    TooManyHeaders,
    /// The whole head is larger than [`Limits::max_head`] (431).
    HeadTooLarge,
    /// A chunk-size line is malformed (RFC 9112 §7.1).
    ChunkSize,
    /// A chunk size does not fit in 64 bits.
    ChunkSizeOverflow,
    /// A line in chunked framing ends without CR before its LF, or a chunk's
    /// data is not followed by CRLF (RFC 9112 §7.1).
    ChunkLineEnding,
    /// The chunk extensions of one chunk are larger than
    /// [`MAX_CHUNK_EXTENSIONS`], or malformed.
    ChunkExtension,
    /// The trailer section is larger than [`MAX_TRAILER_SECTION`], or one of
    /// its fields is malformed (RFC 9112 §7.1.2).
    Trailer,
    /// The request body is larger than the server's configured limit (413).
    BodyTooLarge,
}

impl ProtoError {
    /// The response status for this error: the one place where protocol
    /// errors become 400, 413, 414, 431, 501 or 505.
    pub fn status(self) -> StatusCode {
        use ProtoError::*;
        match self {
            TargetTooLong => StatusCode::URI_TOO_LONG,
            VersionNotSupported => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            HeaderLineTooLong | TooManyHeaders | HeadTooLarge => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            MethodTooLong | UnsupportedTransferCoding => StatusCode::NOT_IMPLEMENTED,
            BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RequestLine
            | Method
            | Target
            | Version
            | HeaderSyntax
            | ObsFold
            | MissingHost
            | DuplicateHost
            | BadHost
            | ContentLength
            | LengthAndTransferEncoding
            | TransferEncodingOnHttp10
            | ChunkedNotLast
            | ChunkSize
            | ChunkSizeOverflow
            | ChunkLineEnding
            | ChunkExtension
            | Trailer => StatusCode::BAD_REQUEST,
        }
    }

    /// A short message for the error page and the log, safe to show to the
    /// client (it never contains request bytes).
    pub fn message(self) -> &'static str {
        use ProtoError::*;
        match self {
            RequestLine => "Bad request syntax",
            Method => "Bad request method",
            MethodTooLong => "Unsupported method (longer than 32 bytes)",
            Target => "Bad request target",
            TargetTooLong => "Request line too long",
            Version => "Bad request version",
            VersionNotSupported => "Invalid HTTP version",
            HeaderSyntax => "Bad header syntax",
            ObsFold => "Obsolete line folding in header",
            MissingHost => "Missing Host header",
            DuplicateHost => "More than one Host header",
            BadHost => "Bad Host header (expected host or host:port)",
            ContentLength => "Bad Content-Length",
            LengthAndTransferEncoding => "Both Content-Length and Transfer-Encoding",
            TransferEncodingOnHttp10 => "Transfer-Encoding in an HTTP/1.0 request",
            ChunkedNotLast => "Transfer-Encoding: chunked is not the final coding",
            UnsupportedTransferCoding => "Unsupported transfer coding",
            HeaderLineTooLong => "Header line too long",
            TooManyHeaders => "Too many headers",
            HeadTooLarge => "Request head too large",
            ChunkSize => "Bad chunk size",
            ChunkSizeOverflow => "Chunk size too large",
            ChunkLineEnding => "Bad line ending in chunked body",
            ChunkExtension => "Bad chunk extension",
            Trailer => "Bad trailer section",
            BodyTooLarge => "Request body too large",
        }
    }
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message(), self.status().as_u16())
    }
}

impl std::error::Error for ProtoError {}

/// A byte repeated in every lane of a word, for word-at-a-time byte tests.
const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of every lane of a word.
const HIGHS: u64 = ONES * 0x80;

/// Whether any byte of `s` passes a test, eight bytes at a time (SWAR):
/// `word` is the test on a word of eight bytes (native order, so lanes may
/// come in either order, which an "any" test does not mind), `byte` the same
/// test on one byte for the last `s.len() % 8` bytes. The short strings of a
/// head (a target, a header value) are where a vectorized search's set-up
/// would cost more than this.
#[inline(always)]
fn any_byte(s: &[u8], word: impl Fn(u64) -> bool, byte: impl Fn(u8) -> bool) -> bool {
    let mut words = s.chunks_exact(8);
    for w in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(w);
        if word(u64::from_ne_bytes(bytes)) {
            return true;
        }
    }
    words.remainder().iter().any(|&b| byte(b))
}

/// Whether some lane of `w` is below `n` (at most 0x80): exact for "some
/// lane", though lanes above the first one found may be flagged too.
#[inline(always)]
fn has_less(w: u64, n: u8) -> bool {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS != 0
}

/// Whether some lane of `w` is above `n` (at most 0x7f): the `| w` catches
/// lanes with the high bit already set, which may carry into the next.
#[inline(always)]
fn has_more(w: u64, n: u8) -> bool {
    (w.wrapping_add(ONES * u64::from(0x7f - n)) | w) & HIGHS != 0
}
