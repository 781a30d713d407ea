//! Directory archives: `GET /docs/?download=tar` (or `tar.gz`) answers the
//! whole directory as one tar file, streamed as it is made, with
//! `Content-Disposition: attachment` so a browser saves it as `docs.tar`.
//! On with [`SimpleHttpRequestHandler::archive`](super::SimpleHttpRequestHandler::archive)
//! (the binary's `--archive`; feature `archive`).
//!
//! The archive holds what the listings show, and nothing a request could
//! not fetch: dot-files and dot-directories only with
//! [`hidden`](super::SimpleHttpRequestHandler::hidden), symbolic links
//! followed only where they stay under the served directory (their
//! targets' contents are stored, as `tar --dereference` does; a link that
//! leads outside or to a hidden file is left out, and so is a link back to
//! a directory being archived, which would never end), regular files and
//! directories only (no devices, sockets or FIFOs). Entries are in name
//! order; names are stored under the directory's own name
//! (`docs/a.txt`), long ones with GNU long-name records.
//!
//! Memory stays constant whatever the tree's size: each file is read and
//! written [`READ_CHUNK`](super::READ_CHUNK) bytes at a time, and only the
//! names of the directories on the current path are held (a directory's
//! names are sorted in memory, so a directory with millions of entries
//! costs their names). The response is chunked, its length unknown ahead.
//!
//! A file that changes while it streams never corrupts the archive: its
//! header says the size it had when it was opened, and exactly that many
//! bytes follow, cut if the file grew, padded with zeros if it shrank. An
//! error reading a file (or the client going away) stops the stream with no
//! end-of-archive record and no last chunk, so the client sees a truncated
//! download, never a complete-looking wrong one.
//!
//! Why the `tar` crate: it writes ustar headers with their checksums and
//! GNU long names, tested by its wide use, into any `Write`; the walk, the
//! rules above and the size guarantee are ours.

use super::SimpleHttpRequestHandler;
use super::compress::{Coding, Encoder};
use super::path::{Root, Target};
use crate::handler::{HandlerResult, Request};
use http::StatusCode;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};
use rustix::fs::{FileType, Stat};
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::Path;

impl SimpleHttpRequestHandler {
    /// Whether a directory's `?download=tar` or `?download=tar.gz` answers
    /// it as one archive, streamed as it is made (the binary's `--archive`;
    /// feature `archive`). Default `false`: the query is ignored.
    ///
    /// The archive follows the rules of the requests: dot-files only with
    /// [`hidden`](Self::hidden), symbolic links only where they stay under
    /// the directory (or with
    /// [`follow_symlinks_outside`](Self::follow_symlinks_outside)), as the
    /// contents they lead to. It comes with `Content-Disposition:
    /// attachment` naming `DIR.tar` (or `DIR.tar.gz`), in constant memory;
    /// a file that changes meanwhile is cut or padded to the size its
    /// header gives, so the archive stays well formed.
    pub fn archive(mut self, archive: bool) -> Self {
        self.archive = archive;
        self
    }
}

/// What a query asks for: `download=tar` or `download=tar.gz`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Tar,
    TarGz,
}

impl Kind {
    fn suffix(self) -> &'static str {
        match self {
            Kind::Tar => ".tar",
            Kind::TarGz => ".tar.gz",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Kind::Tar => "application/x-tar",
            Kind::TarGz => "application/gzip",
        }
    }
}

/// The archive `target`'s query asks for, if any.
pub(super) fn requested(target: &Target<'_>) -> Option<Kind> {
    target.query()?.split('&').find_map(|pair| match pair {
        "download=tar" => Some(Kind::Tar),
        "download=tar.gz" => Some(Kind::TarGz),
        _ => None,
    })
}

