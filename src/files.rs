//! `files`: the `SimpleHTTPRequestHandler` counterpart, a [`Handler`] that
//! serves the files under one directory.
//!
//! A request's path names a file relative to the served directory:
//! `GET /docs/a.txt` answers with the contents of `DIR/docs/a.txt`. A
//! directory is answered with its `index.html` (or `index.htm`) if it has
//! one, and otherwise with a generated listing of its entries; a directory
//! asked for without its trailing slash (`/docs`) is first redirected to
//! `/docs/`, so that relative links in the page resolve inside it.
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
//!   `Content-Range: bytes */LEN`. `If-Range` makes the range conditional on
//!   the file being unchanged (RFC 9110 §14).
//! - **Safety.** No request reaches outside the served directory: a `..`
//!   segment (raw or percent-encoded), an encoded `/` or `\`, or a NUL byte
//!   is refused with 400, and a symbolic link that leads outside is refused
//!   with 403 unless [`follow_symlinks_outside`] allows it. The kernel checks
//!   the last part (`openat2` with `RESOLVE_BENEATH`), so a link swapped in
//!   mid-request cannot escape either.
//!
//! File bodies up to 16 KiB are read and leave with the response head in one
//! write; larger ones go out with
//! [`Wfile::write_file`](crate::Wfile::write_file): `sendfile(2)` on plain
//! TCP connections, a constant-memory copy otherwise. Files served once stay
//! open for the next request of the same path ([`OPEN_FILE_CACHE`]), and
//! every request checks with one `stat` that the path still leads to the
//! same, unchanged file, so a saved or replaced file is served new at once.
//!
//! [`follow_symlinks_outside`]: SimpleHttpRequestHandler::follow_symlinks_outside

use crate::handler::{Handler, HandlerResult, Request};
use crate::status::{self, html_escape_into};
use http::{StatusCode, Version};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, percent_encode};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt::{self, Write as _};
use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, UNIX_EPOCH};

/// The files a directory is answered with, in order of preference, before a
/// listing is generated: Python's `index_pages`.
pub const INDEX_PAGES: [&str; 2] = ["index.html", "index.htm"];

/// Files up to this size (16 KiB) are read into memory and sent with the
/// response head in one write; larger ones go out with `sendfile(2)` after
/// the head. For a small file the copy costs less than a second send, which
/// puts the head in a TCP segment of its own and wakes the client twice.
const SMALL_FILE: usize = 16 * 1024;

/// The bytes of a path segment left as they are in links and `Location`
/// headers: letters, digits and `-._~`, the characters Python's
/// `urllib.parse.quote` keeps. Everything else is percent-encoded, `:` in
/// particular, so a file named `javascript:x` links to itself and not to a
/// scheme.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Serves the files under one directory: Python's `SimpleHTTPRequestHandler`.
///
/// `GET` and `HEAD` are answered (every other method gets 501, as in
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
/// | nothing there | 404 |
/// | a range past the end of the file | 416 |
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
    /// The same directory with every symbolic link resolved: what paths
    /// must stay under.
    canonical: PathBuf,
    /// The served directory, opened once (`O_PATH`): every file is opened
    /// relative to it.
    root: OwnedFd,
    follow_outside: bool,
    quiet: bool,
    protocol_version: Version,
    /// Files opened before, by request path: see [`OPEN_FILE_CACHE`].
    cache: RwLock<HashMap<Box<[u8]>, Arc<CachedFile>>>,
    cache_capacity: usize,
}

