//! On-the-fly compression (RFC 9110 §8.4): a text response is encoded as it
//! streams, in a content coding the client's `Accept-Encoding` takes, and
//! says so in `Content-Encoding`. HTML, CSS, JavaScript and JSON shrink to a
//! fifth or a third of their size, which is what a page on a slow link
//! waits for.
//!
//! Two ways in:
//!
//! - the files handler, with
//!   [`SimpleHttpRequestHandler::compress`](super::SimpleHttpRequestHandler::compress)
//!   (the binary's default, `--no-compress` turns it off): files of a
//!   [compressible type](is_compressible), from [`COMPRESS_MIN`] to
//!   [`COMPRESS_MAX`] bytes, for `GET` and `HEAD` with status 200. Never a
//!   `206` (a range counts the plain file's bytes), never a file that is
//!   compressed already (images, video, `.gz` archives: a `.gz` download
//!   stays the `.gz` file), never when a precompressed copy is sent (see
//!   [`PRECOMPRESSED`](super::PRECOMPRESSED), which keeps priority) or
//!   when the handler's own [`header`](super::SimpleHttpRequestHandler::header)s
//!   set `Content-Encoding`;
//! - any handler, with [`choose_coding`] and [`Encoder`]: opt-in, per
//!   response.
//!
//! **Not on for arbitrary handlers, on purpose.** Compressing a response
//! that holds a secret (a CSRF token, a session id) next to text an
//! attacker chooses (a reflected query parameter) lets the attacker guess
//! the secret a byte at a time from the compressed length: the BREACH
//! attack (2013). Static files carry no such mix; a dynamic page might.
//! Compress only responses that do not.
//!
//! The encoded response is a different representation of the file: it
//! carries `Vary: Accept-Encoding` (so do the plain responses of the same
//! files, so that shared caches keep them apart), a weak `ETag` of its own
//! (the plain tag with the coding appended, `W/"…-gzip"`: weak because the
//! bytes depend on the encoder's version, as nginx does), no
//! `Accept-Ranges` (ranges are served from the plain file), and goes out
//! chunked (or closed-delimited to HTTP/1.0 clients) with bounded memory:
//! the file is read and encoded [`READ_CHUNK`] bytes at a time. A `HEAD`
//! gets the same head and encodes nothing.
//!
//! Codings, in order of preference among equal weights: `zstd` (feature
//! `zstd`), `br` (feature `brotli`) and `gzip` (feature `gzip`); see
//! [`CODINGS`] for why this differs from the order of precompressed files.

use super::SimpleHttpRequestHandler;
use super::cache::FileMeta;
use super::conditional::range_applies;
use super::negotiate::named_quality;
use super::precompressed;
use super::range::{ByteRange, parse_range};
use crate::handler::{HandlerResult, Request};
use http::StatusCode;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

/// The smallest file compressed on the fly: 1 KiB. Below that the coding's
/// own framing (gzip adds 18 bytes, plus the chunked framing) eats most of
/// the gain, and the whole response fits in one TCP segment either way.
pub const COMPRESS_MIN: u64 = 1024;

/// The largest file compressed on the fly: 8 MiB. Compression costs CPU
/// for every request, not once: at the chosen levels one core encodes some
/// 30 to 250 MiB of text a second (brotli the slowest, zstd the fastest),
/// so 8 MiB can hold a worker and a core for a quarter of a second. Larger
/// text files (logs, data dumps) go out plain, at `sendfile` speed; ship a
/// precompressed copy for those.
pub const COMPRESS_MAX: u64 = 8 * 1024 * 1024;

/// The gzip level: 2 of 9, with flate2's zlib-rs backend (a pure-Rust port
/// of zlib-ng). Measured on one core, on the benchmark's 100 KiB HTML page
/// and on 60 to 100 KiB of real HTML, CSS and JavaScript (Rust's own
/// documentation), against zlib at level 1, which is nginx's default
/// (`gzip_comp_level 1`): level 2's output is 3 to 5 % smaller, for about
/// half of zlib's CPU on the real files and 0.65 times on the page (0.57 ms
/// against 0.88 ms); served, with everything else a response costs, 0.8
/// times nginx's CPU per response (BENCHMARKS.md). Level 3 (zlib-ng's
/// "medium" strategy) is 5 to 10 % smaller again for 1.3 to 1.5 times level
/// 2's CPU, which came to 0.9 to 1.0 times nginx's per response: too close
/// to nginx's for gzip, which goes to the clients that take neither zstd
/// nor brotli (see [`CODINGS`]). Level 4 is 2 to 3 % smaller than level 3
/// for 1.3 to 1.5 times its CPU; zlib-rs's level 1 ("quick") costs half of
/// level 2's but its output is 20 to 26 % larger than zlib's level 1. The
/// previous backend, miniz_oxide, took 1.7 ms at level 4 (output 7 %
/// smaller than level 2's): twice nginx's CPU per response.
pub const GZIP_LEVEL: u32 = 2;

