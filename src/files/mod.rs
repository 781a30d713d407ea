//! `files`: the `SimpleHTTPRequestHandler` counterpart, a [`Handler`] that
//! serves the files under one directory.
//!
//! A request's path names a file relative to the served directory:
//! `GET /docs/a.txt` answers with the contents of `DIR/docs/a.txt`. A
//! directory is answered with its `index.html` (or `index.htm`) if it has
//! one, and otherwise with a generated listing of its entries; a directory
//! asked for without its trailing slash (`/docs`) is first redirected to
//! `/docs/`, so that relative links in the page resolve inside it. Scripts
//! get the listing as JSON with `Accept: application/json` or
//! `?format=json`.
//!
//! Beyond what Python's handler does, the caching and partial-content parts
//! of HTTP are implemented, as browsers and media players expect:
//!
//! - **Validators.** Every file response carries `Last-Modified` (the file's
//!   modification time) and a strong `ETag` (its inode, size and
//!   modification time). A client that already holds the file sends them
//!   back as `If-Modified-Since` or `If-None-Match`, and gets an empty
//!   `304 Not Modified` while the file is unchanged (RFC 9110 §13.1).
//! - **Ranges.** `Accept-Ranges: bytes` tells clients they may ask for a
//!   part of a file: `Range: bytes=0-99` (the first 100 bytes),
//!   `bytes=100-` (all from offset 100), `bytes=-100` (the last 100). The
//!   answer is `206 Partial Content` with `Content-Range: bytes 0-99/LEN`; a
//!   range that starts past the end is `416 Range Not Satisfiable` with
//!   `Content-Range: bytes */LEN`. Several ranges (`bytes=0-99,200-299`)
//!   are merged where they overlap or touch and sent as one
//!   `multipart/byteranges` body; more than [`MAX_RANGES`] of them, or more
//!   bytes in all than the file holds, get the whole file with 200 (the
//!   defence against the 2011 "Apache Killer"). `If-Range` makes the range
//!   conditional on the file being unchanged (RFC 9110 §14).
//! - **Precompressed files.** `app.js.br`, `app.js.zst` or `app.js.gz`
//!   beside `app.js` is sent in its place, with `Content-Encoding`, to a
//!   client whose `Accept-Encoding` takes it: see [`PRECOMPRESSED`].
//! - **Compression.** With [`compress`](SimpleHttpRequestHandler::compress),
//!   text files are compressed as they stream, in a coding the client's
//!   `Accept-Encoding` takes (brotli, zstd or gzip): see [`Encoder`], which any
//!   handler may use too, and its module's words on BREACH.
//! - **Archives.** With `archive` (feature `archive`), `?download=tar` or
//!   `?download=tar.gz` on a directory streams it as one archive.
//! - **Safety.** No request reaches outside the served directory: a `..`
//!   segment (raw or percent-encoded), an encoded `/` or `\`, or a NUL byte
//!   is refused with 400, and a symbolic link that leads outside is refused
//!   with 403 unless [`follow_symlinks_outside`] allows it. The kernel checks
//!   the last part (`openat2` with `RESOLVE_BENEATH`), so a link swapped in
//!   mid-request cannot escape either.
//! - **Hidden files.** Names starting with `.` (`.git`, `.env`, `.ssh`) are
//!   left out of listings and answer 404, as does anything below such a
//!   directory and a symbolic link that leads to one, unless
//!   [`hidden`](SimpleHttpRequestHandler::hidden) allows them. Python serves
//!   them; sharing a directory should not share its repository or secrets.
//! - **Sharing.** `auth` asks for a password (HTTP Basic, for every request
//!   or, with `public_read`, for writes only; feature `auth`);
//!   [`cors`](SimpleHttpRequestHandler::cors) lets other sites' pages read
//!   the files; [`header`](SimpleHttpRequestHandler::header) adds a header
//!   of one's own to every response;
//!   [`upload`](SimpleHttpRequestHandler::upload) takes files by `PUT` and
//!   by the listing's upload form.
//!
//! File bodies up to 16 KiB are read and leave with the response head in one
//! write; larger ones go out with
//! [`Wfile::write_file`](crate::wfile::Wfile::write_file): `sendfile(2)` on plain
//! TCP connections, a constant-memory copy otherwise. Files served once stay
//! open for the next request of the same path ([`OPEN_FILE_CACHE`]), and
//! every request checks with one `stat` that the path still leads to the
//! same, unchanged file, so a saved or replaced file is served new at once.
//!
//! One file per concern: `path` turns a request target into a path under
//! the directory and opens it safely; `conditional` holds the validators
//! and conditional requests; `range` parses ranges and lays out
//! multi-range bodies; `negotiate` reads `Accept` and `Accept-Encoding`;
//! `precompressed` finds the compressed copies beside a file; `compress`
//! compresses on the fly; `archive` streams a directory as a tar; `listing`
//! builds a directory's page; `headers` adds CORS and the user's headers to
//! every response; `auth` checks Basic credentials; `upload` writes
//! uploads;
//! `cache` keeps files open between requests. This file ties them together
//! into the handler.
//!
//! [`follow_symlinks_outside`]: SimpleHttpRequestHandler::follow_symlinks_outside