impl SimpleHttpRequestHandler {
    /// A handler serving `directory` (Python's `directory` argument; the
    /// binary's `--directory`). Fails if it does not exist or is not a
    /// directory.
    pub fn new(directory: impl AsRef<Path>) -> io::Result<Self> {
        let given = directory.as_ref();
        let canonical = std::fs::canonicalize(given)
            .map_err(|e| io::Error::new(e.kind(), format!("directory {}: {e}", given.display())))?;
        let root = rustix::fs::open(
            &canonical,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            let e = io::Error::from(e);
            io::Error::new(e.kind(), format!("directory {}: {e}", given.display()))
        })?;
        let directory = std::path::absolute(given).unwrap_or_else(|_| canonical.clone());
        Ok(SimpleHttpRequestHandler {
            directory,
            canonical,
            root,
            follow_outside: false,
            quiet: false,
            protocol_version: Version::HTTP_11,
            cache: RwLock::new(HashMap::new()),
            cache_capacity: OPEN_FILE_CACHE,
        })
    }

    /// Whether symbolic links that lead outside the served directory are
    /// followed. Default `false`: such a link is answered with 403 and its
    /// target's size and time are not shown in listings. Links that stay
    /// inside are always followed. A `..` in the request itself is refused
    /// either way.
    pub fn follow_symlinks_outside(mut self, follow: bool) -> Self {
        self.follow_outside = follow;
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
        self.cache_capacity = capacity;
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
        if let Some(hit) = self.cached(&target) {
            return self.send_file(r, &hit.file, &hit.meta);
        }
        let fd = match self.open(target.rel()) {
            Ok(fd) => fd,
            Err(e) => return self.send_open_error(r, e),
        };
        let stat = rustix::fs::fstat(&fd).map_err(io::Error::from)?;
        match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory => {
                if !target.trailing_slash {
                    return redirect_to_directory(r, &target);
                }
                for page in INDEX_PAGES {
                    let mut rel = target.rel().to_vec();
                    if !rel.is_empty() {
                        rel.push(b'/');
                    }
                    rel.extend_from_slice(page.as_bytes());
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
                                    self.remember(&target, rel, &file, &stat, &meta);
                                }
                                return self.send_file(r, &file, &meta);
                            }
                        }
                        Err(OpenError::NotFound) => {}
                        Err(e) => return self.send_open_error(r, e),
                    }
                }
                self.list_directory(r, fd, &target)
            }
            FileType::RegularFile if target.trailing_slash => {
                // `/file.txt/` names no directory (Python answers the same).
                r.send_error_message(StatusCode::NOT_FOUND, Some("File not found"), None)?;
                Ok(())
            }
            FileType::RegularFile => {
                let file = File::from(fd);
                let meta = FileMeta::new(&stat, Path::new(OsStr::from_bytes(target.rel())));
                self.remember(&target, target.rel().to_vec(), &file, &stat, &meta);
                self.send_file(r, &file, &meta)
            }
            _ => {
                r.send_error_message(StatusCode::FORBIDDEN, Some("Not a regular file"), None)?;
                Ok(())
            }
        }
    }

    /// Opens `rel` (a relative path with no `..` segment, `""` for the
    /// directory itself) for reading, without ever leaving the served
    /// directory unless links outside are allowed.
    fn open(&self, rel: &[u8]) -> Result<OwnedFd, OpenError> {
        let rel = if rel.is_empty() { &b"."[..] } else { rel };
        let path = OsStr::from_bytes(rel);
        // O_NONBLOCK: opening a FIFO must not wait for a writer. It changes
        // nothing for regular files and directories.
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
        if self.follow_outside {
            return rustix::fs::openat(&self.root, path, flags, Mode::empty())
                .map_err(OpenError::from_errno);
        }
        // The kernel refuses any resolution that leaves the directory,
        // through `..` in a link or an absolute link (EXDEV), so a link
        // swapped in after a check cannot escape.
        let beneath = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        match rustix::fs::openat2(&self.root, path, flags, Mode::empty(), beneath) {
            Ok(fd) => Ok(fd),
            // An absolute link, or one that leaves and comes back, may still
            // end inside: resolve it fully and check where it ends.
            // ENOSYS/EPERM: no openat2 here (before Linux 5.6, or a seccomp
            // filter that does not know it).
            Err(rustix::io::Errno::XDEV | rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => {
                self.open_checked(path, flags)
            }
            Err(e) => Err(OpenError::from_errno(e)),
        }
    }

    /// The slow path of [`open`](Self::open): resolves every link in user
    /// space and opens the result only if it lies under the directory.
    fn open_checked(&self, rel: &OsStr, flags: OFlags) -> Result<OwnedFd, OpenError> {
        let full =
            std::fs::canonicalize(self.canonical.join(rel)).map_err(|e| OpenError::from_io(&e))?;
        if !full.starts_with(&self.canonical) {
            return Err(OpenError::Outside);
        }
        rustix::fs::open(&full, flags, Mode::empty()).map_err(OpenError::from_errno)
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

    /// Sends a regular file, whole or the part a `Range` asks for, or 304 if
    /// the client's copy is current.
    fn send_file(&self, r: &mut Request<'_>, file: &File, meta: &FileMeta) -> HandlerResult {
        let len = meta.len;
        if not_modified(r, meta) {
            r.send_response(StatusCode::NOT_MODIFIED)?;
            r.send_header("ETag", &meta.etag)?;
            r.send_header("Last-Modified", &meta.last_modified)?;
            r.end_headers()?;
            return Ok(());
        }
        let range = if r.command == "GET" && range_applies(r, meta) {
            r.headers
                .get_bytes("Range")
                .map_or(ByteRange::Whole, |h| parse_range(h, len))
        } else {
            // RFC 9110 §14.2: Range is defined for GET only.
            ByteRange::Whole
        };
        let (offset, count) = match range {
            ByteRange::Whole => {
                r.send_response(StatusCode::OK)?;
                (0, len)
            }
            ByteRange::Part { first, last } => {
                r.send_response(StatusCode::PARTIAL_CONTENT)?;
                r.send_header("Content-Range", format_args!("bytes {first}-{last}/{len}"))?;
                (first, last - first + 1)
            }
            ByteRange::Unsatisfiable => return self.send_unsatisfiable(r, len),
        };
        r.send_header("Content-Type", &meta.content_type)?;
        r.send_header("Content-Length", count)?;
        r.send_header("Last-Modified", &meta.last_modified)?;
        r.send_header("ETag", &meta.etag)?;
        r.send_header("Accept-Ranges", "bytes")?;
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

    /// 416 with `Content-Range: bytes */LEN` (RFC 9110 §15.5.17) and the
    /// standard error page. Unlike `send_error`, it keeps the connection:
    /// the request was well formed, only the range was out of bounds.
    fn send_unsatisfiable(&self, r: &mut Request<'_>, len: u64) -> HandlerResult {
        let code = StatusCode::RANGE_NOT_SATISFIABLE;
        let message = code.canonical_reason().unwrap_or("Range Not Satisfiable");
        r.log_error(format_args!("code {}, message {message}", code.as_u16()));
        let page = self.error_message_format(
            code,
            &status::html_escape(message, false),
            &status::html_escape(status::explanation(code), false),
        );
        r.send_response(code)?;
        r.send_header("Content-Range", format_args!("bytes */{len}"))?;
        r.send_header("Content-Type", self.error_content_type())?;
        r.send_header("Content-Length", page.len())?;
        r.end_headers()?;
        io::Write::write_all(&mut r.wfile, page.as_bytes())?;
        Ok(())
    }

    /// The listing page of a directory without an index page: Python's
    /// `list_directory`, with sizes and modification times.
    fn list_directory(&self, r: &mut Request<'_>, dir: OwnedFd, target: &Target) -> HandlerResult {
        let entries = match self.read_entries(&dir, target) {
            Ok(entries) => entries,
            Err(e) => {
                let explain = format!("The directory could not be read: {e}");
                r.send_error_message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Some("Cannot list directory"),
                    Some(&explain),
                )?;
                return Ok(());
            }
        };
        let page = listing_page(&target.display_path(), &entries, !target.rel().is_empty());
        r.send_response(StatusCode::OK)?;
        r.send_header("Content-Type", "text/html; charset=utf-8")?;
        r.send_header("Content-Length", page.len())?;
        r.end_headers()?;
        io::Write::write_all(&mut r.wfile, page.as_bytes())?;
        Ok(())
    }

    /// The entries of an open directory, sorted as Python sorts them (by
    /// lower-cased name), with what the listing shows of each.
    fn read_entries(&self, dir: &OwnedFd, target: &Target) -> io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for entry in rustix::fs::Dir::read_from(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let name = name.to_vec();
            let name_os = OsStr::from_bytes(&name);
            let link = rustix::fs::statat(dir, name_os, AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Symlink);
            let followed = rustix::fs::statat(dir, name_os, AtFlags::empty()).ok();
            let is_dir = followed
                .as_ref()
                .is_some_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Directory);
            // A link's target is described only if it may be served.
            let shown = if link && !self.follow_outside {
                let mut rel = target.rel().to_vec();
                if !rel.is_empty() {
                    rel.push(b'/');
                }
                rel.extend_from_slice(&name);
                followed.filter(|_| self.open(&rel).is_ok())
            } else {
                followed
            };
            entries.push(Entry {
                name,
                is_dir,
                link,
                size: shown
                    .as_ref()
                    .filter(|_| !is_dir)
                    .map(|s| u64::try_from(s.st_size).unwrap_or(0)),
                modified: shown.as_ref().map(Modified::of),
            });
        }
        entries.sort_by(|a, b| {
            let (la, lb) = (a.name.to_ascii_lowercase(), b.name.to_ascii_lowercase());
            la.cmp(&lb).then_with(|| a.name.cmp(&b.name))
        });
        Ok(entries)
    }

    /// The file a request named last time, if it is still the same file:
    /// one `stat` of its path instead of opening it again. Safe with links:
    /// the file was reached inside the directory when it was opened, and a
    /// path that now leads elsewhere (another device, inode, size or time)
    /// misses, and is opened (and checked) anew.
    fn cached(&self, target: &Target<'_>) -> Option<Arc<CachedFile>> {
        if self.cache_capacity == 0 {
            return None;
        }
        let hit = Arc::clone(read_lock(&self.cache).get(target.cache_key())?);
        let path = if hit.path.is_empty() {
            OsStr::new(".")
        } else {
            OsStr::from_bytes(&hit.path)
        };
        match rustix::fs::statat(&self.root, path, AtFlags::empty()) {
            Ok(now) if same_file(&now, &hit.stat) => Some(hit),
            _ => {
                write_lock(&self.cache).remove(target.cache_key());
                None
            }
        }
    }

    /// Keeps an opened regular file for the next request of `target`.
    fn remember(
        &self,
        target: &Target<'_>,
        path: Vec<u8>,
        file: &File,
        stat: &Stat,
        meta: &FileMeta,
    ) {
        if self.cache_capacity == 0 {
            return;
        }
        let Ok(file) = file.try_clone() else {
            return;
        };
        let mut cache = write_lock(&self.cache);
        if cache.len() >= self.cache_capacity {
            // Crude but bounded: start over rather than track recency.
            cache.clear();
        }
        cache.insert(
            target.cache_key().into(),
            Arc::new(CachedFile {
                path: path.into(),
                file,
                stat: *stat,
                meta: meta.clone(),
            }),
        );
    }

    fn log_line(&self, client: SocketAddr, message: fmt::Arguments<'_>) {
        if !self.quiet {
            crate::log::write_line(client, message);
        }
    }
}

