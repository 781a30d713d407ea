//! Uploads: `PUT /dir/name` writes the request body to a file, and a `POST`
//! of a `multipart/form-data` form to a directory writes each file part
//! (what the listing's upload form sends).
//!
//! Every upload streams into a temporary file in the target directory (a
//! name starting with [`TEMP_PREFIX`], which is never listed or served),
//! and only a complete upload is renamed into place: with
//! `renameat2(RENAME_NOREPLACE)` unless overwriting is allowed, so of two
//! uploads of one name exactly one wins and the other gets 409. Whatever
//! goes wrong (the client disconnects, the upload grows past the limit, the
//! disk fills up), the temporary file is removed and nothing is left.
//!
//! The directory is opened with the same rules as reads (no `..`, no link
//! leading outside, no hidden directory unless allowed), and the file is
//! created relative to that open directory, so a link swapped in meanwhile
//! cannot redirect the write.
//!
//! A browser sends a page's cached Basic credentials with a form posted
//! from any other site: writes whose `Origin` is another site's, or marked
//! `Sec-Fetch-Site: cross-site`, are refused with 403 ([`is_cross_site`]).

use super::SimpleHttpRequestHandler;
use super::path::{OpenError, PATH_SEGMENT, Root, Target, parse_target};
use crate::form::{FormConfig, FormError, FormKind, MultipartReader};
use crate::handler::{ErrorDetails, HandlerResult, Request};
use http::StatusCode;
use percent_encoding::percent_encode;
use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags};
use rustix::io::Errno;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicU64, Ordering};

/// The default largest upload, inclusive: 1 GiB (the binary's
/// `--max-upload-size` default). For a form, the whole request body counts.
pub const MAX_UPLOAD_SIZE: u64 = 1 << 30;

/// How the names of temporary upload files start. Such names are never
/// listed or served, hidden files allowed or not, and no upload may take
/// one.
pub const TEMP_PREFIX: &str = ".basehttp-upload-";

/// The upload settings of a handler.
#[derive(Debug, Clone, Copy)]
pub(super) struct Uploads {
    /// Whether uploads are accepted at all.
    pub(super) enabled: bool,
    /// Whether an upload may replace an existing file.
    pub(super) overwrite: bool,
    /// The largest upload, inclusive.
    pub(super) max_size: u64,
}

impl Default for Uploads {
    fn default() -> Self {
        Uploads {
            enabled: false,
            overwrite: false,
            max_size: MAX_UPLOAD_SIZE,
        }
    }
}