#[cfg(feature = "archive")]
mod archive;
#[cfg(feature = "auth")]
mod auth;
mod cache;
mod compress;
mod conditional;
mod headers;
mod listing;
mod negotiate;
mod path;
mod precompressed;
mod range;
mod upload;

#[cfg(feature = "auth")]
pub use auth::{CHALLENGE, Credentials, CredentialsError};
pub use cache::OPEN_FILE_CACHE;
pub use compress::{
    BROTLI_QUALITY, CODINGS, COMPRESS_MAX, COMPRESS_MIN, Coding, Encoder, GZIP_LEVEL, READ_CHUNK,
    ZSTD_LEVEL, choose_coding, is_compressible,
};
pub use headers::{FRAMING_HEADERS, HeaderError};
#[cfg(fuzzing)]
#[doc(hidden)]
pub use path::fuzzing;
pub use precompressed::PRECOMPRESSED;
pub use range::MAX_RANGES;
pub use upload::{MAX_UPLOAD_SIZE, TEMP_PREFIX, parse_size};

use crate::handler::{ErrorDetails, Handler, HandlerResult, Request, dispatch};
use crate::net::ClientAddress;
use cache::{FileMeta, OpenFiles};
use conditional::{not_modified, range_applies};
use http::{StatusCode, Version};
use negotiate::named_quality;
use path::{OpenError, Root, Target, parse_target, redirect_to_directory};
use range::{ByteRange, Multipart, parse_range};
use rustix::fs::FileType;
use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The files a directory is answered with, in order of preference, before a
/// listing is generated: Python's `index_pages`.
pub const INDEX_PAGES: [&str; 2] = ["index.html", "index.htm"];

/// Files up to this size (16 KiB) are read into memory and sent with the
/// response head in one write; larger ones go out with `sendfile(2)` after
/// the head. For a small file the copy costs less than a second send, which
/// puts the head in a TCP segment of its own and wakes the client twice.
const SMALL_FILE: usize = 16 * 1024;