impl Handler for SimpleHttpRequestHandler {
    /// Serves a file, an index page or a directory listing.
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        self.serve(r)
    }

    /// The same as `GET`, without the body (its `Content-Length` is sent).
    fn do_head(&self, r: &mut Request<'_>) -> HandlerResult {
        self.serve(r)
    }

    fn protocol_version(&self) -> Version {
        self.protocol_version
    }

    fn log_message(&self, client: SocketAddr, message: fmt::Arguments<'_>) {
        self.log_line(client, message);
    }
}

/// Default size of the open-file cache: 1024 files. A request for a path
/// served before costs one `stat` of the path instead of opening, checking
/// and closing the file (nginx's `open_file_cache` does the same, but trusts
/// its entries for 60 seconds without looking; here every request looks).
pub const OPEN_FILE_CACHE: usize = 1024;

/// A file kept open for the next request of the same path.
struct CachedFile {
    /// The file's path under the directory (for a directory request, its
    /// index page).
    path: Box<[u8]>,
    file: File,
    /// What `fstat` said when it was opened.
    stat: Stat,
    /// Its headers, formatted once.
    meta: FileMeta,
}

/// What the response headers say about a file, formatted once per opening.
#[derive(Clone, Debug)]
struct FileMeta {
    len: u64,
    modified: Modified,
    /// The `ETag` value, quotes included.
    etag: String,
    /// The `Last-Modified` value.
    last_modified: String,
    /// The `Content-Type` value.
    content_type: String,
}

