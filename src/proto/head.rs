//! Request heads: finding where one ends, then parsing and validating it.
//!
//! A head is a request line, header lines, and an empty line (RFC 9112 §2.1).
//! Finding its end and parsing it are separate steps: [`HeadScanner`] looks at
//! each byte once as the bytes arrive (so a client sending one byte at a time
//! costs linear work) and enforces the size limits while doing so; only a
//! complete head goes to [`parse_head`].

use super::{Limits, ProtoError, any_byte, has_less, has_more};
use http::Version;
use memchr::memchr;
use std::net::Ipv6Addr;

/// Longest method accepted: 32 bytes. Longer gets 501 Not Implemented.
///
/// RFC 9112 §3: "A server that receives a method longer than any that it
/// implements SHOULD respond with a 501". The longest registered methods
/// (`UPDATEREDIRECTREF`, `BASELINE-CONTROL`) are under 20 bytes; 32 leaves
/// room for extension methods a handler's fallback may serve. Documented in
/// INTERFACE.md's error table.
pub const MAX_METHOD: usize = 32;

/// Finds the end of a request head in a growing buffer.
///
/// Call [`scan`](HeadScanner::scan) with the whole buffered input each time
/// more bytes arrive; it resumes where it stopped. "Need more bytes" is
/// `Ok(None)`, not an error.
#[derive(Debug, Default, Clone)]
pub struct HeadScanner {
    /// Bytes already examined.
    pos: usize,
    /// Start of the line being scanned.
    line_start: usize,
    /// Start of the request line, after any empty lines that precede it.
    head_start: usize,
    /// Lines seen so far: 0 before the request line is complete.
    lines: usize,
}

impl HeadScanner {
    /// A scanner at the start of a head.
    pub fn new() -> Self {
        Self::default()
    }

    /// Examines `buf`, the input from the start of the head, and returns the
    /// head's extent once its final empty line has arrived: `(start, end)`,
    /// where `start` skips empty lines before the request line (RFC 9112 §2.2
    /// says a server should ignore at least one) and `end` is just past the
    /// head's last LF.
    ///
    /// Errors as soon as a limit is crossed, even if the head is incomplete:
    /// a request line longer than `max_request_line` is
    /// [`ProtoError::TargetTooLong`] (or [`ProtoError::MethodTooLong`] if
    /// its first [`MAX_METHOD`] + 1 bytes hold no space); a longer header
    /// line, too many of them, or a whole head over `max_head` are 431
    /// errors.
    pub fn scan(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<(usize, usize)>, ProtoError> {
        loop {
            let Some(i) = memchr(b'\n', &buf[self.pos..]) else {
                self.pos = buf.len();
                // A CR at the very end may be the first half of the line's
                // CRLF: it does not count towards the line's length.
                let unfinished = &buf[self.line_start..];
                let len = unfinished.len() - usize::from(unfinished.ends_with(b"\r"));
                self.check_line(buf, len, limits)?;
                if buf.len() - self.head_start > limits.max_head {
                    return Err(ProtoError::HeadTooLarge);
                }
                return Ok(None);
            };
            let lf = self.pos + i;
            let mut len = lf - self.line_start;
            if len > 0 && buf[lf - 1] == b'\r' {
                len -= 1;
            }
            self.pos = lf + 1;
            if lf + 1 - self.head_start > limits.max_head {
                return Err(ProtoError::HeadTooLarge);
            }
            if len == 0 {
                if self.lines == 0 {
                    // An empty line before the request line: skip it.
                    self.line_start = self.pos;
                    self.head_start = self.pos;
                    continue;
                }
                return Ok(Some((self.head_start, self.pos)));
            }
            self.check_line(buf, len, limits)?;
            self.lines += 1;
            if self.lines - 1 > limits.max_headers {
                return Err(ProtoError::TooManyHeaders);
            }
            self.line_start = self.pos;
        }
    }

    /// Bytes at the start of the buffer that are empty lines already skipped:
    /// a caller may drop them.
    pub fn skipped(&self) -> usize {
        self.head_start
    }

    /// Checks the line at `line_start` in `buf`, `len` bytes long without
    /// its line ending (so far, if it has not ended).
    fn check_line(&self, buf: &[u8], len: usize, limits: &Limits) -> Result<(), ProtoError> {
        if self.lines == 0 {
            if len > limits.max_request_line {
                let line = buf.get(self.line_start..self.line_start + len);
                return Err(request_line_too_long(line.unwrap_or_default()));
            }
        } else if len > limits.max_header_line {
            return Err(ProtoError::HeaderLineTooLong);
        }
        Ok(())
    }
}

/// The error for a request line over the limit: 414 names the target, so a
/// line that is too long because of its method gets the method's 501 instead
/// (RFC 9112 §3). Only the error path pays for the look at the method.
fn request_line_too_long(line: &[u8]) -> ProtoError {
    let method = &line[..line.len().min(MAX_METHOD + 1)];
    if method.len() > MAX_METHOD && memchr(b' ', method).is_none() {
        ProtoError::MethodTooLong
    } else {
        ProtoError::TargetTooLong
    }
}

/// The form of a request target (RFC 9112 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`: the usual form.
    Origin,
    /// `http://host/path`: sent to proxies, and accepted by servers.
    Absolute,
    /// `host:port`: only with `CONNECT`.
    Authority,
    /// `*`: only with `OPTIONS`, meaning the server as a whole.
    Asterisk,
}

/// How the request body is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// Exactly this many bytes follow the head (`Content-Length`, or 0 when
    /// neither framing header is present).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Where one header field lies in the head: byte offsets of its name and of
/// its value (without surrounding whitespace).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderSpan {
    /// Offset and length of the field name.
    pub name: (u32, u32),
    /// Offset and length of the field value.
    pub value: (u32, u32),
}

impl HeaderSpan {
    /// The name's bytes in `head`.
    pub fn name<'b>(&self, head: &'b [u8]) -> &'b [u8] {
        &head[self.name.0 as usize..(self.name.0 + self.name.1) as usize]
    }

    /// The value's bytes in `head`.
    pub fn value<'b>(&self, head: &'b [u8]) -> &'b [u8] {
        &head[self.value.0 as usize..(self.value.0 + self.value.1) as usize]
    }
}