/// The brotli quality: 5 of 11. On the same files quality 4 comes out 8
/// to 15 % smaller than gzip at [`GZIP_LEVEL`], at two to four times its
/// CPU; quality 5 is 13 to 21 % smaller than gzip, at some four times its
/// CPU (3 ms or so for 100 KiB). The top qualities are for precompressed
/// files, made once.
pub const BROTLI_QUALITY: u32 = 5;

/// The zstd level: 3 of 19, zstd's own default. On the same files its
/// output is 5 to 9 % smaller than gzip's at [`GZIP_LEVEL`], for two thirds
/// to nine tenths of its CPU (0.5 ms for 100 KiB); level 5 is 2 to 7 %
/// smaller again at twice level 3's CPU or more.
pub const ZSTD_LEVEL: i32 = 3;

/// The zstd window: 2^20 bytes (1 MiB), as for brotli; also what a zstd
/// decoder is asked to hold (RFC 8878 §3.1.1.1.2 lets decoders refuse
/// windows over 8 MiB, browsers do).
#[cfg(feature = "zstd")]
const ZSTD_WINDOW: u32 = 20;

/// The brotli window: 2^20 bytes (1 MiB) of history, so one encoder holds a
/// few MiB at most; a larger window gains little on files up to
/// [`COMPRESS_MAX`].
#[cfg(feature = "brotli")]
const BROTLI_WINDOW: u32 = 20;

/// The window, in bits, for a body of `len` bytes (unknown: `None`): the
/// smallest that holds the whole body, between 2^10 (the least brotli and
/// zstd allow) and 2^`max`. A window larger than the body buys nothing and
/// costs memory.
#[cfg(any(feature = "brotli", feature = "zstd"))]
fn window_bits(len: Option<u64>, max: u32) -> u32 {
    len.map_or(max, |n| {
        (u64::BITS - n.saturating_sub(1).leading_zeros()).clamp(10, max)
    })
}

/// How much of a file is read and encoded at a time: 32 KiB, so memory per
/// response stays bounded whatever the file's size.
pub const READ_CHUNK: usize = 32 * 1024;

/// A content coding this build can apply on the fly (RFC 9110 §8.4.1). Which
/// ones exist depends on the cargo features `brotli`, `zstd` and `gzip`;
/// without them there are none, and [`choose_coding`] always says `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Coding {
    /// `br`: brotli (RFC 7932), feature `brotli`.
    #[cfg(feature = "brotli")]
    Brotli,
    /// `zstd` (RFC 8878), feature `zstd`.
    #[cfg(feature = "zstd")]
    Zstd,
    /// `gzip` (RFC 1952), feature `gzip`.
    #[cfg(feature = "gzip")]
    Gzip,
}

/// The codings of this build, in order of preference among equal weights:
/// zstd, then brotli, then gzip. Compressing per request, CPU counts: zstd
/// at [`ZSTD_LEVEL`] costs a little less than gzip at [`GZIP_LEVEL`] for
/// output 5 to 9 % smaller, brotli at [`BROTLI_QUALITY`] 13 to 21 %
/// smaller than gzip's at some four times its CPU, so zstd goes first to
/// the browsers that take it (Chrome and Firefox since 2024), brotli to
/// the others (Safari), gzip to everyone else (tools, older clients).
/// Precompressed files, made once, go the other way
/// ([`PRECOMPRESSED`](super::PRECOMPRESSED)): brotli first.
pub const CODINGS: &[Coding] = &[
    #[cfg(feature = "zstd")]
    Coding::Zstd,
    #[cfg(feature = "brotli")]
    Coding::Brotli,
    #[cfg(feature = "gzip")]
    Coding::Gzip,
];

