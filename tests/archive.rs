//! Directory archives (`?download=tar`, `?download=tar.gz`) over real
//! sockets: unpacked by independent readers (the `tar` crate's reader and
//! the system's `tar` command) and compared with the directory; the
//! hidden-file and symbolic-link rules; the headers.

#![cfg(feature = "archive")]

mod common;
#[path = "common/process.rs"]
mod process;

use basehttp::SimpleHttpRequestHandler;
use basehttp::server::Threading;
use common::{Client, Response, TestServer, pattern};
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use tempfile::TempDir;

type Server = TestServer<SimpleHttpRequestHandler, Threading>;

/// A tree to archive under `root/docs`, with hidden things, a link inside,
/// a link outside (to `outside`), a link to a hidden file and a link back
/// up (a cycle).
fn tree() -> (TempDir, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret.txt"), "TOP SECRET").unwrap();
    let docs = dir.path().join("docs");
    fs::create_dir_all(docs.join("sub/deeper")).unwrap();
    fs::create_dir_all(docs.join(".git")).unwrap();
    fs::write(docs.join("a.txt"), "alpha\n").unwrap();
    fs::write(docs.join("big.bin"), pattern(300_000)).unwrap();
    fs::write(docs.join("empty"), "").unwrap();
    fs::write(docs.join("sub/b.txt"), "beta\n").unwrap();
    let long = "n".repeat(150);
    fs::write(docs.join("sub/deeper").join(&long), "a long name\n").unwrap();
    fs::write(docs.join(".env"), "PASSWORD=x").unwrap();
    fs::write(docs.join(".git/config"), "[core]").unwrap();
    fs::write(docs.join("caf\u{e9}.txt"), "accent\n").unwrap();
    std::os::unix::fs::symlink("a.txt", docs.join("link-in.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), docs.join("link-out.txt"))
        .unwrap();
    std::os::unix::fs::symlink(".env", docs.join("link-hidden")).unwrap();
    std::os::unix::fs::symlink("..", docs.join("sub/up")).unwrap();
    (dir, outside)
}

/// The files handler on `dir` with archives on, changed by `f`.
fn serve_with(
    dir: &Path,
    f: impl FnOnce(SimpleHttpRequestHandler) -> SimpleHttpRequestHandler,
) -> Server {
    common::serve_files(dir, |h| f(h.archive(true)))
}

fn get(server: &Server, target: &str) -> Response {
    Client::connect(server.addr()).ask("GET", target, &[])
}

/// The regular files and directories of a tar stream, by path: contents
/// for files, `None` for directories; read with the `tar` crate.
fn entries(tar_bytes: &[u8]) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut archive = tar::Archive::new(tar_bytes);
    let mut out = BTreeMap::new();
    for entry in archive.entries().expect("a tar stream") {
        let mut entry = entry.expect("a well-formed entry");
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let path = path.trim_end_matches('/').to_string();
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                out.insert(path, None);
            }
            tar::EntryType::Regular => {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                out.insert(path, Some(data));
            }
            other => panic!("unexpected entry type {other:?} for {path}"),
        }
    }
    out
}

/// What the archive of `docs` should hold, with hidden files or not.
fn expected(root: &Path, hidden: bool) -> BTreeMap<String, Option<Vec<u8>>> {
    let docs = root.join("docs");
    let file = |p: &str| Some(fs::read(docs.join(p)).unwrap());
    let long = format!("docs/sub/deeper/{}", "n".repeat(150));
    let mut want: BTreeMap<String, Option<Vec<u8>>> = [
        ("docs".to_string(), None),
        ("docs/a.txt".to_string(), file("a.txt")),
        ("docs/big.bin".to_string(), file("big.bin")),
        ("docs/caf\u{e9}.txt".to_string(), file("caf\u{e9}.txt")),
        ("docs/empty".to_string(), file("empty")),
        ("docs/link-in.txt".to_string(), file("a.txt")),
        ("docs/sub".to_string(), None),
        ("docs/sub/b.txt".to_string(), file("sub/b.txt")),
        ("docs/sub/deeper".to_string(), None),
        (long, Some(b"a long name\n".to_vec())),
    ]
    .into_iter()
    .collect();
    if hidden {
        want.insert("docs/.env".into(), file(".env"));
        want.insert("docs/.git".into(), None);
        want.insert("docs/.git/config".into(), file(".git/config"));
        want.insert("docs/link-hidden".into(), file(".env"));
    }
    want
}

#[test]
fn a_tar_download_unpacks_to_the_directory() {
    let (dir, _outside) = tree();
    let server = serve_with(dir.path(), |h| h);
    let r = get(&server, "/docs/?download=tar");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("application/x-tar"));
    assert_eq!(
        r.header("Content-Disposition"),
        Some("attachment; filename=\"docs.tar\"; filename*=UTF-8''docs.tar")
    );
    assert!(r.is_chunked());
    // Hidden files, the link outside, the link to a hidden file and the
    // cycle are absent.
    assert_eq!(entries(&r.body), expected(dir.path(), false));
}

#[test]
fn hidden_files_are_archived_only_when_served() {
    let (dir, _outside) = tree();
    let server = serve_with(dir.path(), |h| h.hidden(true));
    let r = get(&server, "/docs/?download=tar");
    assert_eq!(entries(&r.body), expected(dir.path(), true));
}

