//! The `basehttp` binary run as a user runs it: a process serving a
//! temporary directory, found through its startup line (port 0), spoken to
//! over raw TCP, and stopped with a signal. Nothing waits with a sleep:
//! every step waits for output or an exit, bounded by a timeout that only a
//! bug reaches.

mod common;
#[path = "common/process.rs"]
mod process;

use common::Client;
use process::{Exited, Process, basehttp, parse_startup_line};
use rustix::process::Signal;
use std::net::TcpListener;
use std::path::Path;

/// Starts the binary with `args` in `cwd` and waits for its startup line.
fn start(cwd: &Path, args: &[&str]) -> Process {
    Process::start(basehttp().args(args).current_dir(cwd))
}

/// Sends `signal` and waits (bounded) for the exit; the startup line must
/// have been all the binary wrote to standard output.
fn stop(server: &mut Process, signal: Signal) -> Exited {
    let exited = server.stop(signal);
    let rest = &exited.stdout;
    assert!(rest.is_empty(), "more than one line on stdout: {rest:?}");
    exited
}

/// Runs the binary with `args` in `cwd` to its exit (bounded).
fn run_to_exit(cwd: &Path, args: &[&str]) -> Exited {
    process::run_to_exit(basehttp().args(args).current_dir(cwd))
}

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("hello.txt"), "Hello, World!").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/inner.txt"), "inner").unwrap();
    dir
}

#[test]
fn startup_line_shows_the_real_port() {
    let dir = site();
    let server = start(dir.path(), &["-b", "127.0.0.1", "0"]);
    let (host, port) = parse_startup_line(&server.line).unwrap();
    assert_eq!(host, "127.0.0.1");
    assert_ne!(port, 0);
    assert_eq!(
        server.line,
        format!("Serving HTTP on 127.0.0.1 port {port} (http://127.0.0.1:{port}/) ...")
    );
}

#[test]
fn by_default_it_listens_on_all_interfaces() {
    let dir = site();
    let server = start(dir.path(), &["0"]);
    let (host, port) = parse_startup_line(&server.line).unwrap();
    // `::` (dual-stack) where the host has IPv6, else `0.0.0.0`.
    assert!(host == "::" || host == "0.0.0.0", "{}", server.line);
    if host == "::" {
        assert!(server.line.contains(&format!("(http://[::]:{port}/)")));
    }
    // IPv4 clients get through either way.
    let mut c = Client::connect(server.addr());
    assert_eq!(c.get("/hello.txt").text(), "Hello, World!");
}

