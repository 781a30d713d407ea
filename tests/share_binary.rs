//! The `basehttp` binary's options for sharing safely (`--hidden`,
//! `--cors`, `-H`, `--auth`, `--auth-file`, `--public-read`), run as a user
//! runs them: a process serving a temporary directory, found through its
//! startup line, spoken to over raw TCP. Nothing waits with a sleep. The
//! rules themselves are tested through the library in `share.rs`.

mod common;
#[path = "common/process.rs"]
mod process;

use common::{Client, Response};
use process::{Process, basehttp};
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