/// Serves the files under one directory: Python's `SimpleHTTPRequestHandler`.
///
/// `GET` and `HEAD` are answered, and `PUT` and `POST` with
/// [`upload`](Self::upload) (every other method gets 501, as in
/// Python); see the [module documentation](self) for what the answers
/// contain. One value serves every request on every thread.
///
/// Status codes:
///
/// | case | status |
/// | --- | --- |
/// | a file, or a directory with its index page or listing | 200 (206 for a range) |
/// | a directory without its trailing slash | 301 to the same path with `/`, query kept |
/// | unchanged since `If-None-Match` / `If-Modified-Since` | 304 |
/// | `..`, an encoded `/` or `\`, a NUL, a target that is not a path | 400 |
/// | unreadable, not a regular file, or a symbolic link leading outside | 403 |
/// | credentials required (see `auth`, feature `auth`) and missing or wrong | 401 |
/// | nothing there, or a hidden file (see [`hidden`](Self::hidden)) | 404 (with [`spa`](Self::spa), a browser's page request for a missing path gets `/index.html` with 200) |
/// | a range past the end of the file | 416 |
/// | with [`upload`](Self::upload): a file written, replaced, a form's files written | 201, 204, 303 |
/// | with [`upload`](Self::upload): an existing name, a missing parent directory | 409 |
/// | with [`upload`](Self::upload): over [`max_upload_size`](Self::max_upload_size); a full disk | 413; 507 |
/// | a directory that cannot be read, another system error | 500 |
///
/// ```
/// use basehttp::{HttpServer, SimpleHttpRequestHandler};
/// use std::io::{Read, Write};
/// use std::net::TcpStream;
/// use std::sync::Arc;
///
/// let dir = std::env::temp_dir().join(format!("basehttp-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join("hello.txt"), "Hello, World!")?;
///
/// let handler = SimpleHttpRequestHandler::new(&dir)?.quiet(true);
/// let server = Arc::new(HttpServer::bind("127.0.0.1:0", handler)?);
/// let running = Arc::clone(&server);
/// let thread = std::thread::spawn(move || running.serve_forever());
///
/// let mut client = TcpStream::connect(server.local_addr())?;
/// client.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
/// let mut response = String::new();
/// client.read_to_string(&mut response)?;
/// assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(response.contains("Content-Type: text/plain; charset=utf-8\r\n"));
/// assert!(response.contains("Accept-Ranges: bytes\r\n"));
/// assert!(response.ends_with("\r\n\r\nHello, World!"));
///
/// server.shutdown();
/// thread.join().unwrap()?;
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct SimpleHttpRequestHandler {
    /// The served directory, as given and made absolute.
    directory: PathBuf,
    /// The same directory, opened once: every file is opened through it.
    root: Root,
    quiet: bool,
    /// Whether dot-files are served and listed: see [`hidden`](Self::hidden).
    hidden: bool,
    /// Whether responses carry CORS headers: see [`cors`](Self::cors).
    cors: bool,
    /// Headers added to every response: see [`header`](Self::header).
    headers: Vec<(String, String)>,
    /// Who may ask: see [`auth`](Self::auth).
    #[cfg(feature = "auth")]
    credentials: Option<Credentials>,
    /// Whether `GET` and `HEAD` need no credentials: see
    /// [`public_read`](Self::public_read).
    #[cfg(feature = "auth")]
    public_read: bool,
    protocol_version: Version,
    /// Files opened before, by request path: see [`OPEN_FILE_CACHE`].
    cache: OpenFiles,
    /// Whether a missing page falls back to `/index.html`: see
    /// [`spa`](Self::spa).
    spa: bool,
    /// Whether and how uploads are taken: see [`upload`](Self::upload).
    uploads: upload::Uploads,
    /// Whether text files are compressed on the fly: see
    /// [`compress`](Self::compress).
    compress: bool,
    /// Whether directories may be downloaded as archives: see
    /// `archive` (feature `archive`).
    #[cfg(feature = "archive")]
    archive: bool,
}