impl FileMeta {
    fn new(stat: &Stat, name: &Path) -> Self {
        let modified = Modified::of(stat);
        FileMeta {
            len: u64::try_from(stat.st_size).unwrap_or(0),
            modified,
            etag: ETag::of(stat).to_string(),
            last_modified: modified.http_date().to_string(),
            content_type: guess_type(name),
        }
    }
}

thread_local! {
    /// Where a small file is read before it is sent with the head: one per
    /// worker thread, allocated once.
    static SMALL_FILE_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl fmt::Debug for CachedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedFile")
            .field("path", &String::from_utf8_lossy(&self.path))
            .finish_non_exhaustive()
    }
}

/// Whether two `stat` results describe the same, unchanged file: same
/// device and inode, size, and modification and change times (a `chmod`
/// changes the latter).
fn same_file(a: &Stat, b: &Stat) -> bool {
    (a.st_dev, a.st_ino, a.st_size, a.st_mode) == (b.st_dev, b.st_ino, b.st_size, b.st_mode)
        && (a.st_mtime, a.st_mtime_nsec) == (b.st_mtime, b.st_mtime_nsec)
        && (a.st_ctime, a.st_ctime_nsec) == (b.st_ctime, b.st_ctime_nsec)
}

fn read_lock<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write_lock<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

/// What went wrong opening a path.
#[derive(Debug)]
enum OpenError {
    /// Nothing there (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG): 404.
    NotFound,
    /// No permission (EACCES): 403.
    Forbidden,
    /// A symbolic link leads outside the served directory: 403.
    Outside,
    /// Anything else: 500.
    Other(io::Error),
}

impl OpenError {
    fn from_errno(e: rustix::io::Errno) -> Self {
        use rustix::io::Errno;
        match e {
            Errno::NOENT | Errno::NOTDIR | Errno::LOOP | Errno::NAMETOOLONG => OpenError::NotFound,
            Errno::ACCESS | Errno::PERM => OpenError::Forbidden,
            Errno::XDEV => OpenError::Outside,
            e => OpenError::Other(e.into()),
        }
    }

    fn from_io(e: &io::Error) -> Self {
        match e.raw_os_error() {
            Some(n) => Self::from_errno(rustix::io::Errno::from_raw_os_error(n)),
            None => OpenError::Other(io::Error::new(e.kind(), e.to_string())),
        }
    }
}

/// A request target turned into a path under the served directory.
#[derive(Debug, PartialEq, Eq)]
struct Target<'a> {
    /// The decoded path relative to the directory, segments joined by `/`,
    /// with no empty, `.` or `..` segment (empty for the directory itself),
    /// followed by one `/`: see [`rel`](Target::rel).
    rel_slash: Vec<u8>,
    /// Whether the path ended with `/` (a directory is asked for as one).
    trailing_slash: bool,
    /// The query string, without its `?`, if there was one.
    query: Option<&'a str>,
}