impl Coding {
    /// The coding's name, as in `Content-Encoding` and `Accept-Encoding`.
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "brotli")]
            Coding::Brotli => "br",
            #[cfg(feature = "zstd")]
            Coding::Zstd => "zstd",
            #[cfg(feature = "gzip")]
            Coding::Gzip => "gzip",
        }
    }
}

/// The coding to answer `r` with: of this build's [`CODINGS`], the one its
/// `Accept-Encoding` weighs highest (`q`), earlier ones first among equal
/// weights; `None` to send the body as it is. A coding is taken only with a
/// weight above 0 (`gzip;q=0` refuses gzip, `*;q=0` every coding not
/// named) and not below that of `identity` when the client names it. No
/// `Accept-Encoding` at all: `None`.
///
/// The caller sends `Vary: Accept-Encoding` whatever the answer, since the
/// response depends on that header; and leaves alone a body that is
/// encoded already (one it sends with a `Content-Encoding` of its own) or
/// that does not compress ([`is_compressible`]), and a `206` (a range
/// counts the plain bytes).
pub fn choose_coding(r: &Request<'_>) -> Option<Coding> {
    let mut best: Option<(u16, Coding)> = None;
    for &coding in CODINGS {
        let q = precompressed::quality(r, coding.name());
        // Strictly greater: among equal weights the earlier coding wins.
        if q > 0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, coding));
        }
    }
    let identity = named_quality(r.headers.get_all("Accept-Encoding"), "identity").unwrap_or(0);
    best.filter(|&(q, _)| q >= identity).map(|(_, c)| c)
}

/// Whether a body of media type `content_type` (parameters allowed) is
/// worth compressing: text (`text/*`), JSON, JavaScript, XML and SVG
/// (`+json` and `+xml` types too) and WebAssembly. Everything else is
/// taken as compressed already (images, audio, video, fonts, archives).
///
/// ```
/// use basehttp::files::is_compressible;
///
/// assert!(is_compressible("text/html; charset=utf-8"));
/// assert!(is_compressible("image/svg+xml"));
/// assert!(is_compressible("application/wasm"));
/// assert!(!is_compressible("application/gzip"));
/// assert!(!is_compressible("image/png"));
/// ```
pub fn is_compressible(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime.starts_with("text/")
        || mime.ends_with("+json")
        || mime.ends_with("+xml")
        || matches!(
            mime.as_str(),
            "application/json"
                | "application/javascript"
                | "application/x-javascript"
                | "application/ecmascript"
                | "application/xml"
                | "application/wasm"
        )
}

/// A writer that encodes what is written to it in a [`Coding`] (or passes
/// it through, for `None`) and writes the result to `W`: for a handler's
/// own responses, with [`choose_coding`]. Call [`finish`](Self::finish) at
/// the end: it writes the coding's last bytes. Dropped without it after an
/// error, the body stays cut short, and the client sees a failed transfer.
///
/// Remember the BREACH attack: never compress a body that mixes a secret
/// (a CSRF token, a session id) with text others choose (a reflected query
/// parameter), whose compressed length then gives the secret away a byte
/// at a time.
///
/// ```
/// use basehttp::files::{Encoder, choose_coding};
/// use basehttp::{HandlerResult, Request};
/// use std::io::Write;
///
/// fn do_get(r: &mut Request<'_>) -> HandlerResult {
///     let coding = choose_coding(r);
///     r.send_response(200)?;
///     r.send_header("Content-Type", "text/plain; charset=utf-8")?;
///     r.send_header("Vary", "Accept-Encoding")?;
///     if let Some(coding) = coding {
///         r.send_header("Content-Encoding", coding.name())?;
///     }
///     r.end_headers()?;
///     let mut body = Encoder::new(coding, &mut r.wfile)?;
///     for i in 0..1000 {
///         writeln!(body, "line {i}")?;
///     }
///     body.finish()?;
///     Ok(())
/// }
/// # let _ = do_get;
/// ```
pub struct Encoder<W: Write> {
    inner: Inner<W>,
}

