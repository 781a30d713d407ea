//! Uploads through the files handler, over real sockets: `PUT` of a file,
//! `POST` of a multipart form to a directory, their limits and refusals,
//! and what is left on disk afterwards (nothing, on every failure). Each
//! test serves a fresh temporary directory on 127.0.0.1:0. The binary's
//! options are tested at the end, run as processes.

mod common;
#[path = "common/process.rs"]
mod process;

use basehttp::SimpleHttpRequestHandler;
use basehttp::files::{Credentials, TEMP_PREFIX};
use basehttp::server::Threading;
use common::{Client, Response, TIMEOUT, TestServer, config, eventually};
use std::fs;
use std::path::Path;
use tempfile::TempDir;

type FilesServer = TestServer<SimpleHttpRequestHandler, Threading>;

fn site() -> TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    fs::write(dir.path().join("old.txt"), "old").unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    dir
}

fn handler(dir: &TempDir) -> SimpleHttpRequestHandler {
    SimpleHttpRequestHandler::new(dir.path())
        .expect("serve the directory")
        .quiet(true)
        .upload(true)
}

fn serve(
    dir: &TempDir,
    f: impl FnOnce(SimpleHttpRequestHandler) -> SimpleHttpRequestHandler,
) -> FilesServer {
    TestServer::start(f(handler(dir)), config())
}

/// The names in `dir`, sorted, temporary uploads included.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn has_temp(dir: &Path) -> bool {
    names(dir).iter().any(|n| n.starts_with(TEMP_PREFIX))
}

/// `METHOD target` with the header lines and a `Content-Length` body.
fn send(client: &mut Client, method: &str, target: &str, headers: &[&str], body: &[u8]) {
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    client.send(&bytes);
}

fn put(server: &FilesServer, target: &str, headers: &[&str], body: &[u8]) -> Response {
    let mut client = server.connect();
    send(&mut client, "PUT", target, headers, body);
    client.read_response("PUT").expect("response to PUT")
}