impl Target<'_> {
    /// The key of the open-file cache: the relative path, with its
    /// trailing `/` for a directory request (whose entry is its index page).
    fn cache_key(&self) -> &[u8] {
        if self.trailing_slash {
            &self.rel_slash
        } else {
            self.rel()
        }
    }

    /// The decoded path relative to the directory, segments joined by `/`,
    /// with no empty, `.` or `..` segment; empty for the directory itself.
    fn rel(&self) -> &[u8] {
        self.rel_slash.split_last().map_or(&[][..], |(_, rel)| rel)
    }

    /// The path as a page shows it: `/`, decoded, with the trailing slash.
    fn display_path(&self) -> String {
        let mut path = String::from("/");
        if !self.rel().is_empty() {
            path.push_str(&String::from_utf8_lossy(self.rel()));
            path.push('/');
        }
        path
    }

    /// The path percent-encoded for a URL, starting with exactly one `/`.
    fn url_path(&self) -> String {
        let mut url = String::from("/");
        for (i, segment) in self.rel().split(|&b| b == b'/').enumerate() {
            if segment.is_empty() {
                continue;
            }
            if i > 0 {
                url.push('/');
            }
            let _ = write!(url, "{}", percent_encode(segment, PATH_SEGMENT));
        }
        url
    }
}

/// Why a request target names no file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadPath {
    /// Not an origin-form (`/path`) or absolute-form (`http://host/path`)
    /// target.
    NotAPath,
    /// A `..` segment, raw or percent-encoded.
    DotDot,
    /// A percent-encoded `/` inside a segment.
    EncodedSlash,
    /// A backslash, raw or encoded: a separator on Windows, refused
    /// everywhere so no path means different things on different systems.
    Backslash,
    /// A NUL byte (`%00`), which would cut the path short in C.
    Nul,
}

impl BadPath {
    fn message(self) -> &'static str {
        match self {
            BadPath::NotAPath => "Bad request target: not a path",
            BadPath::DotDot => "Bad request path: '..' is not allowed",
            BadPath::EncodedSlash => "Bad request path: encoded '/' is not allowed",
            BadPath::Backslash => "Bad request path: '\\' is not allowed",
            BadPath::Nul => "Bad request path: NUL is not allowed",
        }
    }
}

/// Python's `translate_path`, made strict: the query and fragment are cut
/// off, each segment is percent-decoded on its own, empty and `.` segments
/// are dropped, and anything that could climb out of the directory or mean
/// two things is refused rather than quietly rewritten.
fn parse_target(target: &str) -> Result<Target<'_>, BadPath> {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q.split_once('#').map_or(q, |(q, _)| q))),
        None => (target, None),
    };
    let path = path.split_once('#').map_or(path, |(p, _)| p);
    // RFC 9112 §3.2.2: a server must accept the absolute form too.
    let path = match strip_scheme(path) {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => path,
    };
    if !path.starts_with('/') {
        return Err(BadPath::NotAPath);
    }
    let mut rel = Vec::with_capacity(path.len());
    for raw in path.split('/') {
        let start = rel.len();
        if start > 0 {
            rel.push(b'/');
        }
        let seg_start = rel.len();
        rel.extend(percent_decode(raw.as_bytes()));
        let segment = &rel[seg_start..];
        if segment.contains(&0) {
            return Err(BadPath::Nul);
        }
        if segment.contains(&b'\\') {
            return Err(BadPath::Backslash);
        }
        if segment.contains(&b'/') {
            return Err(BadPath::EncodedSlash);
        }
        match segment {
            b".." => return Err(BadPath::DotDot),
            b"" | b"." => rel.truncate(start),
            _ => {}
        }
    }
    let last = path.rsplit('/').next().unwrap_or("");
    let trailing_slash = last.is_empty() || percent_decode(last.as_bytes()).eq(*b".");
    rel.push(b'/');
    Ok(Target {
        rel_slash: rel,
        trailing_slash,
        query,
    })
}

/// The rest of an absolute-form target after `http://` or `https://`.
fn strip_scheme(path: &str) -> Option<&str> {
    for scheme in ["http://", "https://"] {
        if path.len() >= scheme.len() && path[..scheme.len()].eq_ignore_ascii_case(scheme) {
            return Some(&path[scheme.len()..]);
        }
    }
    None
}