/// A parsed and validated request head, borrowing the head's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead<'b> {
    /// The method, e.g. `GET`: a token, case-sensitive.
    pub method: &'b str,
    /// The request target exactly as sent, e.g. `/?foo=bar`.
    pub target: &'b str,
    /// Which of the four forms the target has.
    pub target_form: TargetForm,
    /// The version exactly as sent, e.g. `HTTP/1.1`.
    pub version_text: &'b str,
    /// The version spoken: `HTTP/1.0`, or `HTTP/1.1` for any other `1.x`.
    pub version: Version,
    /// The whole request line, without its line ending.
    pub request_line: &'b str,
    /// How the body is delimited.
    pub body: BodyFraming,
    /// The client sent `Connection: close`.
    pub connection_close: bool,
    /// The client sent `Connection: keep-alive`.
    pub connection_keep_alive: bool,
    /// An HTTP/1.1 client sent `Expect: 100-continue` (RFC 9110 §10.1.1;
    /// ignored from HTTP/1.0 clients as that section requires).
    pub expect_continue: bool,
}

/// Parses and validates a complete head: `head` runs from the first byte of
/// the request line to just past the final empty line, as [`HeadScanner`]
/// reports. The header fields are appended to `headers` as spans into `head`
/// (cleared first), so a reused vector makes parsing allocation-free.
pub fn parse_head<'b>(
    head: &'b [u8],
    headers: &mut Vec<HeaderSpan>,
    limits: &Limits,
) -> Result<RequestHead<'b>, ProtoError> {
    headers.clear();
    let lf = memchr(b'\n', head).ok_or(ProtoError::RequestLine)?;
    let line = head[..lf].strip_suffix(b"\r").unwrap_or(&head[..lf]);
    if line.len() > limits.max_request_line {
        return Err(request_line_too_long(line));
    }
    let mut head_out = parse_request_line(line)?;
    parse_fields(&head[lf + 1..], lf + 1, headers, limits)?;
    apply_fields(&mut head_out, head, headers)?;
    Ok(head_out)
}

/// `method SP request-target SP HTTP-version` (RFC 9112 §3), with single
/// spaces: the strict reading, as other whitespace invites smuggling.
fn parse_request_line(line: &[u8]) -> Result<RequestHead<'_>, ProtoError> {
    let text = std::str::from_utf8(line).map_err(|_| ProtoError::RequestLine)?;
    // Exactly two spaces: the method and the version contain none, and the
    // target is checked below to contain none either.
    let first = memchr(b' ', line).ok_or(ProtoError::RequestLine)?;
    let last = memchr::memrchr(b' ', line).ok_or(ProtoError::RequestLine)?;
    if first == last {
        return Err(ProtoError::RequestLine);
    }
    let (method, target, version_text) =
        (&text[..first], &text[first + 1..last], &text[last + 1..]);
    if target.as_bytes().contains(&b' ') {
        return Err(ProtoError::RequestLine);
    }
    if !is_token(method.as_bytes()) {
        return Err(ProtoError::Method);
    }
    // RFC 9112 §3: a method longer than any the server implements is 501.
    if method.len() > MAX_METHOD {
        return Err(ProtoError::MethodTooLong);
    }
    let version = parse_version(version_text.as_bytes())?;
    let target_form = classify_target(method, target.as_bytes())?;
    Ok(RequestHead {
        method,
        target,
        target_form,
        version_text,
        version,
        request_line: text,
        body: BodyFraming::Length(0),
        connection_close: false,
        connection_keep_alive: false,
        expect_continue: false,
    })
}

/// `HTTP-version = "HTTP/" DIGIT "." DIGIT` (RFC 9112 §2.3). Any 1.x other than
/// 1.0 is answered as 1.1 (the highest minor version we speak, §2.3); other
/// majors are 505.
fn parse_version(v: &[u8]) -> Result<Version, ProtoError> {
    match v {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            match (major, minor) {
                (b'1', b'0') => Ok(Version::HTTP_10),
                (b'1', _) => Ok(Version::HTTP_11),
                _ => Err(ProtoError::VersionNotSupported),
            }
        }
        _ => Err(ProtoError::Version),
    }
}

/// Checks the target's bytes and decides its form (RFC 9112 §3.2): `*` only
/// for OPTIONS, authority-form only (and always) for CONNECT.
fn classify_target(method: &str, t: &[u8]) -> Result<TargetForm, ProtoError> {
    // RFC 3986 §2.1, §2.4 (a request-target is URI syntax, RFC 9112 §3.2):
    // visible ASCII only; a space, a control or a byte >= 0x80 must be
    // percent-encoded, so a raw one is refused, not guessed at.
    if t.is_empty() || !is_visible_ascii(t) {
        return Err(ProtoError::Target);
    }
    if method == "CONNECT" {
        return if is_authority(t) {
            Ok(TargetForm::Authority)
        } else {
            Err(ProtoError::Target)
        };
    }
    match t {
        [b'/', ..] => Ok(TargetForm::Origin),
        b"*" if method == "OPTIONS" => Ok(TargetForm::Asterisk),
        _ if is_absolute(t) => Ok(TargetForm::Absolute),
        _ => Err(ProtoError::Target),
    }
}

/// Whether every byte is `VCHAR` (%x21-7E, RFC 5234 Appendix B.1). The
/// one pass over the target: eight bytes per step, about as many
/// instructions per word as the byte-at-a-time loop spent per byte.
fn is_visible_ascii(t: &[u8]) -> bool {
    !any_byte(
        t,
        |w| has_less(w, 0x21) | has_more(w, 0x7e),
        |b| !(0x21..=0x7e).contains(&b),
    )
}