impl SimpleHttpRequestHandler {
    /// A handler serving `directory` (Python's `directory` argument; the
    /// binary's `--directory`). Fails if it does not exist or is not a
    /// directory.
    pub fn new(directory: impl AsRef<Path>) -> io::Result<Self> {
        let given = directory.as_ref();
        let root = Root::open_dir(given)?;
        let directory = std::path::absolute(given).unwrap_or_else(|_| root.canonical.clone());
        Ok(SimpleHttpRequestHandler {
            directory,
            root,
            quiet: false,
            hidden: false,
            cors: false,
            headers: Vec::new(),
            #[cfg(feature = "auth")]
            credentials: None,
            #[cfg(feature = "auth")]
            public_read: false,
            protocol_version: Version::HTTP_11,
            cache: OpenFiles::new(OPEN_FILE_CACHE),
            spa: false,
            uploads: upload::Uploads::default(),
            compress: false,
            #[cfg(feature = "archive")]
            archive: false,
        })
    }

    /// Whether symbolic links that lead outside the served directory are
    /// followed. Default `false`: such a link is answered with 403 and its
    /// target's size and time are not shown in listings. Links that stay
    /// inside are always followed. A `..` in the request itself is refused
    /// either way.
    pub fn follow_symlinks_outside(mut self, follow: bool) -> Self {
        self.root.follow_outside = follow;
        self
    }

    /// Whether dot-files (names starting with `.`) are served and listed
    /// (the binary's `--hidden`). Default `false`, unlike Python: they are
    /// absent from listings and answer 404 (as if missing), and so does
    /// anything below a dot-directory (`/.git/config`, also asked for as
    /// `/%2egit/config`) and any symbolic link whose target is hidden.
    /// The check is on the decoded path and on where the opened file
    /// really lies, so no encoding or link gets around it.
    pub fn hidden(mut self, serve: bool) -> Self {
        self.hidden = serve;
        self
    }