enum Inner<W: Write> {
    Identity(W),
    #[cfg(feature = "gzip")]
    Gzip(flate2::write::GzEncoder<W>),
    #[cfg(feature = "brotli")]
    Brotli(Box<brotli::CompressorWriter<KeepError<W>>>),
    #[cfg(feature = "zstd")]
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

/// A writer that remembers its first error: brotli's `into_inner` writes
/// the stream's last bytes but drops an error doing so.
#[cfg(feature = "brotli")]
struct KeepError<W> {
    out: W,
    error: Option<io::Error>,
}

#[cfg(feature = "brotli")]
impl<W: Write> Write for KeepError<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.out.write(data).inspect_err(|e| {
            if self.error.is_none() {
                self.error = Some(io::Error::new(e.kind(), e.to_string()));
            }
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl<W: Write> Encoder<W> {
    /// An encoder in `coding` (`None`: none) writing to `out`, at
    /// [`GZIP_LEVEL`], [`BROTLI_QUALITY`] or [`ZSTD_LEVEL`]. Fails only if
    /// the zstd library cannot set itself up (out of memory).
    pub fn new(coding: Option<Coding>, out: W) -> io::Result<Self> {
        Self::build(coding, out, None)
    }

    /// As [`new`](Self::new), for a body of `len` bytes, known in advance
    /// (a file): brotli and zstd then keep a window no larger than the body
    /// and size their tables for it, which for a 100 KiB page takes a few
    /// hundred KiB instead of a few MiB per response. More bytes than
    /// `len` may still be written; they compress less well.
    pub fn for_length(coding: Option<Coding>, out: W, len: u64) -> io::Result<Self> {
        Self::build(coding, out, Some(len))
    }

    fn build(coding: Option<Coding>, out: W, len: Option<u64>) -> io::Result<Self> {
        let inner = match coding {
            None => Inner::Identity(out),
            #[cfg(feature = "gzip")]
            Some(Coding::Gzip) => Inner::Gzip(flate2::write::GzEncoder::new(
                out,
                flate2::Compression::new(GZIP_LEVEL),
            )),
            #[cfg(feature = "brotli")]
            Some(Coding::Brotli) => {
                let params = brotli::enc::BrotliEncoderParams {
                    quality: BROTLI_QUALITY as i32,
                    lgwin: window_bits(len, BROTLI_WINDOW) as i32,
                    size_hint: len.map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX)),
                    ..Default::default()
                };
                Inner::Brotli(Box::new(brotli::CompressorWriter::with_params(
                    KeepError { out, error: None },
                    READ_CHUNK,
                    &params,
                )))
            }
            #[cfg(feature = "zstd")]
            Some(Coding::Zstd) => {
                let mut zstd = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?;
                zstd.window_log(window_bits(len, ZSTD_WINDOW))?;
                Inner::Zstd(zstd)
            }
        };
        Ok(Encoder { inner })
    }

    /// Writes the coding's last bytes and gives the writer back.
    pub fn finish(self) -> io::Result<W> {
        match self.inner {
            Inner::Identity(out) => Ok(out),
            #[cfg(feature = "gzip")]
            Inner::Gzip(gz) => gz.finish(),
            #[cfg(feature = "brotli")]
            Inner::Brotli(br) => {
                let keep = br.into_inner();
                match keep.error {
                    Some(e) => Err(e),
                    None => Ok(keep.out),
                }
            }
            #[cfg(feature = "zstd")]
            Inner::Zstd(zstd) => zstd.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Identity(out) => out.write(data),
            #[cfg(feature = "gzip")]
            Inner::Gzip(gz) => gz.write(data),
            #[cfg(feature = "brotli")]
            Inner::Brotli(br) => br.write(data),
            #[cfg(feature = "zstd")]
            Inner::Zstd(zstd) => zstd.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Identity(out) => out.flush(),
            #[cfg(feature = "gzip")]
            Inner::Gzip(gz) => gz.flush(),
            #[cfg(feature = "brotli")]
            Inner::Brotli(br) => br.flush(),
            #[cfg(feature = "zstd")]
            Inner::Zstd(zstd) => zstd.flush(),
        }
    }
}

impl<W: Write> std::fmt::Debug for Encoder<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let coding = match &self.inner {
            Inner::Identity(_) => "identity",
            #[cfg(feature = "gzip")]
            Inner::Gzip(_) => "gzip",
            #[cfg(feature = "brotli")]
            Inner::Brotli(_) => "br",
            #[cfg(feature = "zstd")]
            Inner::Zstd(_) => "zstd",
        };
        f.debug_struct("Encoder").field("coding", &coding).finish()
    }
}

