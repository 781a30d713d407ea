//! The `basehttp` binary run as a user runs it: a process serving a
//! temporary directory, found through its startup line (port 0), spoken to
//! over raw TCP, and stopped with a signal. Nothing waits with a sleep:
//! every step waits for output or an exit, bounded by a timeout that only a
//! bug reaches.

mod common;

use common::Client;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long the binary may take to print its startup line or to exit.
const TIMEOUT: Duration = Duration::from_secs(30);

const BINARY: &str = env!("CARGO_BIN_EXE_basehttp");

/// Reads a whole pipe on its own thread.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut all = Vec::new();
        let _ = pipe.read_to_end(&mut all);
        all
    })
}

/// A running `basehttp` process, killed (by its own handle) when dropped.
struct Basehttp {
    child: Child,
    /// The startup line, without its newline.
    line: String,
    port: u16,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

impl Basehttp {
    /// Starts the binary with `args` in `cwd` and waits for its startup line.
    fn start(cwd: &Path, args: &[&str]) -> Basehttp {
        let mut child = Command::new(BINARY)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start basehttp");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = drain(child.stderr.take().expect("piped stderr"));
        let mut server = Basehttp {
            child,
            line: String::new(),
            port: 0,
            stderr: Some(stderr),
        };
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut line = String::new();
            let _ = stdout.read_line(&mut line);
            let _ = tx.send(line);
            let mut rest = String::new();
            let _ = stdout.read_to_string(&mut rest);
            assert!(rest.is_empty(), "more than one line on stdout: {rest:?}");
        });
        let line = rx.recv_timeout(TIMEOUT).unwrap_or_else(|_| {
            let _ = server.child.kill();
            panic!("basehttp {args:?} printed no startup line within {TIMEOUT:?}")
        });
        let Some(line) = line.strip_suffix('\n') else {
            let _ = server.child.kill();
            let (status, stderr) = server.collect();
            panic!("basehttp {args:?} exited ({status}) without a startup line: {stderr}");
        };
        server.line = line.to_string();
        server.port = parse_startup_line(line)
            .unwrap_or_else(|| panic!("unexpected startup line {line:?}"))
            .1;
        server
    }

    fn connect(&self) -> Client {
        Client::connect(SocketAddr::from(([127, 0, 0, 1], self.port)))
    }

    /// Sends `signal` to this child and waits (bounded) for it to exit;
    /// returns its status and everything it wrote to standard error.
    fn signal(&mut self, signal: rustix::process::Signal) -> (ExitStatus, String) {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, signal).expect("signal the child");
        self.collect()
    }

    /// Waits, bounded, for the process to exit: standard error reaches end
    /// of file when it does.
    fn collect(&mut self) -> (ExitStatus, String) {
        let stderr = self.stderr.take().expect("stderr not collected yet");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(stderr.join().unwrap_or_default());
        });
        let stderr = rx
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|_| panic!("basehttp still running {TIMEOUT:?} after a signal"));
        let status = self.child.wait().expect("wait for basehttp");
        (status, String::from_utf8_lossy(&stderr).into_owned())
    }
}

impl Drop for Basehttp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `Serving HTTP on HOST port PORT (http://URLHOST:PORT/) ...` → (HOST, PORT),
/// checking that the URL agrees with both.
fn parse_startup_line(line: &str) -> Option<(String, u16)> {
    let rest = line.strip_prefix("Serving HTTP on ")?;
    let (host, rest) = rest.split_once(" port ")?;
    let (port, rest) = rest.split_once(' ')?;
    let port_number: u16 = port.parse().ok()?;
    let url_host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    (rest == format!("(http://{url_host}:{port}/) ...")).then(|| (host.to_string(), port_number))
}