#[test]
fn serves_the_current_directory_and_logs_each_request() {
    let dir = site();
    let mut server = start(dir.path(), &["-b", "127.0.0.1", "0"]);
    let mut c = Client::connect(server.addr());
    let r = c.get("/hello.txt");
    assert_eq!((r.status, r.text()), (200, "Hello, World!"));
    let r = c.get("/sub/");
    assert!(r.text().contains("<a href=\"inner.txt\">inner.txt</a>"));
    let r = c.get("/missing");
    assert_eq!(r.status, 404);
    drop(c);
    let Exited { status, stderr, .. } = stop(&mut server, Signal::TERM);
    assert!(status.success(), "{status}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    // Python's Common Log Format: `IP - - [dd/Mon/yyyy HH:MM:SS] "REQUEST" CODE -`.
    let request_lines: Vec<&&str> = lines.iter().filter(|l| l.contains("\"GET ")).collect();
    assert_eq!(request_lines.len(), 3, "{stderr}");
    let first = request_lines[0];
    assert!(first.starts_with("127.0.0.1 - - ["), "{first}");
    assert!(
        first.ends_with("] \"GET /hello.txt HTTP/1.1\" 200 -"),
        "{first}"
    );
    assert!(request_lines[2].ends_with("\"GET /missing HTTP/1.1\" 404 -"));
    assert!(
        stderr.contains("code 404, message File not found"),
        "{stderr}"
    );
}

#[test]
fn directory_option_serves_another_directory() {
    let dir = site();
    let elsewhere = tempfile::tempdir().unwrap();
    let server = start(
        elsewhere.path(),
        &[
            "-d",
            dir.path().to_str().unwrap(),
            "--bind",
            "127.0.0.1",
            "0",
        ],
    );
    assert_eq!(
        Client::connect(server.addr()).get("/sub/inner.txt").text(),
        "inner"
    );
}

#[test]
fn quiet_writes_no_request_lines() {
    let dir = site();
    let mut server = start(dir.path(), &["-q", "-b", "127.0.0.1", "0"]);
    let mut c = Client::connect(server.addr());
    assert_eq!(c.get("/hello.txt").status, 200);
    assert_eq!(c.get("/missing").status, 404);
    drop(c);
    let Exited { status, stderr, .. } = stop(&mut server, Signal::TERM);
    assert!(status.success());
    assert_eq!(stderr, "", "quiet, yet wrote to standard error");
}

#[test]
fn protocol_http10_closes_each_connection() {
    let dir = site();
    let server = start(dir.path(), &["-p", "HTTP/1.0", "-b", "127.0.0.1", "0"]);
    let mut c = Client::connect(server.addr());
    let r = c.get("/hello.txt");
    assert_eq!(r.version, "HTTP/1.0");
    assert_eq!(r.text(), "Hello, World!");
    c.assert_closed();
}

#[test]
fn sigterm_sigint_and_sighup_stop_it_with_status_0() {
    // SIGHUP too (INTERFACE.md): Python's server dies of it.
    for signal in [Signal::TERM, Signal::INT, Signal::HUP] {
        let dir = site();
        let mut server = start(dir.path(), &["-b", "127.0.0.1", "0"]);
        // An idle keep-alive connection does not hold the exit up.
        let mut idle = Client::connect(server.addr());
        assert_eq!(idle.get("/hello.txt").status, 200);
        let Exited { status, stderr, .. } = stop(&mut server, signal);
        assert_eq!(status.code(), Some(0), "{signal:?}: {stderr}");
    }
}

#[test]
fn bad_arguments_exit_2_with_one_line_before_listening() {
    let dir = site();
    // A port that is taken: bound here, held for the whole test.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port().to_string();
    let missing = dir.path().join("missing");
    let cases: Vec<Vec<&str>> = vec![
        vec!["--no-such-option"],
        vec!["-x"],
        vec!["70000"],
        vec!["eighty"],
        vec!["8000", "8001"],
        vec!["-p", "HTTP/2"],
        vec!["-d", missing.to_str().unwrap(), "0"],
        vec!["-d", "hello.txt", "0"],
        vec!["-b", "no.such.host.invalid", "0"],
        vec!["-b", "127.0.0.1", &taken_port],
    ];
    for args in cases {
        let Exited {
            status,
            stdout,
            stderr,
        } = run_to_exit(dir.path(), &args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stdout, "", "{args:?} printed a startup line");
        assert_eq!(
            stderr.lines().count(),
            1,
            "{args:?}: not one line: {stderr:?}"
        );
        assert!(stderr.starts_with("basehttp: "), "{args:?}: {stderr:?}");
    }
    drop(taken);
}

#[test]
fn help_and_version_exit_0() {
    let dir = site();
    let Exited { status, stdout, .. } = run_to_exit(dir.path(), &["--help"]);
    assert!(status.success());
    for option in ["--bind", "--directory", "--protocol", "--quiet", "[PORT]"] {
        assert!(stdout.contains(option), "--help lacks {option}: {stdout}");
    }
    let Exited { status, stdout, .. } = run_to_exit(dir.path(), &["-V"]);
    assert!(status.success());
    assert_eq!(
        stdout.trim(),
        format!("basehttp {}", env!("CARGO_PKG_VERSION"))
    );
}