#[test]
#[cfg(feature = "gzip")]
fn a_tar_gz_download_is_the_same_archive_compressed() {
    let (dir, _outside) = tree();
    let server = serve_with(dir.path(), |h| h);
    let r = get(&server, "/docs/?download=tar.gz");
    assert_eq!(r.header("Content-Type"), Some("application/gzip"));
    assert_eq!(r.header("Content-Encoding"), None);
    assert!(
        r.header("Content-Disposition")
            .unwrap()
            .contains("docs.tar.gz")
    );
    let mut tar_bytes = Vec::new();
    flate2::read::GzDecoder::new(&r.body[..])
        .read_to_end(&mut tar_bytes)
        .unwrap();
    assert_eq!(entries(&tar_bytes), expected(dir.path(), false));
}

#[test]
fn the_system_tar_unpacks_it() {
    let (dir, _outside) = tree();
    let server = serve_with(dir.path(), |h| h);
    let r = get(&server, "/docs/?download=tar");
    let into = tempfile::tempdir().unwrap();
    let archive = into.path().join("docs.tar");
    fs::write(&archive, &r.body).unwrap();
    let status = Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(into.path())
        .status()
        .expect("run tar");
    assert!(status.success());
    let unpacked = into.path().join("docs");
    let docs = dir.path().join("docs");
    for file in ["a.txt", "big.bin", "sub/b.txt", "caf\u{e9}.txt", "empty"] {
        assert_eq!(
            fs::read(unpacked.join(file)).unwrap(),
            fs::read(docs.join(file)).unwrap(),
            "{file}"
        );
    }
    assert!(!unpacked.join(".env").exists());
    assert!(!unpacked.join("link-out.txt").exists());
}

#[test]
fn archives_need_the_option_and_a_directory() {
    let (dir, _outside) = tree();
    let off = common::serve_files(dir.path(), |h| h);
    let r = get(&off, "/docs/?download=tar");
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    let server = serve_with(dir.path(), |h| h);
    // A file: the file itself.
    let r = get(&server, "/docs/a.txt?download=tar");
    assert_eq!(r.body, b"alpha\n");
    // Without the slash: redirected with the query kept.
    let r = get(&server, "/docs?download=tar");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("Location"), Some("/docs/?download=tar"));
    // Anything else in the query: the listing.
    let r = get(&server, "/docs/?download=zip");
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    // A hidden directory stays hidden.
    let hidden = serve_with(dir.path(), |h| h);
    assert_eq!(get(&hidden, "/docs/.git/?download=tar").status, 404);
    // HEAD: the head alone.
    let r = Client::connect(server.addr()).ask("HEAD", "/docs/?download=tar", &[]);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty() && r.is_chunked());
}

#[test]
fn the_binary_takes_archive() {
    let (dir, _outside) = tree();
    let server = process::Process::start(
        process::basehttp()
            .args(["-q", "-b", "127.0.0.1", "--archive", "0"])
            .current_dir(dir.path()),
    );
    let r = Client::connect(server.addr()).ask("GET", "/docs/?download=tar", &[]);
    assert_eq!(entries(&r.body), expected(dir.path(), false));
    let help = process::run_to_exit(process::basehttp().arg("--help"));
    assert!(help.stdout.contains("--archive"));
}

/// A file that shrinks or grows while it streams: the archive stays well
/// formed, the entry exactly as long as its header says (zero-padded, or
/// cut), and the entries after it intact. The file is far larger than the
/// socket buffers, so the server is still reading its first part when the
/// client, which has read only the head, changes it.
#[test]
fn a_file_changed_while_streaming_keeps_its_header_size() {
    const LEN: usize = 48 << 20;
    for shrink in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let docs = dir.path().join("docs");
        fs::create_dir(&docs).unwrap();
        let body = pattern(LEN);
        fs::write(docs.join("a-changing.bin"), &body).unwrap();
        fs::write(docs.join("b-after.txt"), "after\n").unwrap();
        let server = serve_with(dir.path(), |h| h);
        let mut c = Client::connect(server.addr());
        c.send(b"GET /docs/?download=tar HTTP/1.1\r\nHost: test\r\n\r\n");
        let head = c.read_head().unwrap();
        assert!(head.is_chunked());
        let changing = fs::OpenOptions::new()
            .write(true)
            .open(docs.join("a-changing.bin"))
            .unwrap();
        if shrink {
            changing.set_len(LEN as u64 / 2).unwrap();
        } else {
            use std::os::unix::fs::FileExt;
            changing.write_all_at(b"grown", LEN as u64).unwrap();
        }
        let mut tar_bytes = Vec::new();
        while let Some(chunk) = c.read_chunk().unwrap() {
            tar_bytes.extend_from_slice(&chunk);
        }
        let got = entries(&tar_bytes);
        let mut want = body.clone();
        if shrink {
            want[LEN / 2..].fill(0);
        }
        assert!(
            got["docs/a-changing.bin"].as_deref() == Some(&want[..]),
            "shrink: {shrink}"
        );
        assert_eq!(got["docs/b-after.txt"].as_deref(), Some(&b"after\n"[..]));
    }
}