/// 301 to the directory's path with a trailing slash, query kept, as
/// Python does. The `Location` is rebuilt from the decoded segments, so it
/// starts with exactly one `/`: a request for `//example.com/..%2f` can never
/// become a `Location: //example.com/…` that a browser would take for
/// another host (CPython gh-87389).
fn redirect_to_directory(r: &mut Request<'_>, target: &Target<'_>) -> HandlerResult {
    let mut location = target.url_path();
    if !location.ends_with('/') {
        location.push('/');
    }
    if let Some(query) = target.query {
        location.push('?');
        location.push_str(query);
    }
    r.send_response(StatusCode::MOVED_PERMANENTLY)?;
    r.send_header("Location", location)?;
    r.send_header("Content-Length", 0)?;
    r.end_headers()?;
    Ok(())
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

/// A file's modification time, in whole seconds as HTTP dates carry it,
/// clamped to what an IMF-fixdate can express (years 1970 to 9999).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Modified(u64);

impl Modified {
    /// The last second an HTTP date can name: 9999-12-31 23:59:59.
    const MAX: u64 = 253_402_300_799;

    fn of(stat: &Stat) -> Self {
        Modified(u64::try_from(stat.st_mtime).unwrap_or(0).min(Self::MAX))
    }

    fn from_http_date(value: &str) -> Option<Self> {
        let time = httpdate::parse_http_date(value.trim()).ok()?;
        let secs = time.duration_since(UNIX_EPOCH).ok()?.as_secs();
        Some(Modified(secs))
    }

    fn http_date(self) -> httpdate::HttpDate {
        httpdate::HttpDate::from(UNIX_EPOCH + Duration::from_secs(self.0))
    }
}

/// A strong entity tag (RFC 9110 §8.8.3): the file's inode, size and
/// modification time to the nanosecond, in hex. It changes whenever the file
/// is replaced or written to.
struct ETag {
    ino: u64,
    size: u64,
    secs: i64,
    nanos: u64,
}

impl ETag {
    fn of(stat: &Stat) -> Self {
        ETag {
            ino: stat.st_ino,
            size: u64::try_from(stat.st_size).unwrap_or(0),
            secs: stat.st_mtime,
            // Its type differs between targets (u64 here, i64 elsewhere).
            #[allow(clippy::useless_conversion)]
            nanos: u64::try_from(stat.st_mtime_nsec).unwrap_or(0),
        }
    }
}

/// Whether `tag` (with its quotes, perhaps with a `W/` prefix) is `ours`;
/// `weak` accepts the `W/` form (the weak comparison of `If-None-Match`,
/// RFC 9110 §8.8.3.2), otherwise it never matches (the strong comparison).
fn etag_matches(ours: &str, tag: &[u8], weak: bool) -> bool {
    let tag = match tag.strip_prefix(b"W/") {
        Some(rest) if weak => rest,
        Some(_) => return false,
        None => tag,
    };
    tag == ours.as_bytes()
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\"{:x}-{:x}-{:x}.{:x}\"",
            self.ino, self.size, self.secs, self.nanos
        )
    }
}

/// RFC 9110 §13.1.2 and §13.1.3, in the order §13.2.2 gives: whether a
/// `GET`/`HEAD` is answered 304. `If-None-Match`, when present, decides
/// alone; otherwise `If-Modified-Since` does.
fn not_modified(r: &Request<'_>, meta: &FileMeta) -> bool {
    if r.headers.contains("If-None-Match") {
        return r.headers.get_all("If-None-Match").any(|value| {
            value
                .split(|&b| b == b',')
                .map(|t| t.trim_ascii())
                .any(|t| t == b"*" || etag_matches(&meta.etag, t, true))
        });
    }
    match r.headers.get("If-Modified-Since") {
        Some(value) => Modified::from_http_date(value).is_some_and(|since| meta.modified <= since),
        None => false,
    }
}

/// RFC 9110 §13.1.5: whether a `Range` is honoured. Without `If-Range`,
/// always; with it, only if it names the current version: our strong ETag
/// (strong comparison), or exactly our `Last-Modified`.
fn range_applies(r: &Request<'_>, meta: &FileMeta) -> bool {
    let Some(value) = r.headers.get_bytes("If-Range") else {
        return true;
    };
    let value = value.trim_ascii();
    if value.starts_with(b"\"") || value.starts_with(b"W/") {
        etag_matches(&meta.etag, value, false)
    } else {
        std::str::from_utf8(value)
            .ok()
            .and_then(Modified::from_http_date)
            .is_some_and(|date| date == meta.modified)
    }
}

/// What a `Range` header asks of a representation of a given length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByteRange {
    /// No usable range: send the whole file with 200. Used for syntax the
    /// server does not understand and for several ranges at once, which a
    /// server may ignore (RFC 9110 §14.2).
    Whole,
    /// Bytes `first..=last`, both within the file: 206.
    Part { first: u64, last: u64 },
    /// The range starts at or past the end of the file: 416.
    Unsatisfiable,
}