/// Reads an upload size: bytes, or a number with a `K`, `M` or `G` suffix
/// (powers of 1024; `k`, `m`, `g`, and a trailing `B` or `iB`, are taken
/// too). `None` for anything else, or a size that does not fit in a `u64`.
///
/// ```
/// use basehttp::files::parse_size;
///
/// assert_eq!(parse_size("1G"), Some(1 << 30));
/// assert_eq!(parse_size("64K"), Some(64 * 1024));
/// assert_eq!(parse_size("1000"), Some(1000));
/// assert_eq!(parse_size("1.5G"), None);
/// assert_eq!(parse_size("-1"), None);
/// ```
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let text = text
        .strip_suffix("iB")
        .or_else(|| text.strip_suffix('B'))
        .unwrap_or(text);
    let (digits, shift) = match text.as_bytes().last()? {
        b'K' | b'k' => (&text[..text.len() - 1], 10),
        b'M' | b'm' => (&text[..text.len() - 1], 20),
        b'G' | b'g' => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// Whether `name` is a temporary upload file's: never listed or served.
pub(super) fn is_temp_name(name: &[u8]) -> bool {
    name.starts_with(TEMP_PREFIX.as_bytes())
}

/// The upload form of a listing page, inserted before its closing
/// `</body>`: it posts the chosen files (several at once) back to the
/// listed directory.
pub(super) fn add_form(page: &mut String) {
    const FORM: &str = "<form method=\"post\" enctype=\"multipart/form-data\">\n\
        <input type=\"file\" name=\"file\" multiple required>\n\
        <button type=\"submit\">Upload</button>\n</form>\n<hr>\n";
    let at = page.rfind("</body>").unwrap_or(page.len());
    page.insert_str(at, FORM);
}

/// Whether a write comes from another site's page: an `Origin` that is not
/// this server's own (`http://` or `https://` followed by the request's
/// `Host`), or `Sec-Fetch-Site: cross-site`. A request with neither (a
/// script, `curl`) is not cross-site. The scheme is not compared: the
/// handler does not know whether the connection is TLS.
pub(super) fn is_cross_site(r: &Request<'_>) -> bool {
    if r.headers
        .get_bytes("Sec-Fetch-Site")
        .is_some_and(|v| v.trim_ascii().eq_ignore_ascii_case(b"cross-site"))
    {
        return true;
    }
    let Some(origin) = r.headers.get_bytes("Origin") else {
        return false;
    };
    let origin = origin.trim_ascii();
    let host = r.headers.get_bytes("Host").unwrap_or_default().trim_ascii();
    let rest = ["http://", "https://"].iter().find_map(|scheme| {
        (origin.len() > scheme.len()
            && origin[..scheme.len()].eq_ignore_ascii_case(scheme.as_bytes()))
        .then(|| &origin[scheme.len()..])
    });
    // `Origin: null` (a sandboxed page, a file) matches nothing.
    !rest.is_some_and(|rest| !host.is_empty() && rest.eq_ignore_ascii_case(host))
}

/// Whether a request is a write this module answers.
pub(super) fn is_write(r: &Request<'_>) -> bool {
    matches!(r.command, "PUT" | "POST")
}

/// Answers a write before its body is read (called from
/// `handle_expect_100` too, so no `100 Continue` invites a refused body):
/// 403 if cross-site, 413 if its `Content-Length` is over the limit.
/// Returns whether the body may come.
pub(super) fn precheck(
    r: &mut Request<'_>,
    uploads: &Uploads,
) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    if !uploads.enabled || !is_write(r) {
        return Ok(true);
    }
    if is_cross_site(r) {
        send_refusal(r, StatusCode::FORBIDDEN, "Cross-site writes are refused")?;
        return Ok(false);
    }
    if r.rfile
        .content_length()
        .is_some_and(|n| n > uploads.max_size)
    {
        send_too_large(r, uploads)?;
        return Ok(false);
    }
    Ok(true)
}

/// The `Content-Security-Policy` of a file whose `content_type` a browser
/// would run scripts in (HTML, SVG), when uploads are on: `sandbox`, so an
/// uploaded page runs no script with the visitor's credentials.
pub(super) fn sandbox_policy(uploads: &Uploads, content_type: &str) -> Option<&'static str> {
    let media = content_type.split(';').next().unwrap_or("").trim();
    let active = matches!(
        media,
        "text/html" | "image/svg+xml" | "application/xhtml+xml"
    );
    (uploads.enabled && active).then_some("sandbox")
}

/// The common refusals of both writes: uploads off (501, as for any
/// method without a handler), then those of [`precheck`]. `Some` once
/// answered.
fn refuse(r: &mut Request<'_>, uploads: &Uploads) -> Option<HandlerResult> {
    if !uploads.enabled {
        return Some(r.unsupported_method());
    }
    match precheck(r, uploads) {
        Ok(true) => None,
        Ok(false) => Some(Ok(())),
        Err(e) => Some(Err(e)),
    }
}