impl SimpleHttpRequestHandler {
    /// Whether files of a [compressible type](is_compressible), from
    /// [`COMPRESS_MIN`] to [`COMPRESS_MAX`] bytes, are compressed as they
    /// are sent, in the coding the client's `Accept-Encoding` weighs highest
    /// of this build's [`CODINGS`] (zstd, brotli, gzip; features `zstd`,
    /// `brotli` and `gzip`). Default `false` in the library; the binary turns it on
    /// (`--no-compress` leaves it off).
    ///
    /// A precompressed copy beside the file
    /// ([`PRECOMPRESSED`](super::PRECOMPRESSED)) is sent in preference.
    /// Never compressed: a range (206), a file compressed already (`.gz`,
    /// images, video), or any response when a
    /// [`header`](Self::header) of the handler sets `Content-Encoding`.
    /// Every response for a file that could be compressed says `Vary:
    /// Accept-Encoding`; a compressed one carries a weak `ETag` of its own,
    /// so `If-None-Match` revalidates each representation, and goes out
    /// chunked, with bounded memory. Static files mix no secret with text
    /// a visitor chooses, so the BREACH attack has nothing to guess here.
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    /// Whether and how to compress the file at `rel` (of `meta`) for `r`;
    /// `plain` says no precompressed copy is sent instead.
    pub(super) fn on_the_fly(
        &self,
        r: &Request<'_>,
        meta: &FileMeta,
        rel: &[u8],
        plain: bool,
    ) -> OnTheFly {
        if plain && self.compress && !self.sets_content_encoding() {
            decide(r, meta, rel)
        } else {
            OnTheFly::NONE
        }
    }

    /// Whether a header of [`header`](Self::header) sets
    /// `Content-Encoding`: then nothing is compressed on top.
    fn sets_content_encoding(&self) -> bool {
        self.headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("Content-Encoding"))
    }
}

/// What the files handler does about compressing one file.
pub(super) struct OnTheFly {
    /// Whether the file could be compressed: then every response for it
    /// says `Vary: Accept-Encoding`.
    pub(super) vary: bool,
    /// The coding to send it in, if the client takes one and no range is
    /// served instead.
    pub(super) coding: Option<Coding>,
}

impl OnTheFly {
    /// Not compressed, and not varying on that account.
    pub(super) const NONE: OnTheFly = OnTheFly {
        vary: false,
        coding: None,
    };
}

/// Whether and how to compress the file at `rel` (of `meta`) for `r`.
fn decide(r: &Request<'_>, meta: &FileMeta, rel: &[u8]) -> OnTheFly {
    // An `.svgz` is gzip-compressed SVG, though typed as SVG.
    let svgz = rel.len() >= 5 && rel[rel.len() - 5..].eq_ignore_ascii_case(b".svgz");
    if CODINGS.is_empty()
        || svgz
        || !(COMPRESS_MIN..=COMPRESS_MAX).contains(&meta.len)
        || !is_compressible(&meta.content_type)
    {
        return OnTheFly::NONE;
    }
    let coding = choose_coding(r).filter(|_| !wants_part(r, meta));
    OnTheFly { vary: true, coding }
}

/// Whether `r` gets a part of the plain file (206, or 416): a `GET` with a
/// `Range` that applies and is not served whole. Parts are never
/// compressed.
fn wants_part(r: &Request<'_>, meta: &FileMeta) -> bool {
    let Some(range) = r.headers.get_bytes("Range") else {
        return false;
    };
    r.command == "GET"
        && range_applies(r, meta)
        && !matches!(parse_range(range, meta.len), ByteRange::Whole)
}

/// The headers of `meta` encoded in `coding`: the plain tag with the coding
/// appended, made weak (`"tag"` becomes `W/"tag-gzip"`).
pub(super) fn encoded_meta(meta: &FileMeta, coding: Coding) -> FileMeta {
    let mut encoded = meta.clone();
    let tag = meta.etag.trim_end_matches('"');
    encoded.etag = format!("W/{tag}-{}\"", coding.name());
    encoded
}

