//! The `basehttp` binary's options for sharing safely (`--hidden`,
//! `--cors`, `-H`, `--auth`, `--auth-file`, `--public-read`), run as a user
//! runs them: a process serving a temporary directory, found through its
//! startup line, spoken to over raw TCP. Nothing waits with a sleep. The
//! rules themselves are tested through the library in `share.rs`.

mod common;
#[path = "common/process.rs"]
mod process;

use common::{Client, Response};
use process::{Exited, Process, basehttp};
use std::path::Path;

/// Starts the binary on 127.0.0.1, port 0, with `args`, serving `dir`.
fn start(dir: &Path, args: &[&str]) -> Process {
    Process::start(
        basehttp()
            .args(["-b", "127.0.0.1", "-d"])
            .arg(dir)
            .args(args)
            .arg("0"),
    )
}

/// Runs the binary with `args` to its exit (bounded).
fn run_to_exit(dir: &Path, args: &[&str]) -> Exited {
    process::run_to_exit(basehttp().args(args).current_dir(dir))
}

/// `METHOD target` with extra header lines, on a fresh connection.
fn ask(server: &Process, method: &str, target: &str, headers: &[&str]) -> Response {
    Client::connect(server.addr()).ask(method, target, headers)
}

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("a.txt"), "public").unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join(".git/config"), "[core]").unwrap();
    dir
}

/// Asserts that `args` make the binary exit 2 with one line on standard
/// error, before printing a startup line; returns that line.
fn assert_usage_error(dir: &Path, args: &[&str]) -> String {
    let Exited {
        status,
        stdout,
        stderr,
    } = run_to_exit(dir, args);
    assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stdout, "", "{args:?} printed a startup line");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
    assert!(stderr.starts_with("basehttp: "), "{args:?}: {stderr:?}");
    stderr
}

#[test]
fn dot_files_are_hidden_unless_hidden_is_given() {
    let dir = site();
    let server = start(dir.path(), &["-q"]);
    assert_eq!(ask(&server, "GET", "/.git/config", &[]).status, 404);
    assert_eq!(ask(&server, "GET", "/%2egit/config", &[]).status, 404);
    assert!(!ask(&server, "GET", "/", &[]).text().contains(".git"));
    drop(server);

    let server = start(dir.path(), &["-q", "--hidden"]);
    assert_eq!(ask(&server, "GET", "/.git/config", &[]).text(), "[core]");
    assert!(ask(&server, "GET", "/", &[]).text().contains(".git/"));
}

#[test]
fn cors_and_own_headers_reach_every_response() {
    let dir = site();
    let server = start(
        dir.path(),
        &[
            "-q",
            "--cors",
            "-H",
            "Cache-Control: no-store",
            "--header",
            "X-Frame-Options:DENY",
        ],
    );
    for target in ["/a.txt", "/missing"] {
        let r = ask(&server, "GET", target, &[]);
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"), "{r:?}");
        assert_eq!(r.header("Cache-Control"), Some("no-store"), "{r:?}");
        assert_eq!(r.header("X-Frame-Options"), Some("DENY"), "{r:?}");
    }
    let preflight = ask(
        &server,
        "OPTIONS",
        "/a.txt",
        &[
            "Origin: https://app.example",
            "Access-Control-Request-Method: PUT",
        ],
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("Access-Control-Allow-Methods"),
        Some("GET, HEAD")
    );
}

#[test]
fn bad_headers_exit_2_before_listening() {
    let dir = site();
    for header in [
        "Content-Length: 5",
        "transfer-encoding: chunked",
        "Connection: close",
        "Trailer: X",
        "Upgrade: websocket",
        "Bad Name: x",
        ": no name",
        "no colon",
        "X-Split: a\r\nSet-Cookie: s=1",
        "X-Split: a\nb",
    ] {
        let line = assert_usage_error(dir.path(), &["-H", header, "0"]);
        assert!(line.contains("header"), "{header:?}: {line:?}");
    }
}