/// Sends the directory `dir`, which `target` names, as an archive of
/// `kind`: dot-files only if `hidden`.
pub(super) fn send(
    r: &mut Request<'_>,
    root: &Root,
    dir: OwnedFd,
    target: &Target<'_>,
    kind: Kind,
    hidden: bool,
) -> HandlerResult {
    let name = archive_name(root, target);
    let stat = rustix::fs::fstat(&dir).map_err(io::Error::from)?;
    r.send_response(StatusCode::OK)?;
    r.send_header("Content-Type", kind.content_type())?;
    r.send_header(
        "Content-Disposition",
        content_disposition(&format!("{name}{}", kind.suffix())),
    )?;
    r.end_headers()?;
    r.wfile.unknown_length();
    if r.command == "HEAD" {
        return Ok(());
    }
    let coding = match kind {
        Kind::Tar => None,
        Kind::TarGz => Some(Coding::Gzip),
    };
    let out = Gate {
        out: Encoder::new(coding, &mut r.wfile)?,
        failed: false,
    };
    let mut walk = Walk {
        root,
        hidden,
        tar: tar::Builder::new(out),
        ancestors: Vec::new(),
        buf: vec![0; super::compress::READ_CHUNK],
    };
    let prefix = name.into_bytes();
    let result = walk
        .directory(&dir, &stat, target.rel(), &prefix)
        .and_then(|()| walk.tar.finish());
    if let Err(e) = result {
        // No end-of-archive record after a failure: see `Gate`.
        walk.tar.get_mut().failed = true;
        return Err(e.into());
    }
    let gate = walk.tar.into_inner()?;
    gate.out.finish()?;
    Ok(())
}

/// The archive's name, without suffix: the directory's own name (the
/// served directory's for the root), else `archive`.
fn archive_name(root: &Root, target: &Target<'_>) -> String {
    let last = target
        .rel()
        .rsplit(|&b| b == b'/')
        .next()
        .unwrap_or_default();
    let name = if last.is_empty() {
        root.canonical
            .file_name()
            .map_or(&b""[..], |n| n.as_bytes())
    } else {
        last
    };
    // A dot-name (`.tmpXYZ`, with `--hidden`) would unpack out of sight.
    let name = String::from_utf8_lossy(name);
    match name.trim_start_matches('.') {
        "" | "/" => "archive".to_string(),
        n => n.to_string(),
    }
}