/// Sends `file` (whose headers, already encoded, are `meta`) with status
/// 200, compressed in `coding`: up to `meta.len` bytes, the length the file
/// had when it was opened. A file that grows meanwhile is cut there; one
/// that shrinks ends the response with an error, cut short, so the client
/// sees a failed transfer rather than a wrong file.
pub(super) fn send(
    r: &mut Request<'_>,
    file: &File,
    meta: &FileMeta,
    coding: Coding,
) -> HandlerResult {
    r.send_response(StatusCode::OK)?;
    r.send_header("Content-Type", &meta.content_type)?;
    r.send_header("Last-Modified", &meta.last_modified)?;
    r.send_header("ETag", &meta.etag)?;
    r.send_header("Content-Encoding", coding.name())?;
    r.send_header("Vary", "Accept-Encoding")?;
    r.end_headers()?;
    // The encoded length is known only at the end: chunked, for HEAD too,
    // so both get the same head.
    r.wfile.unknown_length();
    if r.command == "HEAD" {
        return Ok(());
    }
    let mut buf = vec![0u8; READ_CHUNK];
    let mut body = Encoder::for_length(Some(coding), &mut r.wfile, meta.len)?;
    let mut offset = 0;
    while offset < meta.len {
        let want = usize::try_from(meta.len - offset).map_or(buf.len(), |n| n.min(buf.len()));
        let n = file.read_at(&mut buf[..want], offset)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was being sent",
            )
            .into());
        }
        body.write_all(&buf[..n])?;
        offset += n as u64;
    }
    body.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressible_types() {
        for t in [
            "text/plain",
            "text/css; charset=utf-8",
            "application/json",
            "application/javascript; charset=utf-8",
            "application/xml",
            "image/svg+xml",
            "application/atom+xml",
            "application/ld+json",
            "application/wasm",
            "TEXT/HTML",
        ] {
            assert!(is_compressible(t), "{t}");
        }
        for t in [
            "application/gzip",
            "application/zip",
            "application/x-tar",
            "application/octet-stream",
            "image/png",
            "video/webm",
            "font/woff2",
            "",
        ] {
            assert!(!is_compressible(t), "{t}");
        }
    }

    /// Text encoded in `coding`, then decoded by `decode`, comes back.
    #[cfg(any(feature = "gzip", feature = "brotli", feature = "zstd"))]
    /// Also with the length told in advance: exactly, or less than what
    /// comes (the window is then smaller than the body).
    fn round_trip(coding: Coding, decode: impl Fn(&[u8]) -> String) {
        let text = "Hello, World! ".repeat(500);
        let len = text.len() as u64;
        for told in [None, Some(len), Some(len / 7), Some(0)] {
            let mut enc = match told {
                None => Encoder::new(Some(coding), Vec::new()).unwrap(),
                Some(n) => Encoder::for_length(Some(coding), Vec::new(), n).unwrap(),
            };
            enc.write_all(text.as_bytes()).unwrap();
            let out = enc.finish().unwrap();
            assert!(out.len() < text.len() / 10, "{coding:?} {told:?}");
            assert_eq!(decode(&out), text, "{coding:?} {told:?}");
        }
    }

    #[cfg(any(feature = "brotli", feature = "zstd"))]
    #[test]
    fn windows_fit_the_body() {
        assert_eq!(window_bits(None, 20), 20);
        assert_eq!(window_bits(Some(0), 20), 10);
        assert_eq!(window_bits(Some(1024), 20), 10);
        assert_eq!(window_bits(Some(1025), 20), 11);
        assert_eq!(window_bits(Some(100 * 1024), 20), 17);
        assert_eq!(window_bits(Some(1 << 17), 20), 17);
        assert_eq!(window_bits(Some(u64::MAX), 20), 20);
    }

    /// All of `r`, as text.
    #[cfg(any(feature = "gzip", feature = "brotli", feature = "zstd"))]
    fn read_all(mut r: impl io::Read) -> String {
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        out
    }

    #[cfg(feature = "gzip")]
    #[test]
    fn gzip_round_trip() {
        round_trip(Coding::Gzip, |b| read_all(flate2::read::GzDecoder::new(b)));
    }

    #[cfg(feature = "brotli")]
    #[test]
    fn brotli_round_trip() {
        round_trip(Coding::Brotli, |b| {
            read_all(brotli::Decompressor::new(b, 4096))
        });
    }

    #[cfg(feature = "zstd")]
    #[test]
    fn zstd_round_trip() {
        round_trip(Coding::Zstd, |b| {
            read_all(zstd::stream::read::Decoder::new(b).unwrap())
        });
    }

    #[test]
    fn identity_passes_through() {
        let mut enc = Encoder::new(None, Vec::new()).unwrap();
        enc.write_all(b"plain").unwrap();
        assert_eq!(enc.finish().unwrap(), b"plain");
    }
}