/// Parses a `Range` value (RFC 9110 §14.1.2) for a file of `len` bytes: one
/// `bytes=FIRST-LAST`, `bytes=FIRST-` or `bytes=-SUFFIX` range.
fn parse_range(value: &[u8], len: u64) -> ByteRange {
    let Ok(value) = std::str::from_utf8(value) else {
        return ByteRange::Whole;
    };
    let Some((unit, spec)) = value.trim().split_once('=') else {
        return ByteRange::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return ByteRange::Whole;
    }
    let spec = spec.trim();
    if spec.contains(',') {
        return ByteRange::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return ByteRange::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if first.is_empty() {
        // A suffix: the last N bytes, or the whole file if it is shorter.
        if !digits(last) {
            return ByteRange::Whole;
        }
        let suffix = last.parse::<u64>().unwrap_or(u64::MAX);
        if suffix == 0 || len == 0 {
            return ByteRange::Unsatisfiable;
        }
        return ByteRange::Part {
            first: len - suffix.min(len),
            last: len - 1,
        };
    }
    if !digits(first) || !(last.is_empty() || digits(last)) {
        return ByteRange::Whole;
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
        return ByteRange::Whole;
    }
    if first >= len {
        return ByteRange::Unsatisfiable;
    }
    ByteRange::Part {
        first,
        last: last.min(len - 1),
    }
}

/// One row of a directory listing.
struct Entry {
    name: Vec<u8>,
    is_dir: bool,
    link: bool,
    /// `None` for directories and for links whose target is not shown.
    size: Option<u64>,
    modified: Option<Modified>,
}

/// The listing page: Python's layout, with a table for sizes and times.
fn listing_page(path: &str, entries: &[Entry], parent: bool) -> String {
    let mut title = String::new();
    html_escape_into(&format!("Directory listing for {path}"), true, &mut title);
    let mut page = String::with_capacity(512 + entries.len() * 160);
    let _ = write!(
        page,
        "<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n<hr>\n<table>\n\
         <tr><th>Name</th><th>Size</th><th>Last modified</th></tr>\n"
    );
    if parent {
        page.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for entry in entries {
        let mut display = String::from_utf8_lossy(&entry.name).into_owned();
        let mut href = percent_encode(&entry.name, PATH_SEGMENT).to_string();
        if entry.is_dir {
            display.push('/');
            href.push('/');
        }
        if entry.link {
            // Python marks links with `@`.
            display.push('@');
        }
        page.push_str("<tr><td><a href=\"");
        html_escape_into(&href, true, &mut page);
        page.push_str("\">");
        html_escape_into(&display, true, &mut page);
        page.push_str("</a></td><td>");
        match entry.size {
            Some(size) => {
                let _ = write!(page, "{size}");
            }
            None => page.push('-'),
        }
        page.push_str("</td><td>");
        match entry.modified {
            Some(m) => {
                let _ = write!(page, "{}", m.http_date());
            }
            None => page.push('-'),
        }
        page.push_str("</td></tr>\n");
    }
    page.push_str("</table>\n<hr>\n</body>\n</html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    /// A `SystemTime` as whole seconds since the epoch.
    fn secs(t: SystemTime) -> u64 {
        t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }

    /// A parsed target as (relative path, trailing slash).
    type Resolved = Result<(String, bool), BadPath>;

    fn rel(target: &str) -> Resolved {
        parse_target(target).map(|t| {
            (
                String::from_utf8(t.rel().to_vec()).unwrap(),
                t.trailing_slash,
            )
        })
    }

    #[test]
    fn path_resolution_table() {
        let ok = |s: &str, slash| Ok((s.to_string(), slash));
        let cases: &[(&str, Resolved)] = &[
            ("/", ok("", true)),
            ("/a.txt", ok("a.txt", false)),
            ("/sub/", ok("sub", true)),
            ("/sub", ok("sub", false)),
            ("/sub/a.txt?x=1#f", ok("sub/a.txt", false)),
            ("/a%20b.txt", ok("a b.txt", false)),
            ("/caf%C3%A9", ok("café", false)),
            ("//sub//a.txt", ok("sub/a.txt", false)),
            ("/./sub/./", ok("sub", true)),
            ("/sub/.", ok("sub", true)),
            ("/sub/%2e", ok("sub", true)),
            ("/100%", ok("100%", false)),
            ("/%zz", ok("%zz", false)),
            ("http://host/sub/a.txt", ok("sub/a.txt", false)),
            ("HTTPS://host", ok("", true)),
            ("//example.com", ok("example.com", false)),
            ("/..", Err(BadPath::DotDot)),
            ("/../etc/passwd", Err(BadPath::DotDot)),
            ("/sub/../a.txt", Err(BadPath::DotDot)),
            ("/%2e%2e/etc/passwd", Err(BadPath::DotDot)),
            ("/%2E%2e", Err(BadPath::DotDot)),
            ("/.%2e/", Err(BadPath::DotDot)),
            ("//example.com/..", Err(BadPath::DotDot)),
            ("//example.com/%2e%2e", Err(BadPath::DotDot)),
            ("/..%2fetc", Err(BadPath::EncodedSlash)),
            ("/sub%2F..%2F..%2Fetc", Err(BadPath::EncodedSlash)),
            ("/..%5cetc", Err(BadPath::Backslash)),
            ("/a\\b", Err(BadPath::Backslash)),
            ("/a%00.txt", Err(BadPath::Nul)),
            ("*", Err(BadPath::NotAPath)),
            ("a.txt", Err(BadPath::NotAPath)),
            ("", Err(BadPath::NotAPath)),
        ];
        for (target, want) in cases {
            assert_eq!(&rel(target), want, "target {target:?}");
        }
    }

    #[test]
    fn query_is_kept_and_location_never_starts_with_two_slashes() {
        let cases = [
            ("/sub?a=1&b=2", "/sub", Some("a=1&b=2")),
            ("//example.com", "/example.com", None),
            ("///example.com//x", "/example.com/x", None),
            ("/a%20b/c%3Ad", "/a%20b/c%3Ad", None),
            ("/", "/", None),
            ("/x?q#frag", "/x", Some("q")),
        ];
        for (target, url, query) in cases {
            let t = parse_target(target).unwrap();
            assert_eq!(t.url_path(), url, "target {target:?}");
            assert!(!t.url_path().starts_with("//"));
            assert_eq!(t.query, query, "target {target:?}");
        }
    }

    #[test]
    fn range_table() {
        use ByteRange::*;
        let cases: &[(&str, u64, ByteRange)] = &[
            ("bytes=0-99", 1000, Part { first: 0, last: 99 }),
            ("bytes=0-0", 1000, Part { first: 0, last: 0 }),
            (
                "bytes=100-",
                1000,
                Part {
                    first: 100,
                    last: 999,
                },
            ),
            (
                "bytes=0-",
                1000,
                Part {
                    first: 0,
                    last: 999,
                },
            ),
            (
                "bytes=990-2000",
                1000,
                Part {
                    first: 990,
                    last: 999,
                },
            ),
            (
                "bytes=-100",
                1000,
                Part {
                    first: 900,
                    last: 999,
                },
            ),
            (
                "bytes=-5000",
                1000,
                Part {
                    first: 0,
                    last: 999,
                },
            ),
            ("BYTES = 1-2 ", 1000, Part { first: 1, last: 2 }),
            (
                "bytes=999-999",
                1000,
                Part {
                    first: 999,
                    last: 999,
                },
            ),
            (
                "bytes=0-99999999999999999999999",
                10,
                Part { first: 0, last: 9 },
            ),
            ("bytes=1000-", 1000, Unsatisfiable),
            ("bytes=1000-1001", 1000, Unsatisfiable),
            ("bytes=99999999999999999999999-", 10, Unsatisfiable),
            ("bytes=-0", 1000, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            ("bytes=-1", 0, Unsatisfiable),
            ("bytes=5-4", 1000, Whole),
            ("bytes=0-1,5-6", 1000, Whole),
            ("items=0-1", 1000, Whole),
            ("bytes=a-b", 1000, Whole),
            ("bytes=-", 1000, Whole),
            ("bytes=--1", 1000, Whole),
            ("bytes=+1-2", 1000, Whole),
            ("bytes 0-1", 1000, Whole),
            ("", 1000, Whole),
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
    fn etag_comparison() {
        let tag = ETag {
            ino: 0x1f,
            size: 13,
            secs: 0x60,
            nanos: 5,
        };
        let ours = tag.to_string();
        assert_eq!(ours, "\"1f-d-60.5\"");
        assert!(etag_matches(&ours, b"\"1f-d-60.5\"", false));
        assert!(etag_matches(&ours, b"W/\"1f-d-60.5\"", true));
        assert!(!etag_matches(&ours, b"W/\"1f-d-60.5\"", false));
        assert!(!etag_matches(&ours, b"\"1f-d-60.6\"", true));
        assert!(!etag_matches(&ours, b"1f-d-60.5", true));
    }

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

    #[test]
    fn dates_are_clamped_to_what_http_can_say() {
        assert_eq!(secs(SystemTime::from(Modified(0).http_date())), 0);
        let late = Modified(Modified::MAX).http_date().to_string();
        assert_eq!(late, "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(
            Modified::from_http_date("Sun, 09 Dec 2007 16:00:34 GMT"),
            Some(Modified(1_197_216_034))
        );
        assert_eq!(Modified::from_http_date("yesterday"), None);
    }

    #[test]
    fn listing_escapes_names_and_encodes_links() {
        let entries = [
            Entry {
                name: b"<b>&\"x\".txt".to_vec(),
                is_dir: false,
                link: false,
                size: Some(3),
                modified: Some(Modified(0)),
            },
            Entry {
                name: b"javascript:alert(1)".to_vec(),
                is_dir: true,
                link: false,
                size: None,
                modified: None,
            },
        ];
        let page = listing_page("/<x>/", &entries, true);
        assert!(page.contains("<title>Directory listing for /&lt;x&gt;/</title>"));
        assert!(page.contains(
            "<a href=\"%3Cb%3E%26%22x%22.txt\">&lt;b&gt;&amp;&quot;x&quot;.txt</a></td><td>3</td>"
        ));
        assert!(page.contains("<a href=\"javascript%3Aalert%281%29/\">javascript:alert(1)/</a>"));
        assert!(page.contains("<a href=\"../\">../</a>"));
    }
}