    /// Whether to write no log line per request (the binary's `--quiet`).
    /// Default `false`: one line per request in the Common Log Format, and
    /// one per error response, on standard error.
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }

    /// The version of the responses' status line, and so whether connections
    /// persist: `HTTP/1.1` (keep-alive, the default) or `HTTP/1.0` (one
    /// request per connection, Python's default). The binary's `--protocol`.
    pub fn with_protocol_version(mut self, version: Version) -> Self {
        self.protocol_version = version;
        self
    }

    /// How many open files to keep for the next requests of the same paths
    /// (default [`OPEN_FILE_CACHE`]); `0` opens every file anew. Each kept
    /// file holds a file descriptor.
    pub fn open_file_cache(mut self, capacity: usize) -> Self {
        self.cache = OpenFiles::new(capacity);
        self
    }

    /// Whether to answer a browser's request for a missing path with
    /// `/index.html` and status 200, as single-page applications need: their
    /// script draws the page for `/users/42` in the browser, and a reload
    /// must not give 404 (the binary's `--spa`). Default `false`.
    ///
    /// Only a `GET` (or `HEAD`) whose `Accept` names `text/html` itself
    /// (a browser's navigation; `*/*` alone does not count) falls back, and
    /// only for a path whose last segment has no extension: a missing
    /// `/app.js` or `/logo.png` still gets 404. A path refused for safety
    /// (`..`, an encoded `/`) is refused before the fallback is considered.
    pub fn spa(mut self, spa: bool) -> Self {
        self.spa = spa;
        self
    }

    /// The served directory, as given to [`new`](Self::new) and made
    /// absolute.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// Answers `GET` and `HEAD`: the common part of `do_GET` and `do_HEAD`
    /// (Python's `send_head` and `copyfile` together).
    fn serve(&self, r: &mut Request<'_>) -> HandlerResult {
        let target = match parse_target(r.path) {
            Ok(t) => t,
            Err(e) => {
                r.send_error_message(StatusCode::BAD_REQUEST, Some(e.message()), None)?;
                return Ok(());
            }
        };
        // Hidden files are refused before anything else, the SPA fallback
        // included: `/.env` must not answer with the index page.
        if !self.hidden && target.is_hidden() {
            return self.send_open_error(r, OpenError::NotFound);
        }
        // An upload in progress is never served, hidden files or not.
        let last = target.rel().rsplit(|&b| b == b'/').next();
        if last.is_some_and(upload::is_temp_name) {
            return self.send_open_error(r, OpenError::NotFound);
        }
        self.serve_target(r, &target, self.spa)
    }

    /// Answers with what `target` names; a missing path gets `/index.html`
    /// instead if `spa_fallback` and [`spa_applies`] say so.
    fn serve_target(
        &self,
        r: &mut Request<'_>,
        target: &Target<'_>,
        spa_fallback: bool,
    ) -> HandlerResult {
        if let Some(hit) = self.cache.get(&self.root, target) {
            return self.send_file(r, &hit.file, &hit.meta, &hit.path);
        }
        let fd = match self.open(target.rel()) {
            Ok(fd) => fd,
            Err(OpenError::NotFound) if spa_fallback && spa_applies(r, target) => {
                return match parse_target(SPA_PAGE) {
                    Ok(index) => self.serve_target(r, &index, false),
                    Err(_) => self.send_open_error(r, OpenError::NotFound),
                };
            }
            Err(e) => return self.send_open_error(r, e),
        };
        let stat = rustix::fs::fstat(&fd).map_err(io::Error::from)?;
        match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory => {
                if !target.trailing_slash {
                    return redirect_to_directory(r, target);
                }
                #[cfg(feature = "archive")]
                if self.archive
                    && let Some(kind) = archive::requested(target)
                {
                    return archive::send(r, &self.root, fd, target, kind, self.hidden);
                }
                for page in INDEX_PAGES {
                    let rel = target.child(page.as_bytes());
                    match self.open(&rel) {
                        Ok(fd) => {
                            let stat = rustix::fs::fstat(&fd).map_err(io::Error::from)?;
                            if FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile {
                                let file = File::from(fd);
                                let meta = FileMeta::new(&stat, Path::new(page));
                                // Only the first choice is remembered: were
                                // index.htm kept, a new index.html would
                                // stay unseen.
                                if page == INDEX_PAGES[0] {
                                    self.cache
                                        .remember(target, rel.clone(), &file, &stat, &meta);
                                }
                                return self.send_file(r, &file, &meta, &rel);
                            }
                        }
                        Err(OpenError::NotFound) => {}
                        Err(e) => return self.send_open_error(r, e),
                    }
                }
                let upload_form = self.uploads.enabled;
                listing::list_directory(r, &self.root, fd, target, self.hidden, upload_form)
            }
            FileType::RegularFile if target.trailing_slash => {
                // `/file.txt/` names no directory (Python answers the same).
                r.send_error_message(StatusCode::NOT_FOUND, Some("File not found"), None)?;
                Ok(())
            }
            FileType::RegularFile => {
                let file = File::from(fd);
                let meta = FileMeta::new(&stat, Path::new(OsStr::from_bytes(target.rel())));
                self.cache
                    .remember(target, target.rel().to_vec(), &file, &stat, &meta);
                self.send_file(r, &file, &meta, target.rel())
            }
            _ => {
                r.send_error_message(StatusCode::FORBIDDEN, Some("Not a regular file"), None)?;
                Ok(())
            }
        }
    }

    /// Opens `rel` under the directory; a file that really lies at a hidden
    /// path (through a link) counts as missing unless hidden files are
    /// served. The cache needs no check of its own: a link changed to lead
    /// elsewhere no longer matches the file kept for its path.
    fn open(&self, rel: &[u8]) -> Result<rustix::fd::OwnedFd, OpenError> {
        let fd = self.root.open(rel)?;
        if !self.hidden && self.root.leads_to_hidden(rel, &fd) {
            return Err(OpenError::NotFound);
        }
        Ok(fd)
    }

    /// Answers a failed open with the matching error page.
    fn send_open_error(&self, r: &mut Request<'_>, e: OpenError) -> HandlerResult {
        let (code, message) = match e {
            OpenError::NotFound => (StatusCode::NOT_FOUND, "File not found".to_string()),
            OpenError::Forbidden => (StatusCode::FORBIDDEN, "Permission denied".to_string()),
            OpenError::Outside => (
                StatusCode::FORBIDDEN,
                "Symbolic link leads outside the served directory".to_string(),
            ),
            OpenError::Other(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Cannot open the file: {e}"),
            ),
        };
        r.send_error_message(code, Some(&message), None)?;
        Ok(())
    }

    /// Sends the regular file found at `rel`, whole or the part a `Range`
    /// asks for, or 304 if the client's copy is current; or, in its place,
    /// a precompressed copy the client accepts (see [`PRECOMPRESSED`]).
    fn send_file(
        &self,
        r: &mut Request<'_>,
        file: &File,
        meta: &FileMeta,
        rel: &[u8],
    ) -> HandlerResult {
        let sidecars = precompressed::find(r, &self.root, &self.cache, rel, &meta.content_type);
        let (file, meta, coding) = match &sidecars.chosen {
            Some(s) => (&s.file.file, &s.file.meta, Some(s.coding)),
            None => (file, meta, None),
        };
        let on_the_fly = self.on_the_fly(r, meta, rel, coding.is_none());
        let encoding = Encoding {
            coding,
            vary: sidecars.vary || on_the_fly.vary,
        };
        let encoded_meta = on_the_fly.coding.map(|c| compress::encoded_meta(meta, c));
        let meta = encoded_meta.as_ref().unwrap_or(meta);
        let len = meta.len;
        let sandbox = upload::sandbox_policy(&self.uploads, &meta.content_type);
        if not_modified(r, meta) {
            r.send_response(StatusCode::NOT_MODIFIED)?;
            r.send_header("ETag", &meta.etag)?;
            r.send_header("Last-Modified", &meta.last_modified)?;
            // RFC 9110 §15.4.5: a 304 carries the Vary a 200 would.
            encoding.send_vary(r)?;
            r.end_headers()?;
            return Ok(());
        }
        if let Some(coding) = on_the_fly.coding {
            return compress::send(r, file, meta, coding);
        }
        let range = if r.command == "GET" && range_applies(r, meta) {
            r.headers
                .get_bytes("Range")
                .map_or(ByteRange::Whole, |h| parse_range(h, len))
        } else {
            // RFC 9110 §14.2: Range is defined for GET only.
            ByteRange::Whole
        };
        let (offset, count) = match &range {
            ByteRange::Whole => {
                r.send_response(StatusCode::OK)?;
                (0, len)
            }
            ByteRange::Part(span) => {
                r.send_response(StatusCode::PARTIAL_CONTENT)?;
                let (first, last) = (span.first, span.last);
                r.send_header("Content-Range", format_args!("bytes {first}-{last}/{len}"))?;
                (first, span.len())
            }
            ByteRange::Parts(spans) => {
                let body = Multipart::new(spans, &meta.content_type, len);
                r.send_response(StatusCode::PARTIAL_CONTENT)?;
                r.send_header("Content-Type", body.content_type())?;
                r.send_header("Content-Length", body.len())?;
                send_validators(r, meta, sandbox)?;
                encoding.send_headers(r)?;
                r.end_headers()?;
                body.write(r, file)?;
                return Ok(());
            }
            ByteRange::Unsatisfiable => {
                // RFC 9110 §15.5.17: the length, so the client can ask
                // again. The request was well formed, only the range was
                // out of bounds: the connection stays.
                let range = format!("bytes */{len}");
                let vary = ("Vary", "Accept-Encoding");
                let headers = [("Content-Range", range.as_str()), vary];
                let headers = if encoding.vary {
                    &headers[..]
                } else {
                    &headers[..1]
                };
                r.send_error_details(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    ErrorDetails {
                        headers,
                        keep_alive: true,
                        ..ErrorDetails::default()
                    },
                )?;
                return Ok(());
            }
        };
        r.send_header("Content-Type", &meta.content_type)?;
        r.send_header("Content-Length", count)?;
        send_validators(r, meta, sandbox)?;
        encoding.send_headers(r)?;
        r.end_headers()?;
        match usize::try_from(count) {
            Ok(small) if small <= SMALL_FILE && r.command != "HEAD" => {
                // One read, and the body leaves with the head in one write:
                // a separate sendfile would put the head in a segment of its
                // own and wake the client twice.
                SMALL_FILE_BUFFER.with(|buf| {
                    let mut buf = buf.borrow_mut();
                    buf.resize(SMALL_FILE, 0);
                    let body = &mut buf[..small];
                    file.read_exact_at(body, offset)?;
                    io::Write::write_all(&mut r.wfile, body)
                })?;
            }
            _ => r.wfile.write_file(file, offset, count)?,
        }
        Ok(())
    }

    fn log_line(&self, client: ClientAddress, message: fmt::Arguments<'_>) {
        if !self.quiet {
            crate::log::write_line(client, message);
        }
    }
}