/// The bytes left as they are in `filename*` (RFC 8187 `attr-char`).
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment` with the file name twice (RFC 6266 §4.3): `filename` in
/// plain ASCII for old clients (other characters, quotes and backslashes
/// become `_`), `filename*` in UTF-8, percent-encoded, which current
/// clients prefer.
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encode(name.as_bytes(), ATTR_CHAR);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// A writer that, once `failed` is set, refuses every write: so the
/// end-of-archive record that `tar::Builder` writes when dropped never
/// follows a failure, and the download stays visibly cut short.
struct Gate<W: Write> {
    out: W,
    failed: bool,
}

impl<W: Write> Write for Gate<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other("the archive was abandoned"));
        }
        self.out.write(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// One archive being written: the rules, and where the walk is.
struct Walk<'a, W: Write> {
    root: &'a Root,
    hidden: bool,
    tar: tar::Builder<W>,
    /// Device and inode of the directories on the current path, so a link
    /// back to one of them is not followed around forever.
    ancestors: Vec<(u64, u64)>,
    /// Where file contents are read.
    buf: Vec<u8>,
}

impl<W: Write> Walk<'_, W> {
    /// Writes the directory `dir` (found at `rel` under the root, described
    /// by `stat`) as `name/` and everything in it below that name.
    fn directory(&mut self, dir: &OwnedFd, stat: &Stat, rel: &[u8], name: &[u8]) -> io::Result<()> {
        let mut header = header(stat, tar::EntryType::Directory);
        self.tar
            .append_data(&mut header, path_of(name), io::empty())?;
        let mut names = Vec::new();
        for entry in rustix::fs::Dir::read_from(dir)? {
            let entry = entry?;
            let child = entry.file_name().to_bytes();
            if child == b"." || child == b".." || (!self.hidden && child.first() == Some(&b'.')) {
                continue;
            }
            names.push(child.to_vec());
        }
        names.sort();
        self.ancestors.push((stat.st_dev, stat.st_ino));
        for child in names {
            let child_rel = if rel.is_empty() {
                child.clone()
            } else {
                [rel, b"/", &child].concat()
            };
            let child_name = [name, b"/", &child].concat();
            self.entry(&child_rel, &child_name)?;
        }
        self.ancestors.pop();
        Ok(())
    }

    /// Writes what `rel` leads to, if the rules let it in.
    fn entry(&mut self, rel: &[u8], name: &[u8]) -> io::Result<()> {
        // Opened as a request would be: no escape through links.
        let Ok(fd) = self.root.open(rel) else {
            return Ok(());
        };
        if !self.hidden && self.root.leads_to_hidden(rel, &fd) {
            return Ok(());
        }
        let stat = rustix::fs::fstat(&fd)?;
        match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory if !self.ancestors.contains(&(stat.st_dev, stat.st_ino)) => {
                self.directory(&fd, &stat, rel, name)
            }
            FileType::RegularFile => {
                let mut header = header(&stat, tar::EntryType::Regular);
                let file = File::from(fd);
                let contents = Exact {
                    file: &file,
                    offset: 0,
                    left: header.size()?,
                    buf: &mut self.buf,
                    ended: false,
                };
                self.tar.append_data(&mut header, path_of(name), contents)
            }
            _ => Ok(()),
        }
    }
}

/// `name` as a path for the tar crate.
fn path_of(name: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(name))
}

/// A tar header for what `stat` describes: its size (files), permissions
/// and modification time; owner 0, no owner names.
fn header(stat: &Stat, kind: tar::EntryType) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    let size = match kind {
        tar::EntryType::Regular => u64::try_from(stat.st_size).unwrap_or(0),
        _ => 0,
    };
    header.set_size(size);
    header.set_mode(stat.st_mode & 0o7777);
    header.set_mtime(u64::try_from(stat.st_mtime).unwrap_or(0));
    header.set_uid(0);
    header.set_gid(0);
    header
}

/// Exactly `left` bytes of `file` from `offset`, whatever happens to the
/// file meanwhile: reading stops there if it grew, and zeros make up for
/// what is missing if it shrank.
struct Exact<'a> {
    file: &'a File,
    offset: u64,
    left: u64,
    buf: &'a mut Vec<u8>,
    /// The file ended early: zeros from here.
    ended: bool,
}

impl Read for Exact<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let want = usize::try_from(self.left).map_or(out.len(), |left| left.min(out.len()));
        if want == 0 {
            return Ok(0);
        }
        let n = if self.ended {
            0
        } else {
            let want = want.min(self.buf.len());
            self.file.read_at(&mut self.buf[..want], self.offset)?
        };
        let n = if n == 0 {
            self.ended = true;
            out[..want].fill(0);
            want
        } else {
            out[..n].copy_from_slice(&self.buf[..n]);
            n
        };
        self.offset += n as u64;
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions() {
        assert_eq!(
            content_disposition("docs.tar"),
            "attachment; filename=\"docs.tar\"; filename*=UTF-8''docs.tar"
        );
        assert_eq!(
            content_disposition("caf\u{e9} \"x\".tar.gz"),
            "attachment; filename=\"caf_ _x_.tar.gz\"; filename*=UTF-8''caf%C3%A9%20%22x%22.tar.gz"
        );
    }

    #[test]
    fn exact_cuts_and_pads() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"0123456789").unwrap();
        let mut buf = vec![0; 4];
        let read = |left: u64, buf: &mut Vec<u8>| {
            let mut out = Vec::new();
            Exact {
                file: &file,
                offset: 0,
                left,
                buf,
                ended: false,
            }
            .read_to_end(&mut out)
            .unwrap();
            out
        };
        assert_eq!(read(4, &mut buf), b"0123");
        assert_eq!(read(10, &mut buf), b"0123456789");
        assert_eq!(read(13, &mut buf), b"0123456789\0\0\0");
    }
}
