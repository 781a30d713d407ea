//! The `basehttp` binary's options for sharing safely (`--hidden`,
//! `--cors`, `-H`, `--auth`, `--auth-file`, `--public-read`), run as a user
//! runs them: a process serving a temporary directory, found through its
//! startup line, spoken to over raw TCP. Nothing waits with a sleep. The
//! rules themselves are tested through the library in `share.rs`.

mod common;
#[path = "common/process.rs"]
mod process;

use common::{Client, Response};
use process::{Exited, Process, TIMEOUT, basehttp};
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

/// `Authorization` for alice:wonder:land (`printf %s … | base64`).
const ALICE: &str = "Authorization: Basic YWxpY2U6d29uZGVyOmxhbmQ=";
/// `Authorization` for bob:open sesame.
const BOB: &str = "Authorization: Basic Ym9iOm9wZW4gc2VzYW1l";
/// `printf %s 'open sesame' | sha512sum`.
const SESAME_SHA512: &str = "8470cdd3bf1ef85d5f092bce5ae5af97ce50820481bf43b2413807fec37e2785\
                             b533a65d4c7d71695b141d81ebcd4b6c4def4284e6067f0b9ddc318b1b230205";

#[test]
fn auth_and_auth_file_require_credentials_and_never_log_passwords() {
    let dir = site();
    let users = tempfile::NamedTempFile::new().unwrap();
    let file = format!("# users\n\nbob:sha512:{SESAME_SHA512}\r\n");
    std::fs::write(users.path(), file).unwrap();
    let users_path = users.path().to_str().unwrap();
    let mut server = start(
        dir.path(),
        &["--auth", "alice:wonder:land", "--auth-file", users_path],
    );
    let missing = ask(&server, "GET", "/a.txt", &[]);
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.header("WWW-Authenticate"),
        Some("Basic realm=\"basehttp\"")
    );
    assert_eq!(ask(&server, "GET", "/a.txt", &[ALICE]).text(), "public");
    assert_eq!(ask(&server, "GET", "/a.txt", &[BOB]).text(), "public");
    server.wait_for_log_count("\"GET /a.txt HTTP/1.1\" 200", 2, TIMEOUT);
    let log = server.log.join("\n");
    assert!(log.contains("\"GET /a.txt HTTP/1.1\" 401"), "{log}");
    // The log shows the request line, never the user or the password.
    for secret in ["wonder", "sesame", "YWxpY2U6", "Ym9iOm9w", "alice", "bob"] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
    // Bound to loopback: no warning.
    assert!(!log.contains("warning"), "{log}");
}

#[test]
fn public_read_leaves_get_open_and_guards_writes() {
    let dir = site();
    let server = start(
        dir.path(),
        &["-q", "--auth", "alice:wonder:land", "--public-read"],
    );
    assert_eq!(ask(&server, "GET", "/a.txt", &[]).text(), "public");
    assert_eq!(ask(&server, "HEAD", "/a.txt", &[]).status, 200);
    for method in ["POST", "PUT", "DELETE"] {
        assert_eq!(ask(&server, method, "/a.txt", &[]).status, 401, "{method}");
        assert_ne!(
            ask(&server, method, "/a.txt", &[ALICE]).status,
            401,
            "{method}"
        );
    }
}

#[test]
fn auth_without_tls_beyond_loopback_warns_in_one_line() {
    let dir = site();
    let mut server = Process::start(
        basehttp()
            .args(["-q", "-b", "0.0.0.0", "--auth", "alice:wonder:land", "0"])
            .current_dir(dir.path()),
    );
    let warning = server.wait_for_log("warning", TIMEOUT);
    assert!(
        warning.starts_with("basehttp: warning: --auth without --tls-cert"),
        "{warning}"
    );
    assert!(!warning.contains("wonder"), "{warning}");
    let exited = server.terminate();
    let lines: Vec<&str> = exited.stderr.lines().collect();
    assert_eq!(lines, [warning.as_str()]);
}

#[test]
fn bad_auth_options_exit_2_without_showing_the_password() {
    let dir = site();
    let bad_file = dir.path().join("users");
    std::fs::write(&bad_file, "alice:ok\nbob:sha256:not-a-digest-secret\n").unwrap();
    let bad_file = bad_file.to_str().unwrap();
    let missing = dir.path().join("no-such-file");
    let missing = missing.to_str().unwrap();
    let cases: [&[&str]; 6] = [
        &["--public-read", "0"],
        &["--auth", "no-colon-secret", "0"],
        &["--auth", ":secret", "0"],
        &["--auth", "a:secret", "--auth", "a:secret2", "0"],
        &["--auth-file", missing, "0"],
        &["--auth-file", bad_file, "0"],
    ];
    for args in cases {
        let line = assert_usage_error(dir.path(), args);
        assert!(!line.contains("secret"), "{args:?}: {line}");
    }
    let line = assert_usage_error(dir.path(), &["--auth-file", bad_file, "0"]);
    assert!(line.contains("line 2"), "{line}");
}