impl Handler for SimpleHttpRequestHandler {
    /// Answers a CORS preflight if [`cors`](Self::cors) is on; then asks
    /// for credentials if `auth` requires them and they are
    /// missing or wrong (401); then runs the `do_*` method.
    fn handle(&self, r: &mut Request<'_>) -> HandlerResult {
        if self.cors && headers::is_preflight(r) {
            return headers::preflight(r);
        }
        #[cfg(feature = "auth")]
        if !self.authorized(r) {
            return auth::challenge(r);
        }
        dispatch(self, r)
    }

    /// A client waiting for `100 Continue` without accepted credentials
    /// gets the 401 at once, and never sends its body; so does an upload
    /// refused before its body (cross-site 403, 413 by its
    /// `Content-Length`, 409 for an existing name).
    fn handle_expect_100(
        &self,
        r: &mut Request<'_>,
    ) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
        if self.cors && headers::is_preflight(r) {
            return Ok(true);
        }
        #[cfg(feature = "auth")]
        if !self.authorized(r) {
            auth::challenge(r)?;
            return Ok(false);
        }
        self.check_before_body(r)
    }

    /// The CORS headers and those of [`header`](Self::header).
    fn extra_headers(&self, r: &mut Request<'_>) -> io::Result<()> {
        if self.uploads.enabled {
            // Browsers must not take an uploaded file for another type.
            r.send_header("X-Content-Type-Options", "nosniff")?;
        }
        headers::send_all(r, self.cors, &self.headers)
    }

    /// Serves a file, an index page or a directory listing.
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        self.serve(r)
    }

    /// The same as `GET`, without the body (its `Content-Length` is sent).
    fn do_head(&self, r: &mut Request<'_>) -> HandlerResult {
        self.serve(r)
    }

    /// Writes an upload, if [`upload`](Self::upload) allows them.
    fn do_put(&self, r: &mut Request<'_>) -> HandlerResult {
        self.write(r)
    }

    /// Writes the files of an upload form, if [`upload`](Self::upload)
    /// allows them.
    fn do_post(&self, r: &mut Request<'_>) -> HandlerResult {
        self.write(r)
    }

    fn protocol_version(&self) -> Version {
        self.protocol_version
    }

    fn log_message(&self, client: ClientAddress, message: fmt::Arguments<'_>) {
        self.log_line(client, message);
    }
}