/// Runs the binary to its exit (bounded); returns status, stdout, stderr.
fn run_to_exit(cwd: &Path, args: &[&str]) -> (ExitStatus, String, String) {
    let mut child = Command::new(BINARY)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start basehttp");
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let out = stdout.join().unwrap_or_default();
        let err = stderr.join().unwrap_or_default();
        let _ = tx.send((out, err));
    });
    let Ok((out, err)) = rx.recv_timeout(TIMEOUT) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("basehttp {args:?} still running after {TIMEOUT:?}");
    };
    let status = child.wait().expect("wait for basehttp");
    (
        status,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
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
    let server = Basehttp::start(dir.path(), &["-b", "127.0.0.1", "0"]);
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
    let server = Basehttp::start(dir.path(), &["0"]);
    let (host, port) = parse_startup_line(&server.line).unwrap();
    // `::` (dual-stack) where the host has IPv6, else `0.0.0.0`.
    assert!(host == "::" || host == "0.0.0.0", "{}", server.line);
    if host == "::" {
        assert!(server.line.contains(&format!("(http://[::]:{port}/)")));
    }
    // IPv4 clients get through either way.
    let mut c = server.connect();
    assert_eq!(c.get("/hello.txt").text(), "Hello, World!");
}

#[test]
fn serves_the_current_directory_and_logs_each_request() {
    let dir = site();
    let mut server = Basehttp::start(dir.path(), &["-b", "127.0.0.1", "0"]);
    let mut c = server.connect();
    let r = c.get("/hello.txt");
    assert_eq!((r.status, r.text()), (200, "Hello, World!"));
    let r = c.get("/sub/");
    assert!(r.text().contains("<a href=\"inner.txt\">inner.txt</a>"));
    let r = c.get("/missing");
    assert_eq!(r.status, 404);
    drop(c);
    let (status, stderr) = server.signal(rustix::process::Signal::TERM);
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
    let server = Basehttp::start(
        elsewhere.path(),
        &[
            "-d",
            dir.path().to_str().unwrap(),
            "--bind",
            "127.0.0.1",
            "0",
        ],
    );
    assert_eq!(server.connect().get("/sub/inner.txt").text(), "inner");
}

#[test]
fn quiet_writes_no_request_lines() {
    let dir = site();
    let mut server = Basehttp::start(dir.path(), &["-q", "-b", "127.0.0.1", "0"]);
    let mut c = server.connect();
    assert_eq!(c.get("/hello.txt").status, 200);
    assert_eq!(c.get("/missing").status, 404);
    drop(c);
    let (status, stderr) = server.signal(rustix::process::Signal::TERM);
    assert!(status.success());
    assert_eq!(stderr, "", "quiet, yet wrote to standard error");
}

#[test]
fn protocol_http10_closes_each_connection() {
    let dir = site();
    let server = Basehttp::start(dir.path(), &["-p", "HTTP/1.0", "-b", "127.0.0.1", "0"]);
    let mut c = server.connect();
    let r = c.get("/hello.txt");
    assert_eq!(r.version, "HTTP/1.0");
    assert_eq!(r.text(), "Hello, World!");
    c.assert_closed();
}

#[test]
fn sigterm_and_sigint_stop_it_with_status_0() {
    for signal in [rustix::process::Signal::TERM, rustix::process::Signal::INT] {
        let dir = site();
        let mut server = Basehttp::start(dir.path(), &["-b", "127.0.0.1", "0"]);
        // An idle keep-alive connection does not hold the exit up.
        let mut idle = server.connect();
        assert_eq!(idle.get("/hello.txt").status, 200);
        let (status, stderr) = server.signal(signal);
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
        let (status, stdout, stderr) = run_to_exit(dir.path(), &args);
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
    let (status, stdout, _) = run_to_exit(dir.path(), &["--help"]);
    assert!(status.success());
    for option in ["--bind", "--directory", "--protocol", "--quiet", "[PORT]"] {
        assert!(stdout.contains(option), "--help lacks {option}: {stdout}");
    }
    let (status, stdout, _) = run_to_exit(dir.path(), &["-V"]);
    assert!(status.success());
    assert_eq!(
        stdout.trim(),
        format!("basehttp {}", env!("CARGO_PKG_VERSION"))
    );
}