/// Writes every file part of the form in `body` into `dir`, all or
/// nothing: each part streams into a temporary file of its own (closed once
/// written, so a form holds no descriptor per part), and only when the
/// whole form has been read are they renamed into place. When a rename is
/// refused (the name exists, or the form names one file twice), the files
/// this form already created are removed again; a file it replaced
/// (`overwrite`) stays replaced.
fn write_parts(
    body: &mut dyn Read,
    boundary: &str,
    config: &FormConfig,
    dir: &OwnedFd,
    uploads: &Uploads,
    hidden: bool,
) -> Result<(), UploadError> {
    let mut reader = MultipartReader::new(body, boundary, config).map_err(UploadError::Form)?;
    let mut staged: Vec<(TempFile<'_>, String)> = Vec::new();
    while let Some(mut part) = reader.next_part().map_err(UploadError::Form)? {
        let Some(filename) = part.headers().filename().map(str::to_owned) else {
            continue; // A text field: skipped with the rest of its part.
        };
        if filename.is_empty() {
            continue; // A file input left empty: browsers send no name.
        }
        check_name(filename.as_bytes(), hidden).map_err(UploadError::Name)?;
        let temp = TempFile::fill(dir, |file| {
            part.copy_to(file, None).map_err(|e| match e {
                FormError::Io(e) => UploadError::Io(e),
                e => UploadError::Form(e),
            })
        })?;
        staged.push((temp, filename));
    }
    let mut created: Vec<String> = Vec::with_capacity(staged.len());
    for (temp, name) in staged {
        match temp.place(name.as_bytes(), uploads.overwrite) {
            Ok(false) => created.push(name),
            Ok(true) => {}
            Err(e) => {
                // The temporary files not yet placed are removed as the
                // rest of `staged` drops; the new names are removed here.
                for name in &created {
                    let _ = rustix::fs::unlinkat(dir, name.as_str(), AtFlags::empty());
                }
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Why an upload failed.
#[derive(Debug)]
enum UploadError {
    /// A bad name: 400 or 403.
    Name(NameError),
    /// The body was over the limit: 413.
    TooLarge,
    /// The name exists, or is a directory: 409.
    Exists,
    /// The form broke its syntax or a limit.
    Form(FormError),
    /// Reading the body or writing the file failed.
    Io(io::Error),
}

impl From<io::Error> for UploadError {
    fn from(e: io::Error) -> Self {
        UploadError::Io(e)
    }
}

impl From<Errno> for UploadError {
    fn from(e: Errno) -> Self {
        UploadError::Io(e.into())
    }
}

/// Answers a failed upload: a status where one fits, or the error itself
/// for the server to answer or close (a client gone mid-body).
fn send_failure(r: &mut Request<'_>, uploads: &Uploads, e: UploadError) -> HandlerResult {
    let (code, message) = match e {
        UploadError::Name(e) => (e.status(), e.message()),
        UploadError::TooLarge | UploadError::Form(FormError::TooLarge { .. }) => {
            return Ok(send_too_large(r, uploads)?);
        }
        UploadError::Exists => (StatusCode::CONFLICT, "A file of this name exists"),
        UploadError::Form(FormError::Io(e)) | UploadError::Io(e) => {
            match e.raw_os_error().map(Errno::from_raw_os_error) {
                // RFC 4918 §11.5: 507 Insufficient Storage.
                Some(Errno::NOSPC | Errno::DQUOT) => (
                    StatusCode::INSUFFICIENT_STORAGE,
                    "No space left for the upload",
                ),
                // Over the file size limit of the server's process.
                Some(Errno::FBIG) => return Ok(send_too_large(r, uploads)?),
                _ => return Err(Box::new(e)),
            }
        }
        UploadError::Form(e) => return e.respond(r),
    };
    r.send_error_message(code, Some(message), None)?;
    Ok(())
}

/// 413, closing the connection: the rest of the body is not read.
fn send_too_large(r: &mut Request<'_>, uploads: &Uploads) -> io::Result<()> {
    let message = format!("Uploads are limited to {} bytes", uploads.max_size);
    r.send_error_details(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorDetails {
            message: Some(&message),
            ..ErrorDetails::default()
        },
    )
}

/// An error page for a refused write; the connection stays if the body
/// can be drained.
fn send_refusal(r: &mut Request<'_>, code: StatusCode, message: &str) -> HandlerResult {
    r.send_error_details(
        code,
        ErrorDetails {
            message: Some(message),
            keep_alive: true,
            ..ErrorDetails::default()
        },
    )?;
    Ok(())
}

/// Why a name cannot be uploaded to.
#[derive(Debug, Clone, Copy)]
enum NameError {
    /// Empty, `.`, `..`, or holding `/`, `\` or NUL: 400.
    Bad,
    /// Starting with `.` without hidden files allowed, or a temporary
    /// upload's name: 403.
    Hidden,
}

impl NameError {
    fn status(self) -> StatusCode {
        match self {
            NameError::Bad => StatusCode::BAD_REQUEST,
            NameError::Hidden => StatusCode::FORBIDDEN,
        }
    }

    fn message(self) -> &'static str {
        match self {
            NameError::Bad => "Bad file name: '/', '\\', NUL and '..' are not allowed",
            NameError::Hidden => "File names starting with '.' are not allowed",
        }
    }
}

/// Checks an uploaded file's name: one path segment, not hidden unless
/// `hidden`, never a temporary upload's.
fn check_name(name: &[u8], hidden: bool) -> Result<(), NameError> {
    if name.is_empty()
        || name == b"."
        || name == b".."
        || name.iter().any(|&b| matches!(b, b'/' | b'\\' | 0))
    {
        return Err(NameError::Bad);
    }
    if is_temp_name(name) || (!hidden && name.first() == Some(&b'.')) {
        return Err(NameError::Hidden);
    }
    Ok(())
}

/// Why the target directory cannot take an upload.
#[derive(Debug)]
enum DirError {
    /// Missing, or not a directory: 409 (RFC 9110 §9.3.4).
    Missing,
    /// Hidden, unreadable, or leading outside: 403.
    Forbidden,
    /// Any other failure: 500.
    Other,
}

impl DirError {
    fn status(&self) -> StatusCode {
        match self {
            DirError::Missing => StatusCode::CONFLICT,
            DirError::Forbidden => StatusCode::FORBIDDEN,
            DirError::Other => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(&self) -> &'static str {
        match self {
            DirError::Missing => "The parent directory does not exist",
            DirError::Forbidden => "Uploads to this directory are not allowed",
            DirError::Other => "The directory cannot be opened",
        }
    }
}

/// Opens the directory `rel` under the root with the rules of reads.
fn open_dir(root: &Root, rel: &[u8], hidden: bool) -> Result<OwnedFd, DirError> {
    let hidden_segment = rel.split(|&b| b == b'/').any(|s| s.first() == Some(&b'.'));
    if !hidden && hidden_segment {
        return Err(DirError::Forbidden);
    }
    let fd = root.open(rel).map_err(|e| match e {
        OpenError::NotFound => DirError::Missing,
        OpenError::Forbidden | OpenError::Outside => DirError::Forbidden,
        OpenError::Other(_) => DirError::Other,
    })?;
    if !hidden && root.leads_to_hidden(rel, &fd) {
        return Err(DirError::Forbidden);
    }
    let stat = rustix::fs::fstat(&fd).map_err(|_| DirError::Other)?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
        return Err(DirError::Missing);
    }
    Ok(fd)
}

/// Distinguishes the temporary files of one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary upload file in its directory, removed when dropped unless
/// it was renamed into place.
struct TempFile<'d> {
    dir: &'d OwnedFd,
    name: String,
    placed: bool,
}

impl<'d> TempFile<'d> {
    /// Creates a new file in `dir`, with a name no other file has: its name
    /// and descriptor.
    fn create(dir: &OwnedFd) -> io::Result<(String, OwnedFd)> {
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
        loop {
            let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let name = format!("{TEMP_PREFIX}{}-{n}-{nanos:08x}", std::process::id());
            match rustix::fs::openat(dir, name.as_str(), flags, Mode::from_raw_mode(0o644)) {
                Ok(fd) => return Ok((name, fd)),
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Creates a temporary file in `dir`, writes it with `fill` and closes
    /// it. On any error the file is removed.
    fn fill(
        dir: &'d OwnedFd,
        fill: impl FnOnce(&mut File) -> Result<u64, UploadError>,
    ) -> Result<TempFile<'d>, UploadError> {
        let (name, fd) = Self::create(dir)?;
        // Removed on drop from here on, even if `fill` fails.
        let temp = TempFile {
            dir,
            name,
            placed: false,
        };
        let mut file = File::from(fd);
        fill(&mut file)?;
        file.flush()?;
        Ok(temp)
    }

    /// Renames the file to `name`: never over an existing one unless
    /// `overwrite`. Returns whether a file was replaced.
    fn place(mut self, name: &[u8], overwrite: bool) -> Result<bool, UploadError> {
        let (dir, from, to) = (self.dir, self.name.as_str(), OsStr::from_bytes(name));
        let exists = |e: Errno| match e {
            Errno::EXIST | Errno::ISDIR | Errno::NOTEMPTY => UploadError::Exists,
            e => e.into(),
        };
        match rustix::fs::renameat_with(dir, from, dir, to, RenameFlags::NOREPLACE) {
            Ok(()) => {
                self.placed = true;
                Ok(false)
            }
            Err(Errno::EXIST) if overwrite => {
                rustix::fs::renameat(dir, from, dir, to).map_err(exists)?;
                self.placed = true;
                Ok(true)
            }
            // A file system without RENAME_NOREPLACE: a hard link fails the
            // same way on an existing name (the temporary name, left
            // behind, is removed on drop).
            Err(Errno::INVAL | Errno::NOSYS) if !overwrite => {
                rustix::fs::linkat(dir, from, dir, to, AtFlags::empty()).map_err(exists)?;
                Ok(false)
            }
            Err(Errno::INVAL | Errno::NOSYS) => {
                let existed = rustix::fs::statat(dir, to, AtFlags::SYMLINK_NOFOLLOW).is_ok();
                rustix::fs::renameat(dir, from, dir, to).map_err(exists)?;
                self.placed = true;
                Ok(existed)
            }
            Err(e) => Err(exists(e)),
        }
    }
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if !self.placed {
            let _ = rustix::fs::unlinkat(self.dir, self.name.as_str(), AtFlags::empty());
        }
    }
}

/// Streams an upload into a temporary file in `dir` with `fill`, then
/// renames it to `name`. Returns whether an existing file was replaced. On
/// any error the temporary file is removed.
fn write_file(
    dir: &OwnedFd,
    name: &[u8],
    overwrite: bool,
    fill: impl FnOnce(&mut File) -> Result<u64, UploadError>,
) -> Result<bool, UploadError> {
    TempFile::fill(dir, fill)?.place(name, overwrite)
}

/// Copies `body` to `file`, failing with [`UploadError::TooLarge`] once
/// more than `max` bytes have come (a chunked body has no length to check
/// in advance).
fn copy_limited(body: &mut dyn Read, file: &mut File, max: u64) -> Result<u64, UploadError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(UploadError::Io(e)),
        };
        total += n as u64;
        if total > max {
            return Err(UploadError::TooLarge);
        }
        file.write_all(&buf[..n])?;
    }
}

/// `rel` split into its parent directory and its last name.
fn split_parent(rel: &[u8]) -> (&[u8], &[u8]) {
    match rel.iter().rposition(|&b| b == b'/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => (&[], rel),
    }
}

/// The URL path of `rel` (a path under the root), percent-encoded.
fn url_of(rel: &[u8]) -> String {
    let mut url = String::from("/");
    for (i, segment) in rel.split(|&b| b == b'/').enumerate() {
        if i > 0 {
            url.push('/');
        }
        url.extend(percent_encode(segment, PATH_SEGMENT));
    }
    url
}

impl SimpleHttpRequestHandler {
    /// Whether uploads are accepted (the binary's `-u/--upload`). Default
    /// `false`: `PUT` and `POST` get 501, as in Python.
    ///
    /// With it:
    ///
    /// - `PUT /dir/name` writes the request body to `DIR/dir/name`: 201
    ///   Created with `Location`, or 204 No Content when it replaced a
    ///   file (see [`overwrite`](Self::overwrite)).
    /// - A `POST` of a `multipart/form-data` form to a directory writes
    ///   each file part under the name its `filename` gives (several per
    ///   form; a browser's `<input type=file multiple>` works), then
    ///   answers 303 See Other back to the directory, whose listing shows
    ///   an upload form.
    /// - An existing name gets 409 Conflict unless overwriting is on, and
    ///   so does a missing parent directory; a name with `/`, `\`, NUL, or
    ///   that is `..`, gets 400, and one starting with `.` gets 403 unless
    ///   [`hidden`](Self::hidden) allows dot-files. Paths follow the rules
    ///   of reads (400 for `..`, 403 for a link leading outside).
    /// - More than [`max_upload_size`](Self::max_upload_size) bytes get
    ///   413, before any byte is read when `Content-Length` says so (and a
    ///   client waiting for `100 Continue` is never invited to send).
    /// - A write from another site's page (its `Origin`, or
    ///   `Sec-Fetch-Site: cross-site`) gets 403: a browser would attach the
    ///   visitor's cached credentials to it.
    /// - Every response carries `X-Content-Type-Options: nosniff`, and
    ///   HTML and SVG files are served with `Content-Security-Policy:
    ///   sandbox`, so an uploaded page runs no script with the visitor's
    ///   credentials.
    ///
    /// Each upload streams into a temporary file in its directory (named
    /// [`TEMP_PREFIX`]…, never listed or served) and is renamed into place
    /// only when complete: a client that disconnects, a body over the
    /// limit or a full disk (507) leave nothing behind. With `auth`,
    /// uploads need credentials even when reads are public.
    ///
    /// ```
    /// use basehttp::SimpleHttpRequestHandler;
    ///
    /// let handler = SimpleHttpRequestHandler::new(std::env::temp_dir())?
    ///     .upload(true)
    ///     .overwrite(false)
    ///     .max_upload_size(100 << 20);
    /// # let _ = handler;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn upload(mut self, accept: bool) -> Self {
        self.uploads.enabled = accept;
        self
    }

    /// With [`upload`](Self::upload): whether an upload may replace an
    /// existing file (the binary's `--overwrite`). Default `false`: 409
    /// Conflict, and of two uploads of one name at once exactly one wins.
    /// A directory is never replaced.
    pub fn overwrite(mut self, replace: bool) -> Self {
        self.uploads.overwrite = replace;
        self
    }

    /// With [`upload`](Self::upload): the largest upload in bytes,
    /// inclusive (the binary's `--max-upload-size`). Default
    /// [`MAX_UPLOAD_SIZE`] (1 GiB). For a form, the whole request body
    /// counts. `0` allows only empty files.
    pub fn max_upload_size(mut self, bytes: u64) -> Self {
        self.uploads.max_size = bytes;
        self
    }

    /// Refuses a write before its body is read, for
    /// `handle_expect_100`: the refusals of [`precheck`], and 409 for a
    /// `PUT` to a name that exists (unless overwriting), so the client
    /// never sends a body that could not be kept. The rename stays the
    /// judge: a name taken meanwhile still gets 409 after the body.
    pub(super) fn check_before_body(
        &self,
        r: &mut Request<'_>,
    ) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
        if !precheck(r, &self.uploads)? {
            return Ok(false);
        }
        let put = self.uploads.enabled && r.command == "PUT";
        if put && !self.uploads.overwrite && self.name_exists(r.path) {
            send_refusal(r, StatusCode::CONFLICT, "A file of this name exists")?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Whether the file a `PUT` to `path` would write exists already.
    fn name_exists(&self, path: &str) -> bool {
        let Ok(target) = parse_target(path) else {
            return false;
        };
        let (parent, name) = split_parent(target.rel());
        let Ok(dir) = open_dir(&self.root, parent, self.hidden) else {
            return false;
        };
        !name.is_empty()
            && rustix::fs::statat(&dir, OsStr::from_bytes(name), AtFlags::SYMLINK_NOFOLLOW).is_ok()
    }

    /// Answers `PUT` and `POST`: parses the path, then writes.
    pub(super) fn write(&self, r: &mut Request<'_>) -> HandlerResult {
        if let Some(answered) = refuse(r, &self.uploads) {
            return answered;
        }
        let target = match parse_target(r.path) {
            Ok(t) => t,
            Err(e) => return send_refusal(r, StatusCode::BAD_REQUEST, e.message()),
        };
        if r.command == "PUT" {
            self.put(r, &target)
        } else {
            self.post(r, &target)
        }
    }

    /// Answers `PUT`: writes the body to the file `target` names.
    fn put(&self, r: &mut Request<'_>, target: &Target<'_>) -> HandlerResult {
        let (root, uploads, hidden) = (&self.root, &self.uploads, self.hidden);
        let rel = target.rel();
        let (parent, name) = split_parent(rel);
        if target.trailing_slash || name.is_empty() {
            return send_refusal(r, StatusCode::BAD_REQUEST, "PUT needs a file name");
        }
        if let Err(e) = check_name(name, hidden) {
            return send_refusal(r, e.status(), e.message());
        }
        let dir = match open_dir(root, parent, hidden) {
            Ok(dir) => dir,
            Err(e) => return send_refusal(r, e.status(), e.message()),
        };
        let max = uploads.max_size;
        let result = write_file(&dir, name, uploads.overwrite, |file| {
            copy_limited(&mut r.rfile, file, max)
        });
        match result {
            Ok(replaced) => {
                let code = if replaced {
                    StatusCode::NO_CONTENT
                } else {
                    StatusCode::CREATED
                };
                r.send_response(code)?;
                if !replaced {
                    r.send_header("Location", url_of(rel))?;
                }
                r.send_header("Content-Length", 0)?;
                r.end_headers()?;
                Ok(())
            }
            Err(e) => send_failure(r, uploads, e),
        }
    }

    /// Answers `POST` of a `multipart/form-data` form to the directory
    /// `target` names: writes each file part, then 303 back to the listing.
    /// All or nothing: when one part is refused (409, 400, 413), none is
    /// written (see [`write_parts`]).
    fn post(&self, r: &mut Request<'_>, target: &Target<'_>) -> HandlerResult {
        let (root, uploads, hidden) = (&self.root, &self.uploads, self.hidden);
        let boundary = match r
            .headers
            .get("Content-Type")
            .map(FormKind::from_content_type)
        {
            Some(Ok(FormKind::Multipart { boundary })) => boundary,
            _ => {
                return send_refusal(
                    r,
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Uploads are posted as multipart/form-data",
                );
            }
        };
        let dir = match open_dir(root, target.rel(), hidden) {
            Ok(dir) => dir,
            Err(e) => return send_refusal(r, e.status(), e.message()),
        };
        let config = FormConfig {
            max_body_size: Some(uploads.max_size),
            ..FormConfig::default()
        };
        let written = write_parts(&mut r.rfile, &boundary, &config, &dir, uploads, hidden);
        match written {
            Ok(()) => {
                let mut location = url_of(target.rel());
                if !location.ends_with('/') {
                    location.push('/');
                }
                r.send_response(StatusCode::SEE_OTHER)?;
                r.send_header("Location", location)?;
                r.send_header("Content-Length", 0)?;
                r.end_headers()?;
                Ok(())
            }
            Err(e) => send_failure(r, uploads, e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let cases = [
            ("0", Some(0)),
            ("1000", Some(1000)),
            ("1K", Some(1024)),
            ("2k", Some(2048)),
            ("3M", Some(3 << 20)),
            ("1G", Some(1 << 30)),
            ("1GiB", Some(1 << 30)),
            ("10MB", Some(10 << 20)),
            ("", None),
            ("G", None),
            ("1T", None),
            ("1.5M", None),
            ("-1", None),
            ("+1", None),
            ("99999999999999999999G", None),
            ("17179869184G", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_size(text), want, "{text:?}");
        }
    }

    #[test]
    fn names() {
        for ok in ["a.txt", "a..txt", "x", "été.png"] {
            assert!(check_name(ok.as_bytes(), false).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "a\0b"] {
            assert!(
                matches!(check_name(bad.as_bytes(), true), Err(NameError::Bad)),
                "{bad:?}"
            );
        }
        assert!(matches!(check_name(b".env", false), Err(NameError::Hidden)));
        assert!(check_name(b".env", true).is_ok());
        let temp = format!("{TEMP_PREFIX}1");
        assert!(matches!(
            check_name(temp.as_bytes(), true),
            Err(NameError::Hidden)
        ));
    }

    #[test]
    fn urls() {
        assert_eq!(url_of(b"a b/c.txt"), "/a%20b/c.txt");
        assert_eq!(url_of(b""), "/");
    }
}