/// The page a single-page application's missing paths are answered with.
const SPA_PAGE: &str = "/index.html";

/// Whether a request for a missing `target` gets [`SPA_PAGE`] instead:
/// a `GET` or `HEAD` whose `Accept` names `text/html` with a weight above
/// 0 (a browser navigating, not a script or an `<img>`), for a path whose
/// last segment has no extension (not an asset).
fn spa_applies(r: &Request<'_>, target: &Target<'_>) -> bool {
    let last = target
        .rel()
        .rsplit(|&b| b == b'/')
        .next()
        .unwrap_or_default();
    let asset = Path::new(OsStr::from_bytes(last)).extension().is_some();
    let html = named_quality(r.headers.get_all("Accept"), "text/html").is_some_and(|q| q > 0);
    matches!(r.command, "GET" | "HEAD") && html && !asset
}

/// How a file's response is encoded, and whether it varies by
/// `Accept-Encoding`: see [`PRECOMPRESSED`].
struct Encoding {
    /// The `Content-Encoding` of a precompressed copy sent in its place.
    coding: Option<&'static str>,
    /// Whether the file has a precompressed copy at all.
    vary: bool,
}

impl Encoding {
    /// `Content-Encoding` and `Vary`, where they apply.
    fn send_headers(&self, r: &mut Request<'_>) -> io::Result<()> {
        if let Some(coding) = self.coding {
            r.send_header("Content-Encoding", coding)?;
        }
        self.send_vary(r)
    }

