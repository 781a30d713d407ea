//! The open-file cache: files served once stay open for the next request of
//! the same path, with their response headers formatted once.
//!
//! An entry is trusted only while one `stat` of its path says it still
//! leads to the same, unchanged file ([`same_file`]): a saved, replaced or
//! moved file is opened (and checked) anew at once. How many files are kept
//! is [`OPEN_FILE_CACHE`] unless the handler says otherwise.

use super::conditional::{ETag, Modified};
use super::guess_type;
use super::path::{Root, Target};
use rustix::fs::Stat;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Default size of the open-file cache: 1024 files. A request for a path
/// served before costs one `stat` of the path instead of opening, checking
/// and closing the file (nginx's `open_file_cache` does the same, but trusts
/// its entries for 60 seconds without looking; here every request looks).
pub const OPEN_FILE_CACHE: usize = 1024;

/// Files opened before, by request path, at most `capacity` of them.
#[derive(Debug)]
pub(super) struct OpenFiles {
    files: RwLock<HashMap<Box<[u8]>, Arc<CachedFile>>>,
    /// Precompressed copies sent in place of a file, by their own path
    /// (`app.js.br`): apart from `files`, whose keys are request paths, as
    /// a request for `app.js.br` itself gets other headers.
    sidecars: RwLock<HashMap<Box<[u8]>, Arc<CachedFile>>>,
    /// `0` keeps nothing; at most this many of each kind.
    capacity: usize,
}

impl OpenFiles {
    /// An empty cache that keeps up to `capacity` files open.
    pub(super) fn new(capacity: usize) -> Self {
        OpenFiles {
            files: RwLock::new(HashMap::new()),
            sidecars: RwLock::new(HashMap::new()),
            capacity,
        }
    }

    /// The file a request named last time, if it is still the same file:
    /// one `stat` of its path instead of opening it again. Safe with links:
    /// the file was reached inside the directory when it was opened, and a
    /// path that now leads elsewhere (another device, inode, size or time)
    /// misses, and is opened (and checked) anew.
    pub(super) fn get(&self, root: &Root, target: &Target<'_>) -> Option<Arc<CachedFile>> {
        if self.capacity == 0 {
            return None;
        }
        let hit = Arc::clone(read_lock(&self.files).get(target.cache_key())?);
        match root.stat(&hit.path) {
            Ok(now) if same_file(&now, &hit.stat) => Some(hit),
            _ => {
                write_lock(&self.files).remove(target.cache_key());
                None
            }
        }
    }

    /// Keeps an opened regular file, found at `path`, for the next request
    /// of `target`.
    pub(super) fn remember(
        &self,
        target: &Target<'_>,
        path: Vec<u8>,
        file: &File,
        stat: &Stat,
        meta: &FileMeta,
    ) {
        if self.capacity == 0 {
            return;
        }
        let Ok(file) = file.try_clone() else {
            return;
        };
        let entry = Arc::new(CachedFile::new(path, file, stat, meta.clone()));
        self.insert(&self.files, target.cache_key(), entry);
    }

    /// The precompressed copy at `path` (a file's path with the coding's
    /// suffix), kept from an earlier request, if `now` (a `stat` of that
    /// path the caller has just made) says it is still the same file.
    pub(super) fn get_sidecar(&self, path: &[u8], now: &Stat) -> Option<Arc<CachedFile>> {
        if self.capacity == 0 {
            return None;
        }
        let hit = Arc::clone(read_lock(&self.sidecars).get(path)?);
        if same_file(now, &hit.stat) {
            Some(hit)
        } else {
            write_lock(&self.sidecars).remove(path);
            None
        }
    }

    /// Keeps an opened precompressed copy for the next request.
    pub(super) fn remember_sidecar(&self, entry: &Arc<CachedFile>) {
        if self.capacity > 0 {
            self.insert(&self.sidecars, &entry.path, Arc::clone(entry));
        }
    }

    fn insert(
        &self,
        map: &RwLock<HashMap<Box<[u8]>, Arc<CachedFile>>>,
        key: &[u8],
        entry: Arc<CachedFile>,
    ) {
        let mut map = write_lock(map);
        if map.len() >= self.capacity {
            // Crude but bounded: start over rather than track recency.
            map.clear();
        }
        map.insert(key.into(), entry);
    }
}

/// A file kept open for the next request of the same path.
pub(super) struct CachedFile {
    /// The file's path under the directory (for a directory request, its
    /// index page).
    pub(super) path: Box<[u8]>,
    pub(super) file: File,
    /// What `fstat` said when it was opened.
    stat: Stat,
    /// Its headers, formatted once.
    pub(super) meta: FileMeta,
}

impl CachedFile {
    /// The entry for `file`, opened at `path`, which `fstat` described as
    /// `stat`, with the headers `meta`.
    pub(super) fn new(path: Vec<u8>, file: File, stat: &Stat, meta: FileMeta) -> Self {
        CachedFile {
            path: path.into(),
            file,
            stat: *stat,
            meta,
        }
    }
}

impl fmt::Debug for CachedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedFile")
            .field("path", &String::from_utf8_lossy(&self.path))
            .finish_non_exhaustive()
    }
}

/// What the response headers say about a file, formatted once per opening.
#[derive(Clone, Debug)]
pub(super) struct FileMeta {
    pub(super) len: u64,
    pub(super) modified: Modified,
    /// The `ETag` value, quotes included.
    pub(super) etag: String,
    /// The `Last-Modified` value.
    pub(super) last_modified: String,
    /// The `Content-Type` value.
    pub(super) content_type: String,
}

impl FileMeta {
    /// The headers of the file `stat` describes, its type guessed from
    /// `name`.
    pub(super) fn new(stat: &Stat, name: &Path) -> Self {
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

/// Whether two `stat` results describe the same, unchanged file: same
/// device and inode, size, and modification and change times (a `chmod`
/// changes the latter).
fn same_file(a: &Stat, b: &Stat) -> bool {
    (a.st_dev, a.st_ino, a.st_size, a.st_mode) == (b.st_dev, b.st_ino, b.st_size, b.st_mode)
        && (a.st_mtime, a.st_mtime_nsec) == (b.st_mtime, b.st_mtime_nsec)
        && (a.st_ctime, a.st_ctime_nsec) == (b.st_ctime, b.st_ctime_nsec)
}

/// The lock for reading, even if a thread panicked holding it: the map is
/// never left half-changed.
fn read_lock<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

/// The lock for writing, as [`read_lock`].
fn write_lock<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}