/// `scheme ":" hier-part`, with a scheme of `ALPHA *( ALPHA / DIGIT / "+" /
/// "-" / "." )` (RFC 3986 §3.1) followed by `//` and an authority.
fn is_absolute(t: &[u8]) -> bool {
    let Some(colon) = t.iter().position(|&b| b == b':') else {
        return false;
    };
    let scheme = &t[..colon];
    !scheme.is_empty()
        && scheme[0].is_ascii_alphabetic()
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
        && t[colon + 1..].starts_with(b"//")
        && t.len() > colon + 3
}

/// `authority-form = uri-host ":" port` (RFC 9112 §3.2.3).
fn is_authority(t: &[u8]) -> bool {
    let Some(colon) = t.iter().rposition(|&b| b == b':') else {
        return false;
    };
    let (host, port) = (&t[..colon], &t[colon + 1..]);
    !host.is_empty()
        && !port.is_empty()
        && port.iter().all(u8::is_ascii_digit)
        && !host
            .iter()
            .any(|&b| b == b'/' || b == b'?' || b == b'#' || b == b'@')
}

/// `token = 1*tchar` (RFC 9110 §5.6.2).
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| TCHAR[usize::from(b)])
}

/// Whether `b` is a `tchar` (RFC 9110 §5.6.2), for the chunk extensions.
pub(super) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// `tchar` (RFC 9110 §5.6.2) by byte value: one load per byte.
static TCHAR: [bool; 256] = byte_set(b"!#$%&'*+-.^_`|~");

/// `unreserved / sub-delims` (RFC 3986 §2.3, §2.2): the bytes a `reg-name`
/// may hold as they are, but `,`: in a Host value a comma makes a list of
/// hosts, which is reported as [`ProtoError::DuplicateHost`].
static REG_NAME: [bool; 256] = byte_set(b"-._~!$&'()*+;=");

/// A table of the ASCII letters and digits plus `extra`, by byte value.
const fn byte_set(extra: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}