/// A `multipart/form-data` body with one part per `(filename, contents)`,
/// and a text field first, as a browser's form sends it.
fn form(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n".to_vec();
    for (name, contents) in files {
        body.extend_from_slice(
            format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(contents);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XyZ--\r\n");
    body
}

fn post_form(server: &FilesServer, target: &str, headers: &[&str], body: &[u8]) -> Response {
    post_with(server.addr(), target, headers, body)
}

/// A form `POST` without extra headers, to a server at `addr`.
fn post_to(addr: std::net::SocketAddr, target: &str, body: &[u8]) -> Response {
    post_with(addr, target, &[], body)
}

fn post_with(addr: std::net::SocketAddr, target: &str, headers: &[&str], body: &[u8]) -> Response {
    let mut client = Client::connect(addr);
    let mut all = vec!["Content-Type: multipart/form-data; boundary=XyZ"];
    all.extend_from_slice(headers);
    send(&mut client, "POST", target, &all, body);
    client.read_response("POST").expect("response to POST")
}

// ---------------------------------------------------------------------------
// PUT
// ---------------------------------------------------------------------------

#[test]
fn put_creates_a_file_with_201_and_location() {
    let dir = site();
    let server = serve(&dir, |h| h);
    let body = common::pattern(200_000);
    let r = put(&server, "/sub/new%20file.bin", &[], &body);
    assert_eq!(r.status, 201, "{}", r.reason);
    assert_eq!(r.header("Location"), Some("/sub/new%20file.bin"));
    assert_eq!(fs::read(dir.path().join("sub/new file.bin")).unwrap(), body);
    assert!(!has_temp(&dir.path().join("sub")));
    // It is served back at once.
    let got = server.connect().get("/sub/new%20file.bin");
    assert_eq!(got.status, 200);
    assert_eq!(got.body, body);
}

#[test]
fn put_of_an_empty_and_a_chunked_body() {
    let dir = site();
    let server = serve(&dir, |h| h);
    assert_eq!(put(&server, "/empty", &[], b"").status, 201);
    assert_eq!(fs::read(dir.path().join("empty")).unwrap(), b"");
    let mut client = server.connect();
    client.send(
        b"PUT /chunked.txt HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    );
    assert_eq!(client.read_response("PUT").unwrap().status, 201);
    assert_eq!(
        fs::read_to_string(dir.path().join("chunked.txt")).unwrap(),
        "hello world"
    );
}

#[test]
fn an_existing_name_gets_409_and_with_overwrite_204() {
    let dir = site();
    let server = serve(&dir, |h| h);
    let r = put(&server, "/old.txt", &[], b"new");
    assert_eq!(r.status, 409);
    assert_eq!(
        fs::read_to_string(dir.path().join("old.txt")).unwrap(),
        "old"
    );
    // A client waiting for 100 Continue is refused before it sends.
    let mut client = server.connect();
    client.send(
        b"PUT /old.txt HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\
          Expect: 100-continue\r\n\r\n",
    );
    assert_eq!(client.read_response("PUT").unwrap().status, 409);
    // A directory is never replaced.
    assert_eq!(put(&server, "/sub", &[], b"x").status, 409);
    assert!(!has_temp(dir.path()));

    let server = serve(&dir, |h| h.overwrite(true));
    let mut client = server.connect();
    client.send(
        b"PUT /old.txt HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\
          Expect: 100-continue\r\n\r\n",
    );
    let interim = client.read_head().unwrap();
    assert_eq!(interim.status, 100);
    client.send(b"new");
    let r = client.read_response("PUT").unwrap();
    assert_eq!(r.status, 204);
    assert_eq!(r.header("Location"), None);
    assert_eq!(
        fs::read_to_string(dir.path().join("old.txt")).unwrap(),
        "new"
    );
    assert_eq!(put(&server, "/sub", &[], b"x").status, 409);
    assert!(dir.path().join("sub").is_dir());
    assert!(!has_temp(dir.path()));
}

#[test]
fn a_missing_parent_gets_409() {
    let dir = site();
    let server = serve(&dir, |h| h);
    assert_eq!(put(&server, "/nowhere/a.txt", &[], b"x").status, 409);
    // A file as the parent is no directory either.
    assert_eq!(put(&server, "/old.txt/a.txt", &[], b"x").status, 409);
    assert_eq!(names(dir.path()), ["old.txt", "sub"]);
}

#[test]
fn paths_outside_and_bad_names_are_refused() {
    let dir = site();
    let outside = dir.path().parent().unwrap().to_path_buf();
    let server = serve(&dir, |h| h);
    for target in [
        "/../escaped-by-put",
        "/%2e%2e/escaped-by-put",
        "/sub/../../escaped-by-put",
        "/a%2fb",
        "/a%5cb",
        "/a%00b",
    ] {
        assert_eq!(put(&server, target, &[], b"x").status, 400, "{target}");
    }
    assert_eq!(put(&server, "/sub/", &[], b"x").status, 400);
    // Hidden names and directories, and a temporary upload's name.
    for target in ["/.env", "/%2egit/config", "/sub/.x"] {
        assert_eq!(put(&server, target, &[], b"x").status, 403, "{target}");
    }
    let temp = format!("/{TEMP_PREFIX}x");
    assert_eq!(put(&server, &temp, &[], b"x").status, 403);
    // A link leading outside is refused as for reads.
    std::os::unix::fs::symlink(&outside, dir.path().join("out")).unwrap();
    assert_eq!(put(&server, "/out/escaped.txt", &[], b"x").status, 403);
    assert!(!outside.join("escaped.txt").exists());
    assert!(!outside.join("escaped-by-put").exists());
    assert_eq!(names(dir.path()), ["old.txt", "out", "sub"]);

    // With hidden files allowed, a dot-file may be uploaded, never a
    // temporary upload's name.
    let server = serve(&dir, |h| h.hidden(true));
    assert_eq!(put(&server, "/.env", &[], b"x").status, 201);
    assert_eq!(put(&server, &temp, &[], b"x").status, 403);
}

#[test]
fn without_upload_writes_get_501() {
    let dir = site();
    let server = TestServer::<_, Threading>::start(
        SimpleHttpRequestHandler::new(dir.path())
            .unwrap()
            .quiet(true),
        config(),
    );
    let mut client = server.connect();
    send(&mut client, "PUT", "/x", &[], b"x");
    assert_eq!(client.read_response("PUT").unwrap().status, 501);
    assert!(!dir.path().join("x").exists());
    let r = server.connect().get("/");
    assert!(!r.text().contains("<form"));
    assert_eq!(r.header("X-Content-Type-Options"), None);
}

// ---------------------------------------------------------------------------
// Limits and interrupted uploads
// ---------------------------------------------------------------------------

#[test]
fn over_the_limit_by_content_length_gets_413_without_100_continue() {
    let dir = site();
    let server = serve(&dir, |h| h.max_upload_size(1000));
    // Exactly the limit is allowed.
    assert_eq!(put(&server, "/max", &[], &[b'x'; 1000]).status, 201);
    let mut client = server.connect();
    client.send(
        b"PUT /big HTTP/1.1\r\nHost: test\r\nContent-Length: 1001\r\n\
          Expect: 100-continue\r\n\r\n",
    );
    // The first thing read is the final answer: no 100 Continue came.
    let r = client.read_response("PUT").unwrap();
    assert_eq!(r.status, 413);
    assert_eq!(names(dir.path()), ["max", "old.txt", "sub"]);
    // The same without Expect: answered before the body is read.
    let mut client = server.connect();
    client.send(b"PUT /big HTTP/1.1\r\nHost: test\r\nContent-Length: 5000000000\r\n\r\n");
    assert_eq!(client.read_response("PUT").unwrap().status, 413);
    // A form too.
    let mut client = server.connect();
    client.send(
        b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5000\r\n\
          Content-Type: multipart/form-data; boundary=XyZ\r\nExpect: 100-continue\r\n\r\n",
    );
    assert_eq!(client.read_response("POST").unwrap().status, 413);
    assert_eq!(names(dir.path()), ["max", "old.txt", "sub"]);
}

#[test]
fn a_chunked_body_growing_past_the_limit_gets_413_and_leaves_nothing() {
    let dir = site();
    let server = serve(&dir, |h| h.max_upload_size(10_000));
    let mut client = server.connect();
    client.send(b"PUT /grow HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n");
    for _ in 0..20 {
        client.send(format!("3e8\r\n{}\r\n", "y".repeat(1000)).as_bytes());
    }
    client.send(b"0\r\n\r\n");
    let r = client.read_response("PUT").unwrap();
    assert_eq!(r.status, 413);
    assert_eq!(names(dir.path()), ["old.txt", "sub"]);
    // A form whose file grows past the limit, chunked.
    let body = form(&[("big.bin", &[b'z'; 20_000])]);
    let mut client = server.connect();
    client.send(
        b"POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\
          Content-Type: multipart/form-data; boundary=XyZ\r\n\r\n",
    );
    client.send(format!("{:x}\r\n", body.len()).as_bytes());
    client.send(&body);
    client.send(b"\r\n0\r\n\r\n");
    assert_eq!(client.read_response("POST").unwrap().status, 413);
    assert_eq!(names(dir.path()), ["old.txt", "sub"]);
}

/// On a thread-per-connection server, whose handler starts as soon as the
/// head is in: the pool and sequential servers read a small body ahead
/// before running the handler, so a body cut that early never reaches it
/// (and leaves nothing either).
#[test]
fn an_upload_interrupted_mid_body_leaves_no_file_and_no_temp_file() {
    let dir = site();
    let server = TestServer::<_, Threading>::start(handler(&dir), config());
    let mut client = server.connect();
    client.send(b"PUT /cut.bin HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000\r\n\r\n");
    client.send(&[b'x'; 50_000]);
    // The upload is under way: its temporary file exists.
    eventually("the temporary file appears", TIMEOUT, || {
        has_temp(dir.path())
    });
    drop(client);
    // The handler sees the end of the connection and removes it.
    eventually("the temporary file is removed", TIMEOUT, || {
        names(dir.path()) == ["old.txt", "sub"]
    });

    // The same for a form, cut inside its file part.
    let body = form(&[("cut.bin", &[b'q'; 100_000])]);
    let mut client = server.connect();
    client.send(
        format!(
            "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\
             Content-Type: multipart/form-data; boundary=XyZ\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    client.send(&body[..60_000]);
    eventually("the temporary file appears", TIMEOUT, || {
        has_temp(dir.path())
    });
    drop(client);
    eventually("the temporary file is removed", TIMEOUT, || {
        names(dir.path()) == ["old.txt", "sub"]
    });
}

#[test]
fn temporary_files_are_never_listed_or_served() {
    let dir = site();
    let temp = format!("{TEMP_PREFIX}123");
    fs::write(dir.path().join(&temp), "partial").unwrap();
    let server = serve(&dir, |h| h.hidden(true));
    let listing = server.connect().get("/");
    assert!(!listing.text().contains(TEMP_PREFIX));
    assert!(listing.text().contains("old.txt"));
    assert_eq!(server.connect().get(&format!("/{temp}")).status, 404);
    let json = server.connect().get("/?format=json");
    assert!(!json.text().contains(TEMP_PREFIX));
}

#[test]
fn two_concurrent_uploads_of_one_name_give_one_201_and_one_409() {
    let dir = site();
    let server = serve(&dir, |h| h);
    let head = b"PUT /race.txt HTTP/1.1\r\nHost: test\r\nContent-Length: 20000\r\n\r\n";
    let (mut a, mut b) = (server.connect(), server.connect());
    a.send(head);
    b.send(head);
    a.send(&[b'a'; 10_000]);
    b.send(&[b'b'; 10_000]);
    // Both are writing their temporary files now.
    eventually("both temporary files appear", TIMEOUT, || {
        names(dir.path())
            .iter()
            .filter(|n| n.starts_with(TEMP_PREFIX))
            .count()
            == 2
    });
    a.send(&[b'a'; 10_000]);
    b.send(&[b'b'; 10_000]);
    let mut statuses = [
        a.read_response("PUT").unwrap().status,
        b.read_response("PUT").unwrap().status,
    ];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    let kept = fs::read(dir.path().join("race.txt")).unwrap();
    assert!(kept == [b'a'; 20_000] || kept == [b'b'; 20_000]);
    assert_eq!(names(dir.path()), ["old.txt", "race.txt", "sub"]);
}

/// A full disk, as closely as this machine allows without root: the
/// server's file size limit (`RLIMIT_FSIZE`, with `SIGXFSZ` ignored) makes
/// the write fail as a full disk would, and the upload gets 413 with
/// nothing left. A real full file system (507) needs a small tmpfs, which
/// an unprivileged test cannot count on mounting.
#[test]
fn a_write_that_fails_leaves_nothing() {
    let dir = site();
    let server = process::Process::start(
        std::process::Command::new("sh")
            .arg("-c")
            .arg("trap '' XFSZ; ulimit -f 64; exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_basehttp"))
            .args(["-q", "-u", "-b", "127.0.0.1", "-d"])
            .arg(dir.path())
            .arg("0"),
    );
    let mut client = Client::connect(server.addr());
    let body = vec![b'f'; 1 << 20];
    send(&mut client, "PUT", "/full.bin", &[], &body);
    let r = client.read_response("PUT").unwrap();
    assert!(matches!(r.status, 413 | 507), "{}", r.status);
    assert_eq!(names(dir.path()), ["old.txt", "sub"]);
    // A small one still fits.
    let mut client = Client::connect(server.addr());
    send(&mut client, "PUT", "/small.bin", &[], b"ok");
    assert_eq!(client.read_response("PUT").unwrap().status, 201);
}

/// A full disk for real: the server runs in a mount namespace of its own
/// (`unshare -rm`, no root needed where user namespaces are allowed) with
/// a 256 KiB tmpfs over the served directory. An upload that does not fit
/// gets 507 and leaves nothing, seen through `/proc/PID/root`. Where
/// `unshare` cannot do this, the test says so and returns:
/// `a_write_that_fails_leaves_nothing` covers the same path with
/// `RLIMIT_FSIZE`.
#[test]
fn a_full_disk_gets_507_and_leaves_nothing() {
    let dir = site();
    let probe = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", "mount -t tmpfs -o size=64k none \"$0\""])
        .arg(dir.path())
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: `unshare -rm` cannot mount a tmpfs here");
        return;
    }
    let server = process::Process::start(
        std::process::Command::new("unshare")
            .args(["-rm", "sh", "-c"])
            .arg("mount -t tmpfs -o size=256k none \"$0\" && exec \"$@\"")
            .arg(dir.path())
            .arg(env!("CARGO_BIN_EXE_basehttp"))
            .args(["-q", "-u", "-b", "127.0.0.1", "-d"])
            .arg(dir.path())
            .arg("0"),
    );
    let seen = Path::new("/proc")
        .join(server.id().to_string())
        .join("root")
        .join(dir.path().strip_prefix("/").unwrap());
    let mut client = Client::connect(server.addr());
    send(&mut client, "PUT", "/fits.bin", &[], &[b'f'; 1000]);
    assert_eq!(client.read_response("PUT").unwrap().status, 201);
    assert_eq!(names(&seen), ["fits.bin"]);
    let mut client = Client::connect(server.addr());
    send(&mut client, "PUT", "/full.bin", &[], &vec![b'f'; 1 << 20]);
    assert_eq!(client.read_response("PUT").unwrap().status, 507);
    assert_eq!(names(&seen), ["fits.bin"]);
    // A form too.
    let body = form(&[("full.bin", &vec![b'g'; 1 << 20])]);
    assert_eq!(post_to(server.addr(), "/", &body).status, 507);
    assert_eq!(names(&seen), ["fits.bin"]);
}

// ---------------------------------------------------------------------------
// Forms
// ---------------------------------------------------------------------------

#[test]
fn a_form_writes_each_file_and_answers_303_to_the_listing() {
    let dir = site();
    let server = serve(&dir, |h| h);
    let listing = server.connect().get("/sub/");
    assert!(listing.text().contains("enctype=\"multipart/form-data\""));
    assert!(listing.text().contains(" multiple"));
    let body = form(&[
        ("one.txt", b"first"),
        ("two.bin", &common::pattern(70_000)),
        ("", b""),
    ]);
    let r = post_form(&server, "/sub/", &[], &body);
    assert_eq!(r.status, 303, "{}", r.reason);
    assert_eq!(r.header("Location"), Some("/sub/"));
    assert_eq!(fs::read(dir.path().join("sub/one.txt")).unwrap(), b"first");
    assert_eq!(
        fs::read(dir.path().join("sub/two.bin")).unwrap(),
        common::pattern(70_000)
    );
    assert_eq!(names(&dir.path().join("sub")), ["one.txt", "two.bin"]);
    let listing = server.connect().get("/sub/");
    assert!(listing.text().contains("one.txt") && listing.text().contains("two.bin"));
    // Again: the names exist now.
    assert_eq!(post_form(&server, "/sub/", &[], &body).status, 409);
    assert_eq!(post_form(&server, "/missing/", &[], &body).status, 409);
    assert!(!has_temp(&dir.path().join("sub")));
}

#[test]
fn a_form_is_written_all_or_nothing() {
    let dir = site();
    let server = serve(&dir, |h| h);
    let sub = dir.path().join("sub");
    // The third part's name exists: nothing of the form is written.
    fs::write(sub.join("three.txt"), "kept").unwrap();
    let body = form(&[
        ("one.txt", b"1"),
        ("two.txt", b"2"),
        ("three.txt", b"3"),
        ("four.txt", b"4"),
    ]);
    assert_eq!(post_form(&server, "/sub/", &[], &body).status, 409);
    assert_eq!(names(&sub), ["three.txt"]);
    assert_eq!(fs::read(sub.join("three.txt")).unwrap(), b"kept");
    // A form that names one file twice.
    let twice = form(&[("a.txt", b"first"), ("b.txt", b"b"), ("a.txt", b"second")]);
    assert_eq!(post_form(&server, "/sub/", &[], &twice).status, 409);
    assert_eq!(names(&sub), ["three.txt"]);
    // A bad name after good parts.
    let bad = form(&[("fine.txt", b"x"), ("../bad", b"y")]);
    assert_eq!(post_form(&server, "/sub/", &[], &bad).status, 400);
    assert_eq!(names(&sub), ["three.txt"]);
    // A form that breaks off after its first file.
    let mut cut = form(&[("whole.txt", b"whole"), ("cut.txt", b"cut")]);
    cut.truncate(cut.len() - 20);
    let mut client = Client::connect(server.addr());
    let headers = ["Content-Type: multipart/form-data; boundary=XyZ"];
    send(&mut client, "POST", "/sub/", &headers, &cut);
    client.shutdown_write();
    let _ = client.read_response("POST");
    eventually("the cut form leaves nothing", TIMEOUT, || {
        names(&sub) == ["three.txt"]
    });
    // With --overwrite the form is written, replacing the old file.
    drop(server);
    let server = serve(&dir, |h| h.overwrite(true));
    assert_eq!(post_form(&server, "/sub/", &[], &body).status, 303);
    assert_eq!(names(&sub), ["four.txt", "one.txt", "three.txt", "two.txt"]);
    assert_eq!(fs::read(sub.join("three.txt")).unwrap(), b"3");
}

#[test]
fn a_form_file_name_cannot_leave_the_directory() {
    let dir = site();
    let outside = dir.path().parent().unwrap().to_path_buf();
    let server = serve(&dir, |h| h);
    for name in ["../../escaped-by-form", "..", "a/b", "a\\\\b", ".hidden"] {
        let r = post_form(&server, "/sub/", &[], &form(&[(name, b"x")]));
        assert!(matches!(r.status, 400 | 403), "{name}: {}", r.status);
    }
    assert!(!outside.join("escaped-by-form").exists());
    assert!(!outside.join("../escaped-by-form").exists());
    assert_eq!(names(&dir.path().join("sub")), Vec::<String>::new());
    assert_eq!(names(dir.path()), ["old.txt", "sub"]);
    let r = post_form(&server, "/../", &[], &form(&[("x", b"x")]));
    assert_eq!(r.status, 400);
}

#[test]
fn a_post_that_is_not_a_multipart_form_gets_415() {
    let dir = site();
    let server = serve(&dir, |h| h);
    let mut client = server.connect();
    send(
        &mut client,
        "POST",
        "/",
        &["Content-Type: text/plain"],
        b"x",
    );
    assert_eq!(client.read_response("POST").unwrap().status, 415);
}

// ---------------------------------------------------------------------------
// Cross-site writes, headers, authentication
// ---------------------------------------------------------------------------

#[test]
fn cross_site_writes_get_403() {
    let dir = site();
    let server = serve(&dir, |h| h);
    let body = form(&[("a.txt", b"x")]);
    for headers in [
        &["Origin: http://evil.example"][..],
        &["Origin: null"],
        &["Origin: http://test.evil"],
        &["Sec-Fetch-Site: cross-site"],
    ] {
        assert_eq!(
            post_form(&server, "/", headers, &body).status,
            403,
            "{headers:?}"
        );
        assert_eq!(
            put(&server, "/b.txt", headers, b"x").status,
            403,
            "{headers:?}"
        );
    }
    // With Expect: 100-continue, refused before the body.
    let mut client = server.connect();
    client.send(
        b"PUT /c.txt HTTP/1.1\r\nHost: test\r\nOrigin: http://evil.example\r\n\
          Content-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    assert_eq!(client.read_response("PUT").unwrap().status, 403);
    assert_eq!(names(dir.path()), ["old.txt", "sub"]);
    // The page's own origin, and same-origin fetches, may write.
    let own = ["Origin: http://test", "Sec-Fetch-Site: same-origin"];
    assert_eq!(post_form(&server, "/", &own, &body).status, 303);
    assert_eq!(
        put(&server, "/b.txt", &["Origin: https://TEST"], b"x").status,
        201
    );
}

#[test]
fn cors_does_not_make_uploads_writable_by_other_sites() {
    let dir = site();
    let server = serve(&dir, |h| h.cors(true));
    let evil = ["Origin: http://evil.example"];
    assert_eq!(
        post_form(&server, "/", &evil, &form(&[("a.txt", b"x")])).status,
        403
    );
    assert_eq!(put(&server, "/a.txt", &evil, b"x").status, 403);
    // A preflight for PUT is not granted it.
    let r = server.connect().ask(
        "OPTIONS",
        "/a.txt",
        &[
            "Origin: http://evil.example",
            "Access-Control-Request-Method: PUT",
        ],
    );
    let allowed = r.header("Access-Control-Allow-Methods").unwrap_or("");
    assert!(
        !allowed.contains("PUT") && !allowed.contains("POST"),
        "{allowed}"
    );
    assert_eq!(names(dir.path()), ["old.txt", "sub"]);
}

#[test]
fn with_uploads_on_responses_say_nosniff_and_html_is_sandboxed() {
    let dir = site();
    let server = serve(&dir, |h| h);
    for (name, sandboxed) in [
        ("page.html", true),
        ("old.htm", true),
        ("pic.svg", true),
        ("a.txt", false),
    ] {
        assert_eq!(
            put(&server, &format!("/{name}"), &[], b"<b>x</b>").status,
            201
        );
        let r = server.connect().get(&format!("/{name}"));
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("X-Content-Type-Options"),
            Some("nosniff"),
            "{name}"
        );
        let csp = r.header("Content-Security-Policy");
        assert_eq!(csp, sandboxed.then_some("sandbox"), "{name}");
    }
    // The listing (whose form must work) is not sandboxed, but says nosniff.
    let r = server.connect().get("/");
    assert_eq!(r.header("Content-Security-Policy"), None);
    assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(
        server
            .connect()
            .get("/nothing")
            .header("X-Content-Type-Options"),
        Some("nosniff")
    );
}

#[test]
fn auth_guards_writes_and_public_read_leaves_reads_open() {
    let dir = site();
    let mut credentials = Credentials::new();
    credentials.add_line("alice:wonderland").unwrap();
    let server = serve(&dir, |h| h.auth(credentials).public_read(true));
    assert_eq!(server.connect().get("/old.txt").status, 200);
    let listing = server.connect().get("/");
    assert_eq!(listing.status, 200);
    assert_eq!(put(&server, "/a.txt", &[], b"x").status, 401);
    assert_eq!(
        post_form(&server, "/", &[], &form(&[("b.txt", b"x")])).status,
        401
    );
    // Refused before the body with Expect.
    let mut client = server.connect();
    client.send(
        b"PUT /a.txt HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    assert_eq!(client.read_response("PUT").unwrap().status, 401);
    assert_eq!(names(dir.path()), ["old.txt", "sub"]);
    // alice:wonderland
    let auth = "Authorization: Basic YWxpY2U6d29uZGVybGFuZA==";
    assert_eq!(put(&server, "/a.txt", &[auth], b"x").status, 201);
    assert_eq!(
        post_form(&server, "/", &[auth], &form(&[("b.txt", b"x")])).status,
        303
    );
    assert_eq!(names(dir.path()), ["a.txt", "b.txt", "old.txt", "sub"]);
}

// ---------------------------------------------------------------------------
// The binary
// ---------------------------------------------------------------------------

fn start(dir: &Path, args: &[&str]) -> process::Process {
    process::Process::start(
        process::basehttp()
            .args(["-q", "-b", "127.0.0.1", "-d"])
            .arg(dir)
            .args(args)
            .arg("0"),
    )
}

#[test]
fn the_binary_takes_uploads_with_u() {
    let dir = site();
    let server = start(dir.path(), &["-u", "--max-upload-size", "1K"]);
    let mut client = Client::connect(server.addr());
    send(&mut client, "PUT", "/up.txt", &[], b"uploaded");
    let r = client.read_response("PUT").unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(r.header("Location"), Some("/up.txt"));
    assert_eq!(
        fs::read_to_string(dir.path().join("up.txt")).unwrap(),
        "uploaded"
    );
    let mut client = Client::connect(server.addr());
    send(&mut client, "PUT", "/up.txt", &[], b"again");
    assert_eq!(client.read_response("PUT").unwrap().status, 409);
    let mut client = Client::connect(server.addr());
    send(&mut client, "PUT", "/big.txt", &[], &[b'x'; 1025]);
    assert_eq!(client.read_response("PUT").unwrap().status, 413);

    let server = start(dir.path(), &["--upload", "--overwrite"]);
    let mut client = Client::connect(server.addr());
    send(&mut client, "PUT", "/up.txt", &[], b"again");
    assert_eq!(client.read_response("PUT").unwrap().status, 204);
    assert_eq!(
        fs::read_to_string(dir.path().join("up.txt")).unwrap(),
        "again"
    );
}

#[test]
fn the_binary_refuses_bad_upload_options_with_status_2() {
    let dir = site();
    for args in [
        &["--overwrite"][..],
        &["-u", "--max-upload-size", "lots"],
        &["-u", "--max-upload-size", "1.5G"],
        &["-u", "--max-upload-size", "99999999999G"],
    ] {
        let exited = process::run_to_exit(process::basehttp().args(args).current_dir(dir.path()));
        assert_eq!(exited.status.code(), Some(2), "{args:?}: {}", exited.stderr);
        assert_eq!(exited.stdout, "", "{args:?}");
        assert_eq!(
            exited.stderr.lines().count(),
            1,
            "{args:?}: {}",
            exited.stderr
        );
    }
    let help = process::run_to_exit(process::basehttp().arg("--help"));
    for option in ["--upload", "--overwrite", "--max-upload-size"] {
        assert!(help.stdout.contains(option), "{option}");
    }
}
