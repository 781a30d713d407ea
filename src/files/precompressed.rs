//! Precompressed files: `app.js.br`, `app.js.zst` or `app.js.gz` placed
//! beside `app.js` are sent instead of it to clients that accept that
//! content coding (RFC 9110 §8.4), as nginx's `gzip_static` and Caddy's
//! `precompressed` do. The files are compressed once, ahead of time, at the
//! highest level; the server never compresses them itself.
//!
//! The response names the coding in `Content-Encoding` and keeps the
//! original's `Content-Type`. Its `ETag` is the compressed file's own, with
//! the coding appended, so it never equals the plain file's (RFC 9110
//! §8.8.3: each representation has its own tag); `Range` counts the
//! compressed bytes. Every response for a path that has a sidecar, the
//! plain ones included, says `Vary: Accept-Encoding`, so a shared cache
//! never hands the compressed bytes to a client that cannot decode them.
//!
//! Cost: a file request makes one `stat` per coding to find its sidecars.
//! The one sent stays open in the open-file cache, as plain files do, so
//! that sending it again costs no more than sending a plain file: that
//! `stat` says whether it is still the same file.

use super::cache::{CachedFile, FileMeta, OpenFiles};
use super::negotiate::{Quality, named_quality};
use super::path::Root;
use crate::handler::Request;
use rustix::fs::FileType;
use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

/// The content codings of which a file may have a precompressed copy
/// beside it, with the copy's suffix, in order of preference when the
/// client weighs them alike: brotli compresses text best, zstd decodes
/// fastest, gzip is understood everywhere.
pub const PRECOMPRESSED: [(&str, &str); 3] = [("br", ".br"), ("zstd", ".zst"), ("gzip", ".gz")];

/// What was found beside a file.
pub(super) struct Sidecars {
    /// Whether the file has a sidecar at all: then every response for it
    /// carries `Vary: Accept-Encoding`.
    pub(super) vary: bool,
    /// The sidecar to send, if the client accepts one.
    pub(super) chosen: Option<Sidecar>,
}

/// An opened precompressed copy.
pub(super) struct Sidecar {
    /// The open file and its headers: its own length, time and tag, the
    /// original's type.
    pub(super) file: Arc<CachedFile>,
    /// The `Content-Encoding` value.
    pub(super) coding: &'static str,
}

/// Looks for the sidecars of the regular file at `rel` (a path under the
/// root, as for [`Root::open`]) whose type is `content_type`, and opens the
/// one the request's `Accept-Encoding` weighs highest, if any. A sidecar
/// that cannot be opened safely (a link leading outside, no permission) is
/// passed over, and the plain file is sent. The copy is taken from `cache`
/// if it holds it and the look-up's `stat` says it is unchanged, else
/// opened and kept there.
pub(super) fn find(
    r: &Request<'_>,
    root: &Root,
    cache: &OpenFiles,
    rel: &[u8],
    content_type: &str,
) -> Sidecars {
    let mut best: Option<(Quality, usize, rustix::fs::Stat)> = None;
    let mut vary = false;
    for (i, (coding, suffix)) in PRECOMPRESSED.iter().enumerate() {
        let Some(stat) = stat_sidecar(root, rel, suffix) else {
            continue;
        };
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            continue;
        }
        vary = true;
        let q = quality(r, coding);
        // Strictly greater: among equal weights the earlier coding wins.
        if q > 0 && best.is_none_or(|(b, _, _)| q > b) {
            best = Some((q, i, stat));
        }
    }
    let chosen = best.and_then(|(_, i, stat)| {
        let path = sidecar_path(rel, PRECOMPRESSED[i].1);
        let file = match cache.get_sidecar(&path, &stat) {
            Some(hit) => hit,
            None => {
                let opened = Arc::new(open(root, path, rel, i, content_type)?);
                cache.remember_sidecar(&opened);
                opened
            }
        };
        Some(Sidecar {
            file,
            coding: PRECOMPRESSED[i].0,
        })
    });
    Sidecars { vary, chosen }
}

/// What the sidecar of `rel` with `suffix` is, if there is one: its path
/// put together on the stack, so the look-up allocates nothing for paths
/// up to [`STACK_PATH`] bytes.
fn stat_sidecar(root: &Root, rel: &[u8], suffix: &str) -> Option<rustix::fs::Stat> {
    let mut buf = [0u8; STACK_PATH];
    let len = rel.len() + suffix.len();
    if len > buf.len() {
        return root.stat(&sidecar_path(rel, suffix)).ok();
    }
    buf[..rel.len()].copy_from_slice(rel);
    buf[rel.len()..len].copy_from_slice(suffix.as_bytes());
    root.stat(&buf[..len]).ok()
}

/// The longest sidecar path put together on the stack (longer ones are
/// allocated): 256 bytes, as rustix converts paths on the stack up to that
/// size too.
const STACK_PATH: usize = 256;

/// `rel` with `suffix` appended.
fn sidecar_path(rel: &[u8], suffix: &str) -> Vec<u8> {
    [rel, suffix.as_bytes()].concat()
}

/// The weight `Accept-Encoding` gives `coding`: by name (`x-gzip` counts
/// as `gzip`, RFC 9110 §8.4.1.3), else through `*`, else 0. No
/// `Accept-Encoding` at all: 0, as nginx does (RFC 9110 §12.5.3 would allow
/// any coding, but a client that sends none rarely decodes one).
pub(super) fn quality(r: &Request<'_>, coding: &str) -> Quality {
    let named = |name| named_quality(r.headers.get_all("Accept-Encoding"), name);
    named(coding)
        .or_else(|| (coding == "gzip").then(|| named("x-gzip")).flatten())
        .or_else(|| named("*"))
        .unwrap_or(0)
}

/// Opens sidecar `i` of `rel`, found at `path`, if it is still a regular
/// file reachable inside the root.
fn open(
    root: &Root,
    path: Vec<u8>,
    rel: &[u8],
    i: usize,
    content_type: &str,
) -> Option<CachedFile> {
    let coding = PRECOMPRESSED[i].0;
    let fd = root.open(&path).ok()?;
    let stat = rustix::fs::fstat(&fd).ok()?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return None;
    }
    let mut meta = FileMeta::new(&stat, Path::new(OsStr::from_bytes(rel)));
    meta.content_type = content_type.to_string();
    // `"tag"` becomes `"tag-br"`: distinct from the plain file's even if
    // both names lead to one inode.
    if meta.etag.ends_with('"') {
        meta.etag
            .insert_str(meta.etag.len() - 1, &format!("-{coding}"));
    }
    Some(CachedFile::new(path, File::from(fd), &stat, meta))
}