    /// `Vary: Accept-Encoding` if the file has a precompressed copy: the
    /// choice depended on that header (RFC 9110 §12.5.5).
    fn send_vary(&self, r: &mut Request<'_>) -> io::Result<()> {
        if self.vary {
            r.send_header("Vary", "Accept-Encoding")?;
        }
        Ok(())
    }
}

/// The headers every 200 and 206 of a file carries besides its type and
/// length: its validators, and `Accept-Ranges` to say ranges may be asked.
/// With uploads on, HTML and SVG also carry a sandboxing
/// `Content-Security-Policy`.
fn send_validators(r: &mut Request<'_>, meta: &FileMeta, sandbox: Option<&str>) -> io::Result<()> {
    if let Some(policy) = sandbox {
        r.send_header("Content-Security-Policy", policy)?;
    }
    r.send_header("Last-Modified", &meta.last_modified)?;
    r.send_header("ETag", &meta.etag)?;
    r.send_header("Accept-Ranges", "bytes")
}

thread_local! {
    /// Where a small file is read before it is sent with the head: one per
    /// worker thread, allocated once.
    static SMALL_FILE_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A file's content type from its name, as Python's `guess_type`:
/// `text/plain; charset=utf-8` for `a.txt`, `application/octet-stream` when
/// the extension says nothing. Text types get a `charset=utf-8` parameter.
///
/// ```
/// use basehttp::files::guess_type;
/// use std::path::Path;
///
/// assert_eq!(guess_type(Path::new("index.html")), "text/html; charset=utf-8");
/// assert_eq!(guess_type(Path::new("clip.webm")), "video/webm");
/// assert_eq!(guess_type(Path::new("LICENSE")), "application/octet-stream");
/// ```
pub fn guess_type(path: &Path) -> String {
    match content_type(path) {
        (mime, true) => format!("{mime}; charset=utf-8"),
        (mime, false) => mime.to_string(),
    }
}

/// The media type of `path` and whether it is text (and so gets a charset).
fn content_type(path: &Path) -> (&'static str, bool) {
    let mime = mime_guess::from_path(path)
        .first_raw()
        .unwrap_or("application/octet-stream");
    let text = mime.starts_with("text/")
        || matches!(
            mime,
            "application/javascript" | "application/json" | "application/xml" | "image/svg+xml"
        );
    (mime, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let cases = [
            ("a.txt", "text/plain; charset=utf-8"),
            ("index.html", "text/html; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"),
            ("x.json", "application/json; charset=utf-8"),
            ("clip.webm", "video/webm"),
            ("pic.png", "image/png"),
            ("Makefile", "application/octet-stream"),
        ];
        for (name, want) in cases {
            assert_eq!(guess_type(Path::new(name)), want, "{name}");
        }
    }
}