/// The `uri-host` of a `Host` value, if the value is `uri-host [ ":" port ]`
/// (RFC 9110 §7.2): `uri-host` is RFC 3986's `host` (§3.2.2) and `port` is
/// `*DIGIT` (§3.2.3), so an empty port is allowed but userinfo, a path, a
/// query or whitespace is not, nor a comma (see [`REG_NAME`]). The host
/// itself may be empty (`reg-name` is `*(...)`): whether that will do is the
/// caller's question.
fn host_of(v: &[u8]) -> Option<&[u8]> {
    // One table lookup per byte over the usual host (letters, digits, dots,
    // hyphens) up to the first other byte: the end, the port's colon, or a
    // `%` or `[` that the slower checks below take over.
    let plain = v
        .iter()
        .position(|&b| !REG_NAME[usize::from(b)])
        .unwrap_or(v.len());
    let end = match v.get(plain) {
        None | Some(b':') => plain,
        Some(b'%') => {
            let end = plain + memchr(b':', &v[plain..]).unwrap_or(v.len() - plain);
            if !is_reg_name(&v[plain..end]) {
                return None;
            }
            end
        }
        // IP-literal = "[" ( IPv6address / IPvFuture ) "]"
        Some(b'[') if plain == 0 => {
            let close = 1 + memchr(b']', &v[1..])?;
            if !is_ip_literal(&v[1..close]) {
                return None;
            }
            close + 1
        }
        _ => return None,
    };
    let (host, port) = v.split_at(end);
    match port {
        [] => Some(host),
        [b':', digits @ ..] if digits.iter().all(u8::is_ascii_digit) => Some(host),
        _ => None,
    }
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )` (RFC 3986
/// §3.2.2), whose syntax also covers `IPv4address`.
fn is_reg_name(h: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = h.get(i) {
        if b == b'%' {
            // pct-encoded = "%" HEXDIG HEXDIG (RFC 3986 §2.1)
            let Some([hi, lo]) = h.get(i + 1..i + 3) else {
                return false;
            };
            if !hi.is_ascii_hexdigit() || !lo.is_ascii_hexdigit() {
                return false;
            }
            i += 3;
        } else if REG_NAME[usize::from(b)] {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// What lies between the brackets of an `IP-literal` (RFC 3986 §3.2.2).
fn is_ip_literal(l: &[u8]) -> bool {
    match l {
        // IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
        // (ABNF literals are case-insensitive: "V" too).
        [b'v' | b'V', rest @ ..] => {
            let Some(dot) = memchr(b'.', rest) else {
                return false;
            };
            let (version, address) = (&rest[..dot], &rest[dot + 1..]);
            !version.is_empty()
                && version.iter().all(u8::is_ascii_hexdigit)
                && !address.is_empty()
                && address
                    .iter()
                    .all(|&b| b == b':' || REG_NAME[usize::from(b)])
        }
        // IPv6address: the standard library parses RFC 4291 §2.2 text, the
        // grammar RFC 3986 spells out (no zone identifier).
        _ => std::str::from_utf8(l).is_ok_and(|s| s.parse::<Ipv6Addr>().is_ok()),
    }
}

/// Parses the header lines with httparse, then applies the checks it leaves to
/// us. `base` is the offset of `block` in the head, for the spans.
fn parse_fields(
    block: &[u8],
    base: usize,
    headers: &mut Vec<HeaderSpan>,
    limits: &Limits,
) -> Result<(), ProtoError> {
    // RFC 9112 §5.2: obs-fold, a line starting with SP or HTAB, must be
    // rejected or unfolded by a server; httparse would call it a bad name.
    // One pass over the line starts.
    let mut lines = 0;
    for i in std::iter::once(0).chain(memchr::memchr_iter(b'\n', block).map(|i| i + 1)) {
        if matches!(block.get(i), Some(b' ' | b'\t')) {
            return Err(ProtoError::ObsFold);
        }
        lines += 1;
    }
    let max = limits.max_headers.min(super::MAX_HEADERS);
    // Filling httparse's array costs a store per entry: the usual head
    // (fewer than 16 lines, so fewer fields) gets a small one.
    if lines <= 16 {
        let mut raw = [httparse::EMPTY_HEADER; 16];
        collect_fields(block, base, &mut raw[..max.min(16)], headers, max < 16)
    } else {
        let mut raw = [httparse::EMPTY_HEADER; super::MAX_HEADERS];
        collect_fields(block, base, &mut raw[..max], headers, true)
    }
}

/// Runs httparse over the header lines with room for `raw.len()` fields
/// (`at_limit`: that room is the configured limit), and records each
/// field's span after the checks httparse leaves to us.
fn collect_fields<'b>(
    block: &'b [u8],
    base: usize,
    raw: &mut [httparse::Header<'b>],
    headers: &mut Vec<HeaderSpan>,
    at_limit: bool,
) -> Result<(), ProtoError> {
    let parsed = match httparse::parse_headers(block, raw) {
        Ok(httparse::Status::Complete((_, parsed))) => parsed,
        Ok(httparse::Status::Partial) => return Err(ProtoError::HeaderSyntax),
        Err(httparse::Error::TooManyHeaders) if at_limit => {
            return Err(ProtoError::TooManyHeaders);
        }
        Err(_) => return Err(ProtoError::HeaderSyntax),
    };
    let origin = block.as_ptr() as usize;
    for h in parsed.iter() {
        // httparse accepts obs-text in values; it rejects CTLs other than
        // HTAB, but check NUL, CR and LF here ourselves (RFC 9110 §5.5), as
        // they are what response splitting and smuggling are built from.
        if h.value.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n') {
            return Err(ProtoError::HeaderSyntax);
        }
        let name = (h.name.as_ptr() as usize - origin + base) as u32;
        let value = (h.value.as_ptr() as usize - origin + base) as u32;
        headers.push(HeaderSpan {
            name: (name, h.name.len() as u32),
            value: (value, h.value.len() as u32),
        });
    }
    Ok(())
}

/// The header fields that change how a request is read: `Host`,
/// `Content-Length`, `Transfer-Encoding`, `Connection`, `Expect`.
fn apply_fields(
    out: &mut RequestHead<'_>,
    head: &[u8],
    headers: &[HeaderSpan],
) -> Result<(), ProtoError> {
    let mut hosts = 0;
    let mut host: &[u8] = b"";
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut codings = 0;
    for h in headers {
        let name = h.name(head);
        let value = h.value(head);
        if name.eq_ignore_ascii_case(b"host") {
            hosts += 1;
            // RFC 9112 §3.2: 400 for "a Host header field with an invalid
            // field value" (RFC 9110 §7.2), or for a list of hosts (found
            // here, on the error path, so a good value is read only once).
            host = host_of(value).ok_or_else(|| {
                if value.contains(&b',') {
                    ProtoError::DuplicateHost
                } else {
                    ProtoError::BadHost
                }
            })?;
        } else if name.eq_ignore_ascii_case(b"content-length") {
            // RFC 9110 §8.6: a list of identical values may be accepted as
            // one; anything else is an unrecoverable framing error.
            for item in value.split(|&b| b == b',') {
                let n = parse_content_length(trim(item))?;
                if length.is_some_and(|l| l != n) {
                    return Err(ProtoError::ContentLength);
                }
                length = Some(n);
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            for item in value.split(|&b| b == b',') {
                let coding = trim(item);
                if coding.is_empty() {
                    continue;
                }
                codings += 1;
                if chunked {
                    // Something after chunked, or chunked twice.
                    return Err(ProtoError::ChunkedNotLast);
                }
                if coding.eq_ignore_ascii_case(b"chunked") {
                    chunked = true;
                }
            }
            if codings == 0 {
                return Err(ProtoError::HeaderSyntax);
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            for item in value.split(|&b| b == b',') {
                let option = trim(item);
                if option.eq_ignore_ascii_case(b"close") {
                    out.connection_close = true;
                } else if option.eq_ignore_ascii_case(b"keep-alive") {
                    out.connection_keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"expect")
            && trim(value).eq_ignore_ascii_case(b"100-continue")
            && out.version == Version::HTTP_11
        {
            out.expect_continue = true;
        }
    }
    match hosts {
        0 if out.version == Version::HTTP_11 => return Err(ProtoError::MissingHost),
        0 | 1 => {}
        _ => return Err(ProtoError::DuplicateHost),
    }
    // RFC 9112 §3.2: an HTTP/1.1 client sends the target URI's authority as
    // Host. In origin-form and asterisk-form the Host is that authority
    // (§3.3), and an "http" or "https" URI's host is never empty (RFC 9110
    // §4.2.1, §4.2.2), so an empty one is invalid there. Absolute-form and
    // authority-form carry their own authority, which the server uses
    // instead of Host (§3.2.2, §3.3): there an empty Host is left alone.
    // HTTP/1.0 needs no Host at all, so an empty one counts as none.
    if host.is_empty()
        && hosts == 1
        && out.version == Version::HTTP_11
        && matches!(out.target_form, TargetForm::Origin | TargetForm::Asterisk)
    {
        return Err(ProtoError::BadHost);
    }
    if codings > 0 {
        if out.version == Version::HTTP_10 {
            return Err(ProtoError::TransferEncodingOnHttp10);
        }
        if length.is_some() {
            return Err(ProtoError::LengthAndTransferEncoding);
        }
        if !chunked || codings > 1 {
            // A coding we do not implement, alone or before chunked.
            return Err(ProtoError::UnsupportedTransferCoding);
        }
        out.body = BodyFraming::Chunked;
    } else {
        out.body = BodyFraming::Length(length.unwrap_or(0));
    }
    Ok(())
}

/// `Content-Length = 1*DIGIT` (RFC 9110 §8.6): no sign, no spaces inside, no
/// overflow.
fn parse_content_length(v: &[u8]) -> Result<u64, ProtoError> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return Err(ProtoError::ContentLength);
    }
    v.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or(ProtoError::ContentLength)
    })
}

/// Strips optional whitespace (SP and HTAB) from both ends.
pub(super) fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |e| e + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{MAX_HEADERS, MAX_REQUEST_LINE};

    fn parse(raw: &[u8]) -> Result<RequestHead<'_>, ProtoError> {
        let mut spans = Vec::new();
        parse_head(raw, &mut spans, &Limits::default())
    }

    fn scan_all(raw: &[u8], limits: &Limits) -> Result<Option<(usize, usize)>, ProtoError> {
        HeadScanner::new().scan(raw, limits)
    }

    /// Parses each named head and checks its error (`None`: accepted).
    fn assert_parses(cases: &[(&str, &[u8], Option<ProtoError>)]) {
        for (name, raw, want) in cases {
            assert_eq!(parse(raw).err(), *want, "{name}");
        }
    }

    #[test]
    fn accepted_request_lines() {
        let cases: &[(&[u8], &str, &str, Version, TargetForm)] = &[
            (
                b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
                "GET",
                "/",
                Version::HTTP_11,
                TargetForm::Origin,
            ),
            (
                b"GET /?foo=bar HTTP/1.0\r\n\r\n",
                "GET",
                "/?foo=bar",
                Version::HTTP_10,
                TargetForm::Origin,
            ),
            (
                b"GET / HTTP/1.9\r\nHost: a\r\n\r\n",
                "GET",
                "/",
                Version::HTTP_11,
                TargetForm::Origin,
            ),
            (
                b"GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n",
                "GET",
                "http://a/b",
                Version::HTTP_11,
                TargetForm::Absolute,
            ),
            (
                b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
                "OPTIONS",
                "*",
                Version::HTTP_11,
                TargetForm::Asterisk,
            ),
            (
                b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
                "CONNECT",
                "a.example:443",
                Version::HTTP_11,
                TargetForm::Authority,
            ),
            (
                b"CONNECT [::1]:443 HTTP/1.1\r\nHost: a\r\n\r\n",
                "CONNECT",
                "[::1]:443",
                Version::HTTP_11,
                TargetForm::Authority,
            ),
            (
                b"SPAM /x HTTP/1.1\r\nHost: a\r\n\r\n",
                "SPAM",
                "/x",
                Version::HTTP_11,
                TargetForm::Origin,
            ),
            (
                b"M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n",
                "M-SEARCH",
                "*",
                Version::HTTP_11,
                TargetForm::Origin,
            ),
            // Bare LF line endings (RFC 9112 §2.2 allows a recipient to accept them in the head).
            (
                b"GET / HTTP/1.1\nHost: a\n\n",
                "GET",
                "/",
                Version::HTTP_11,
                TargetForm::Origin,
            ),
        ];
        for (raw, method, target, version, form) in cases {
            let head = match parse(raw) {
                Ok(h) => h,
                Err(e) if *method == "M-SEARCH" => {
                    // "*" is only for OPTIONS.
                    assert_eq!(e, ProtoError::Target);
                    continue;
                }
                Err(e) => panic!("{:?}: {e}", String::from_utf8_lossy(raw)),
            };
            assert_eq!(head.method, *method);
            assert_eq!(head.target, *target);
            assert_eq!(head.version, *version);
            assert_eq!(head.target_form, *form, "{}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn rejected_request_lines() {
        use ProtoError::*;
        let cases: &[(&[u8], ProtoError)] = &[
            (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", RequestLine),
            (b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", RequestLine),
            (b"GET /\r\n\r\n", RequestLine),
            (b"GET\r\n\r\n", RequestLine),
            (b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", RequestLine),
            (b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", Method),
            (b" / HTTP/1.1\r\nHost: a\r\n\r\n", Method),
            (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", VersionNotSupported),
            (b"GET / HTTP/3.0\r\nHost: a\r\n\r\n", VersionNotSupported),
            (b"GET / HTTP/0.9\r\nHost: a\r\n\r\n", VersionNotSupported),
            (b"GET / HTTP/1.10\r\nHost: a\r\n\r\n", Version),
            (b"GET / HTTP/1\r\nHost: a\r\n\r\n", Version),
            (b"GET / http/1.1\r\nHost: a\r\n\r\n", Version),
            (b"GET / HTTP/1.x\r\nHost: a\r\n\r\n", Version),
            (b"GET / FOO\r\nHost: a\r\n\r\n", Version),
            (b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", Target),
            (b"GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", Target),
            (b"GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n", Target),
            (b"GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n", Target),
            (b"GET http:/x HTTP/1.1\r\nHost: a\r\n\r\n", Target),
            (b"CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", Target),
            (b"CONNECT a.example HTTP/1.1\r\nHost: a\r\n\r\n", Target),
            (b"CONNECT a.example:x HTTP/1.1\r\nHost: a\r\n\r\n", Target),
            (b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n", RequestLine),
        ];
        for (raw, want) in cases {
            assert_eq!(
                parse(raw).err(),
                Some(*want),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn header_fields_are_indexed_in_order() {
        let raw = b"GET / HTTP/1.1\r\nHost: example.com\r\nX-A:  one \r\nx-a:two\r\nEmpty:\r\n\r\n";
        let mut spans = Vec::new();
        parse_head(raw, &mut spans, &Limits::default()).unwrap();
        let pairs: Vec<(&[u8], &[u8])> =
            spans.iter().map(|s| (s.name(raw), s.value(raw))).collect();
        assert_eq!(
            pairs,
            [
                (&b"Host"[..], &b"example.com"[..]),
                (b"X-A", b"one"),
                (b"x-a", b"two"),
                (b"Empty", b""),
            ]
        );
    }

    #[test]
    fn rejected_header_fields() {
        use ProtoError::*;
        let cases: &[(&[u8], ProtoError)] = &[
            (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", HeaderSyntax),
            (b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", HeaderSyntax),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n",
                HeaderSyntax,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nBad[Name]: x\r\n\r\n",
                HeaderSyntax,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
                HeaderSyntax,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
                HeaderSyntax,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
                HeaderSyntax,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n",
                HeaderSyntax,
            ),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", ObsFold),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", ObsFold),
            (b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", ObsFold),
            (b"GET / HTTP/1.1\r\n\r\n", MissingHost),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                DuplicateHost,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
                DuplicateHost,
            ),
            (b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", DuplicateHost),
        ];
        for (raw, want) in cases {
            assert_eq!(
                parse(raw).err(),
                Some(*want),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn obs_text_in_a_value_is_accepted() {
        let raw = b"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n";
        assert!(parse(raw).is_ok());
    }

    #[test]
    fn http10_needs_no_host() {
        assert!(parse(b"GET / HTTP/1.0\r\n\r\n").is_ok());
    }

    /// `GET / HTTP/1.1` with this one Host value.
    fn parse_host(value: &[u8]) -> Result<(), ProtoError> {
        let raw = [b"GET / HTTP/1.1\r\nHost: ", value, b"\r\n\r\n"].concat();
        parse(&raw).map(|_| ())
    }

    #[test]
    fn accepted_host_values() {
        let cases: &[(&str, &[u8])] = &[
            ("reg-name", b"example.com"),
            ("reg-name and port", b"example.com:8080"),
            ("empty port (port = *DIGIT)", b"example.com:"),
            ("one-letter reg-name", b"a"),
            ("unreserved", b"a-b._~c"),
            ("sub-delims but comma", b"a!$&'()*+;=b"),
            ("percent-encoded", b"ex%41mple"),
            ("percent-encoded, lower-case hex", b"ex%c3%a9"),
            ("percent-encoded at the end", b"a%2e"),
            ("IPv4", b"127.0.0.1"),
            ("IPv4 and port", b"127.0.0.1:80"),
            ("IPv6", b"[::1]"),
            ("IPv6 and port", b"[::1]:8080"),
            ("IPv6 with empty port", b"[::1]:"),
            ("IPv6, eight groups", b"[2001:db8:0:0:0:0:0:1]"),
            ("IPv6, any", b"[::]"),
            ("IPv6 ending in IPv4", b"[::ffff:192.0.2.1]"),
            ("IPvFuture", b"[v1.x]"),
            ("IPvFuture, capital V and a colon", b"[VaF.a:b]:1"),
            ("port of many digits", b"a:00080"),
        ];
        for (name, value) in cases {
            let head = parse_host(value);
            assert!(head.is_ok(), "{name}: {head:?}");
        }
    }

    #[test]
    fn rejected_host_values() {
        use ProtoError::*;
        let cases: &[(&str, &[u8], ProtoError)] = &[
            ("empty, origin-form", b"", BadHost),
            ("empty host with a port, origin-form", b":80", BadHost),
            ("userinfo", b"user@example.com", BadHost),
            (
                "userinfo with password and port",
                b"u:p@example.com:80",
                BadHost,
            ),
            ("empty userinfo", b"@example.com", BadHost),
            ("path", b"example.com/path", BadHost),
            ("slash after the port", b"example.com:80/", BadHost),
            ("query", b"example.com?x", BadHost),
            ("fragment", b"example.com#x", BadHost),
            ("port not digits", b"example.com:http", BadHost),
            ("two ports", b"example.com:80:81", BadHost),
            ("space inside", b"exa mple.com", BadHost),
            ("tab inside", b"exa\tmple.com", BadHost),
            ("backslash", b"example.com\\x", BadHost),
            ("square bracket in a reg-name", b"a[b]", BadHost),
            (
                "raw non-ASCII (RFC 3986: percent-encode)",
                b"caf\xc3\xa9",
                BadHost,
            ),
            ("lone percent", b"a%", BadHost),
            ("percent and one digit", b"a%4", BadHost),
            ("percent and non-hex", b"a%zz", BadHost),
            ("unclosed IP-literal", b"[::1", BadHost),
            ("IP-literal then garbage", b"[::1]x", BadHost),
            ("IP-literal then a path", b"[::1]:80/", BadHost),
            ("empty IP-literal", b"[]", BadHost),
            ("IPv6, too few groups", b"[1:2]", BadHost),
            ("IPv6, not hex", b"[::g]", BadHost),
            ("IPv6 with a zone", b"[fe80::1%25eth0]", BadHost),
            ("IPv4 in brackets", b"[127.0.0.1]", BadHost),
            ("IPvFuture without a version", b"[v.x]", BadHost),
            ("IPvFuture without an address", b"[v1.]", BadHost),
            ("IPvFuture without a dot", b"[v1]", BadHost),
            ("IPvFuture, bad byte", b"[v1.a/b]", BadHost),
            // A list is checked first, as before: it names the real mistake.
            ("list of hosts", b"a,b", DuplicateHost),
        ];
        for (name, value, want) in cases {
            assert_eq!(parse_host(value).err(), Some(*want), "{name}");
        }
    }

    #[test]
    fn empty_host_where_the_target_has_the_authority() {
        use ProtoError::*;
        // RFC 9112 §3.2.2, §3.3: absolute-form and authority-form carry the
        // authority, so an empty Host is not the server's problem there;
        // origin-form and asterisk-form have only the Host.
        let cases: &[(&str, &[u8], Option<ProtoError>)] = &[
            (
                "absolute-form",
                b"GET http://a/b HTTP/1.1\r\nHost:\r\n\r\n",
                None,
            ),
            (
                "authority-form",
                b"CONNECT a:443 HTTP/1.1\r\nHost:\r\n\r\n",
                None,
            ),
            (
                "origin-form",
                b"GET / HTTP/1.1\r\nHost:\r\n\r\n",
                Some(BadHost),
            ),
            (
                "origin-form, whitespace only",
                b"GET / HTTP/1.1\r\nHost:  \r\n\r\n",
                Some(BadHost),
            ),
            (
                "asterisk-form",
                b"OPTIONS * HTTP/1.1\r\nHost:\r\n\r\n",
                Some(BadHost),
            ),
            // HTTP/1.0 needs no Host: an empty one is as good as none.
            (
                "origin-form, HTTP/1.0",
                b"GET / HTTP/1.0\r\nHost:\r\n\r\n",
                None,
            ),
            (
                "absolute-form, userinfo in Host",
                b"GET http://a/b HTTP/1.1\r\nHost: u@a\r\n\r\n",
                Some(BadHost),
            ),
            (
                "HTTP/1.0, path in Host",
                b"GET / HTTP/1.0\r\nHost: a/b\r\n\r\n",
                Some(BadHost),
            ),
            (
                "missing, HTTP/1.1",
                b"GET / HTTP/1.1\r\n\r\n",
                Some(MissingHost),
            ),
            (
                "two lines, the second empty",
                b"GET / HTTP/1.1\r\nHost: a\r\nHost:\r\n\r\n",
                Some(DuplicateHost),
            ),
        ];
        assert_parses(cases);
    }

    #[test]
    fn target_bytes() {
        use ProtoError::*;
        let cases: &[(&str, &[u8], Option<ProtoError>)] = &[
            (
                "lowest visible byte",
                b"GET /! HTTP/1.1\r\nHost: a\r\n\r\n",
                None,
            ),
            (
                "highest visible byte",
                b"GET /~ HTTP/1.1\r\nHost: a\r\n\r\n",
                None,
            ),
            (
                "percent-encoded UTF-8",
                b"GET /caf%C3%A9 HTTP/1.1\r\nHost: a\r\n\r\n",
                None,
            ),
            (
                "raw UTF-8 (RFC 3986 §2.1: percent-encode)",
                b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
                Some(Target),
            ),
            (
                "raw UTF-8 in an absolute-form host",
                b"GET http://caf\xc3\xa9/ HTTP/1.1\r\nHost: a\r\n\r\n",
                Some(Target),
            ),
            (
                "raw UTF-8 in the query, past the first word",
                b"GET /search?q=\xe2\x82\xac HTTP/1.1\r\nHost: a\r\n\r\n",
                Some(Target),
            ),
            (
                "invalid UTF-8 (the line is not text)",
                b"GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n",
                Some(RequestLine),
            ),
            (
                "DEL",
                b"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n",
                Some(Target),
            ),
            (
                "NUL",
                b"GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n",
                Some(Target),
            ),
            (
                "highest control",
                b"GET /\x1f HTTP/1.1\r\nHost: a\r\n\r\n",
                Some(Target),
            ),
            (
                "HTAB",
                b"GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n",
                Some(Target),
            ),
            (
                "a space splits the line",
                b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
                Some(RequestLine),
            ),
        ];
        assert_parses(cases);
    }

    #[test]
    fn visible_ascii_is_checked_at_every_position() {
        // The word-at-a-time check against the obvious one, for each byte
        // value at each position of targets around a word's length.
        for len in 1..=24 {
            let clean = vec![b'a'; len];
            assert!(is_visible_ascii(&clean), "{len}");
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut t = clean.clone();
                    t[at] = b;
                    let want = (0x21..=0x7e).contains(&b);
                    assert_eq!(is_visible_ascii(&t), want, "len {len} at {at} byte {b:#x}");
                }
            }
        }
        let edges: Vec<u8> = (0x21..=0x7e).collect();
        assert!(is_visible_ascii(&edges));
    }

    #[test]
    fn method_length() {
        use ProtoError::*;
        let request = |method: &str| format!("{method} / HTTP/1.1\r\nHost: a\r\n\r\n");
        let longest = "M".repeat(MAX_METHOD);
        let too_long = "M".repeat(MAX_METHOD + 1);
        let cases: &[(&str, String, Option<ProtoError>)] = &[
            ("at the limit", request(&longest), None),
            ("one byte over", request(&too_long), Some(MethodTooLong)),
            (
                "over, and not a token: the syntax error first",
                request(&format!("{too_long}(")),
                Some(Method),
            ),
        ];
        for (name, raw, want) in cases {
            assert_eq!(parse(raw.as_bytes()).err(), *want, "{name}");
        }
    }

    #[test]
    fn a_request_line_too_long_because_of_its_method_is_501() {
        use ProtoError::*;
        let limits = Limits {
            max_request_line: 40,
            ..Limits::default()
        };
        let too_long = "M".repeat(MAX_METHOD + 1);
        let longest = "M".repeat(MAX_METHOD);
        let cases: &[(&str, String, ProtoError)] = &[
            (
                "method over, line incomplete",
                format!("{too_long}{}", "M".repeat(10)),
                MethodTooLong,
            ),
            (
                "method over, line complete",
                format!("{too_long}M / HTTP/1.1\r\n"),
                MethodTooLong,
            ),
            (
                "method at the limit, long target",
                format!("{longest} /aaaaaaaaaaaa"),
                TargetTooLong,
            ),
            (
                "short method, long target",
                format!("GET /{}", "a".repeat(40)),
                TargetTooLong,
            ),
        ];
        for (name, raw, want) in cases {
            assert_eq!(scan_all(raw.as_bytes(), &limits), Err(*want), "{name}");
            if raw.ends_with('\n') {
                let head = format!("{raw}\r\n");
                assert_eq!(
                    parse_head(head.as_bytes(), &mut Vec::new(), &limits).err(),
                    Some(*want),
                    "{name}: parse_head"
                );
            }
        }
        // The default limits: a 70 KiB method is the method's fault.
        let huge = format!("{} / HTTP/1.1\r\n", "M".repeat(70 * 1024));
        assert_eq!(
            scan_all(huge.as_bytes(), &Limits::default()),
            Err(MethodTooLong)
        );
    }

    #[test]
    fn body_framing() {
        use ProtoError::*;
        let cases: &[(&[u8], Result<BodyFraming, ProtoError>)] = &[
            (b"POST / HTTP/1.1\r\nHost: a\r\n\r\n", Ok(BodyFraming::Length(0))),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n", Ok(BodyFraming::Length(42))),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n", Ok(BodyFraming::Length(7))),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", Ok(BodyFraming::Length(5))),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", Ok(BodyFraming::Length(5))),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n", Ok(BodyFraming::Length(u64::MAX))),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n", Err(ContentLength)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", Err(ContentLength)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", Err(ContentLength)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", Err(ContentLength)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", Err(ContentLength)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", Err(ContentLength)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 0\r\n\r\n", Err(ContentLength)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", Err(ContentLength)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", Ok(BodyFraming::Chunked)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n", Ok(BodyFraming::Chunked)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", Err(LengthAndTransferEncoding)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", Err(LengthAndTransferEncoding)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", Err(UnsupportedTransferCoding)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", Err(UnsupportedTransferCoding)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", Err(UnsupportedTransferCoding)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", Err(ChunkedNotLast)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", Err(ChunkedNotLast)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", Err(ChunkedNotLast)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", Err(HeaderSyntax)),
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", Err(TransferEncodingOnHttp10)),
        ];
        for (raw, want) in cases {
            assert_eq!(
                parse(raw).map(|h| h.body),
                *want,
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn connection_and_expect() {
        let h =
            parse(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, Close\r\n\r\n").unwrap();
        assert!(h.connection_close && h.connection_keep_alive);
        let h = parse(b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n").unwrap();
        assert!(h.expect_continue);
        // RFC 9110 §10.1.1: a server must ignore 100-continue from HTTP/1.0.
        let h = parse(b"GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").unwrap();
        assert!(!h.expect_continue);
    }

    #[test]
    fn a_prefix_of_a_head_is_partial_not_invalid() {
        let raw = b"GET /index.html HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n";
        for cut in 0..raw.len() {
            assert_eq!(
                scan_all(&raw[..cut], &Limits::default()),
                Ok(None),
                "cut at {cut}"
            );
        }
        assert_eq!(scan_all(raw, &Limits::default()), Ok(Some((0, raw.len()))));
    }

    #[test]
    fn scanning_resumes_byte_by_byte() {
        let raw = b"\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
        let mut s = HeadScanner::new();
        let mut found = None;
        for end in 1..=raw.len() {
            if let Some(r) = s.scan(&raw[..end], &Limits::default()).unwrap() {
                found = Some((end, r));
                break;
            }
        }
        assert_eq!(found, Some((raw.len() - 4, (4, raw.len() - 4))));
        assert_eq!(s.skipped(), 4);
    }

    #[test]
    fn limits_are_enforced_before_the_head_is_complete() {
        let limits = Limits {
            max_request_line: 20,
            max_header_line: 10,
            max_headers: 2,
            max_head: 60,
        };
        use ProtoError::*;
        let cases: &[(&[u8], ProtoError)] = &[
            (b"GET /aaaaaaaaaaaaaaaaaaaaaa", TargetTooLong),
            (b"GET /aaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n", TargetTooLong),
            (b"GET / HTTP/1.1\r\nX: 123456789", HeaderLineTooLong),
            (b"GET / HTTP/1.1\r\nX: 12345678\r\n", HeaderLineTooLong),
            (
                b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n",
                TooManyHeaders,
            ),
            (
                b"GET / HTTP/1.1\r\nA: 12345\r\nB: 12345\r\nC: 12345\r\nD: 1",
                TooManyHeaders,
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(
                scan_all(raw, &limits),
                Err(*want),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
        let limits = Limits {
            max_headers: 100,
            ..limits
        };
        let raw = b"GET / HTTP/1.1\r\nA: 12345\r\nB: 12345\r\nC: 12345\r\nD: 12345\r\nE: 12";
        assert_eq!(scan_all(raw, &limits), Err(HeadTooLarge));
        // Exactly at each limit is fine.
        let limits = Limits {
            max_request_line: 14,
            max_header_line: 7,
            max_headers: 1,
            max_head: 28,
        };
        let raw = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(raw.len(), 27);
        assert_eq!(scan_all(raw, &limits), Ok(Some((0, 27))));
        assert!(parse_head(raw, &mut Vec::new(), &limits).is_ok());
    }

    #[test]
    fn a_line_at_the_limit_is_accepted_when_a_read_ends_between_cr_and_lf() {
        // Found by the `head` fuzz target.
        let limits = Limits {
            max_request_line: 14,
            max_header_line: 7,
            max_headers: 4,
            max_head: 100,
        };
        let raw = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        for cut in [15, 24] {
            let mut s = HeadScanner::new();
            assert_eq!(
                s.scan(&raw[..cut], &limits),
                Ok(None),
                "cut after the CR at {cut}"
            );
            assert_eq!(s.scan(raw, &limits), Ok(Some((0, raw.len()))));
        }
    }

    #[test]
    fn default_limits_match_the_interface() {
        let ok_line = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_REQUEST_LINE - 14));
        assert_eq!(ok_line.len() - 2, MAX_REQUEST_LINE);
        assert_eq!(scan_all(ok_line.as_bytes(), &Limits::default()), Ok(None));
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_REQUEST_LINE - 13));
        assert_eq!(
            scan_all(long.as_bytes(), &Limits::default()),
            Err(ProtoError::TargetTooLong)
        );
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "X: y\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(
            scan_all(many.as_bytes(), &Limits::default()),
            Err(ProtoError::TooManyHeaders)
        );
        let hundred = format!(
            "GET / HTTP/1.1\r\nHost: a\r\n{}\r\n",
            "X: y\r\n".repeat(MAX_HEADERS - 1)
        );
        assert!(
            scan_all(hundred.as_bytes(), &Limits::default())
                .unwrap()
                .is_some()
        );
        assert!(parse(hundred.as_bytes()).is_ok());
        let big = format!(
            "GET / HTTP/1.1\r\n{}",
            format!("X: {}\r\n", "y".repeat(3000)).repeat(90)
        );
        assert_eq!(
            scan_all(big.as_bytes(), &Limits::default()),
            Err(ProtoError::HeadTooLarge)
        );
    }

    #[test]
    fn errors_map_to_the_interface_statuses() {
        use ProtoError::*;
        for (e, code) in [
            (RequestLine, 400),
            (Method, 400),
            (MethodTooLong, 501),
            (Target, 400),
            (TargetTooLong, 414),
            (Version, 400),
            (VersionNotSupported, 505),
            (HeaderSyntax, 400),
            (ObsFold, 400),
            (MissingHost, 400),
            (DuplicateHost, 400),
            (BadHost, 400),
            (ContentLength, 400),
            (LengthAndTransferEncoding, 400),
            (ChunkedNotLast, 400),
            (UnsupportedTransferCoding, 501),
            (HeaderLineTooLong, 431),
            (TooManyHeaders, 431),
            (HeadTooLarge, 431),
            (ChunkSize, 400),
            (BodyTooLarge, 413),
        ] {
            assert_eq!(e.status().as_u16(), code, "{e:?}");
        }
    }
}
