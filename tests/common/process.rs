#![allow(dead_code)] // each test file uses a different part

//! Processes for tests, run as a user runs them: the `basehttp` binary, the
//! examples (built with cargo once per test process), and a test executable
//! started again in a server role.
//!
//! A [`Process`] owns one child: its standard output and standard error are
//! read line by line on threads (so it never blocks on a full pipe), its
//! startup line gives the address it listens on, and it can be signalled
//! and waited for. It is killed, by its own PID, when dropped, so a failing
//! assertion leaves nothing running. [`run_to_exit`] runs a command that
//! should exit on its own.
//!
//! Nothing here waits with a sleep: lines arrive on channels, and an exit is
//! waited for on the child's pidfd. [`TIMEOUT`] only turns a hang into a
//! failure.

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{Pid, PidfdFlags, Signal, kill_process, pidfd_open};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// The bound on each wait: for a startup line, a log line, an exit.
/// Generous, since the machine may be busy compiling.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The `basehttp` binary cargo built for this test.
pub fn basehttp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_basehttp"))
}

/// Example `name`, built by [`example_path`].
pub fn example(name: &str) -> Command {
    Command::new(example_path(name))
}

/// The path of example `name`. The examples are built (all at once, once
/// per test process) with this test binary's profile and target directory.
pub fn example_path(name: &str) -> PathBuf {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = match DIR.get_or_init(build_examples) {
        Ok(dir) => dir,
        Err(e) => panic!("{e}"),
    };
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "example binary {} is missing",
        path.display()
    );
    path
}

fn build_examples() -> Result<PathBuf, String> {
    // The test binary is TARGET_DIR/PROFILE/deps/NAME-HASH.
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let unexpected = || format!("unexpected test binary location {}", exe.display());
    let profile_dir = exe.parent().and_then(Path::parent).ok_or_else(unexpected)?;
    let target_dir = profile_dir.parent().ok_or_else(unexpected)?;
    let profile = match profile_dir.file_name().and_then(OsStr::to_str) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let mut cargo = Command::new(env!("CARGO"));
    // Cargo runs a test with the variables of the package under test
    // (CARGO_MANIFEST_DIR, CARGO_PKG_NAME, ...). A build script that reads
    // one of them (ring's does) would see it changed and rebuild, here and
    // again in the next top-level cargo run: leave them out.
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_MANIFEST_LINKS",
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "OUT_DIR",
            ]
            .contains(&&*name)
        {
            cargo.env_remove(&key);
        }
    }
    let output = cargo
        .args([
            "build",
            "--examples",
            "--profile",
            profile,
            "--manifest-path",
        ])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", env!("CARGO")))?;
    if !output.status.success() {
        return Err(format!(
            "cargo build --examples failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(profile_dir.join("examples"))
}

/// Reads a pipe to its end on its own thread, sending each line (with its
/// line end, if it had one) as it arrives; the channel closes at end of file.
pub fn drain(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        loop {
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx
                        .send(String::from_utf8_lossy(&line).into_owned())
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// The address a startup line announces, if it is one of:
///
/// - an example's `Starting server on http://ADDR, use <Ctrl-C> to stop`;
/// - the binary's `Serving HTTP on HOST port PORT (http://URLHOST:PORT/) ...`
///   (or `HTTPS`), where an unspecified HOST (`0.0.0.0`, `::`) stands for
///   127.0.0.1;
/// - a test executable's server role: `port PORT` (on 127.0.0.1).
///
/// Only a loopback address with a port other than 0 is one.
pub fn startup_addr(line: &str) -> Option<SocketAddr> {
    let addr = if let Some(rest) = line.strip_prefix("Starting server on http://") {
        rest.strip_suffix(", use <Ctrl-C> to stop")?.parse().ok()?
    } else if let Some((host, port)) = parse_startup_line(line) {
        let ip = host.parse().ok()?;
        SocketAddr::new(ip, port)
    } else {
        let port = line.strip_prefix("port ")?.parse().ok()?;
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    };
    let addr = if addr.ip().is_unspecified() {
        SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
    } else {
        addr
    };
    (addr.ip().is_loopback() && addr.port() != 0).then_some(addr)
}

/// The binary's `Serving HTTP on HOST port PORT (http://URLHOST:PORT/) ...`
/// (or `HTTPS` and `https://`) → (HOST, PORT), checking that the URL agrees
/// with both.
pub fn parse_startup_line(line: &str) -> Option<(String, u16)> {
    let (scheme, rest) = match line.strip_prefix("Serving HTTP on ") {
        Some(rest) => ("http", rest),
        None => ("https", line.strip_prefix("Serving HTTPS on ")?),
    };
    let (host, rest) = rest.split_once(" port ")?;
    let (port, rest) = rest.split_once(' ')?;
    let port_number: u16 = port.parse().ok()?;
    let url_host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    (rest == format!("({scheme}://{url_host}:{port}/) ..."))
        .then(|| (host.to_string(), port_number))
}

/// What a process left behind when it exited.
#[derive(Debug)]
pub struct Exited {
    pub status: ExitStatus,
    /// Standard output, but for the lines read before the exit (the startup
    /// line, those [`Process::wait_for_stdout`] passed over).
    pub stdout: String,
    /// Everything written to standard error.
    pub stderr: String,
}

/// A running child process, killed (by its own PID) when dropped.
pub struct Process {
    /// The program and its arguments, for messages.
    pub what: String,
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    /// The startup line, without its line end (empty for a process from
    /// [`Process::spawn`]).
    pub line: String,
    addr: Option<SocketAddr>,
    /// Every standard-error line received so far, without its line end.
    pub log: Vec<String>,
    /// Standard error as written, so far.
    stderr_text: String,
}

impl Process {
    /// Starts `command` with standard input empty and both outputs read on
    /// threads; does not wait for anything.
    pub fn spawn(command: &mut Command) -> Process {
        let what = format!(
            "{} {:?}",
            Path::new(command.get_program()).display(),
            command.get_args().collect::<Vec<_>>()
        );
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // A program a test has just written (a copy of the binary, a
        // script) may be "busy" (ETXTBSY) for a moment: a child that another
        // test thread forked meanwhile holds the writer's descriptor until
        // it execs. Retry, bounded.
        let mut attempts = 0;
        let mut child = loop {
            match command.spawn() {
                Ok(child) => break child,
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && attempts < 100 => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) => panic!("cannot start {what}: {e}"),
            }
        };
        let stdout = drain(child.stdout.take().expect("piped stdout"));
        let stderr = drain(child.stderr.take().expect("piped stderr"));
        Process {
            what,
            child,
            stdout,
            stderr,
            line: String::new(),
            addr: None,
            log: Vec::new(),
            stderr_text: String::new(),
        }
    }

    /// Starts `command` and waits (bounded) for its startup line, the first
    /// line of its standard output, which must give its address
    /// ([`startup_addr`]).
    pub fn start(command: &mut Command) -> Process {
        let mut process = Process::spawn(command);
        let line = match process.stdout.recv_timeout(TIMEOUT) {
            Ok(line) if line.ends_with('\n') => line,
            Ok(_) | Err(RecvTimeoutError::Disconnected) => {
                let exited = process.kill();
                panic!("{} exited without a startup line: {exited:?}", process.what);
            }
            Err(RecvTimeoutError::Timeout) => {
                let exited = process.kill();
                panic!(
                    "{} printed no startup line within {TIMEOUT:?}: {exited:?}",
                    process.what
                );
            }
        };
        let line = line.trim_end_matches(['\r', '\n']);
        let Some(addr) = startup_addr(line) else {
            let exited = process.kill();
            panic!(
                "{}: unexpected startup line {line:?}: {exited:?}",
                process.what
            );
        };
        process.line = line.to_owned();
        process.addr = Some(addr);
        process
    }

    /// The address from the startup line.
    pub fn addr(&self) -> SocketAddr {
        self.addr
            .unwrap_or_else(|| panic!("{}: no startup line read", self.what))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    /// The process ID, as [`Child::id`] gives it.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn pid(&self) -> Pid {
        Pid::from_child(&self.child)
    }

    /// Reads standard output (bounded by [`TIMEOUT`] in all) until `f` gives
    /// `Some` for a line (passed without its line end); `None` if the output
    /// ends or the time runs out first.
    pub fn wait_for_stdout<T>(&mut self, mut f: impl FnMut(&str) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.stdout.recv_timeout(left).ok()?;
            if let Some(found) = f(line.trim_end_matches(['\r', '\n'])) {
                return Some(found);
            }
        }
    }

    /// Whether the process has exited (reaping it if so).
    pub fn has_exited(&mut self) -> bool {
        self.exit_status().is_some()
    }

    /// Sends `signal` to the process, unless it has exited and been reaped
    /// (its PID may then belong to another process).
    pub fn signal(&mut self, signal: Signal) {
        if self.exit_status().is_none() {
            // Not reaped, so the PID is still this child's (if a zombie's).
            kill_process(self.pid(), signal)
                .unwrap_or_else(|e| panic!("{}: cannot send {signal:?}: {e}", self.what));
        }
    }

    /// Sends `signal` and waits (bounded) for the process to exit.
    pub fn stop(&mut self, signal: Signal) -> Exited {
        self.signal(signal);
        self.wait()
    }

    /// SIGTERM, then the exit (bounded).
    pub fn terminate(&mut self) -> Exited {
        self.stop(Signal::TERM)
    }

    /// SIGKILL, then the exit (bounded).
    pub fn kill(&mut self) -> Exited {
        self.stop(Signal::KILL)
    }

    /// Waits (bounded by [`TIMEOUT`]) for the process to exit, but not for
    /// its outputs to end (a process it started may still hold them).
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        self.wait_for_exit(deadline)
            .unwrap_or_else(|| panic!("{} still running after {TIMEOUT:?}", self.what))
    }

    /// Waits (bounded by [`TIMEOUT`]) for the process to exit and for its
    /// outputs to end (they end when it and any child it left have exited).
    pub fn wait(&mut self) -> Exited {
        let deadline = Instant::now() + TIMEOUT;
        let status = self.wait_for_exit(deadline).unwrap_or_else(|| {
            panic!("{} still running after {TIMEOUT:?}", self.what);
        });
        let mut stdout = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => stdout.push_str(&line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{}: standard output still open after its exit", self.what)
                }
            }
        }
        loop {
            match self.receive_log_line(deadline) {
                Some(true) => {}
                Some(false) => break,
                None => panic!("{}: standard error still open after its exit", self.what),
            }
        }
        Exited {
            status,
            stdout,
            stderr: self.stderr_text.clone(),
        }
    }

    /// Waits (bounded by `timeout`) until at least `count` standard-error
    /// lines contain `needle`; returns the last of them.
    pub fn wait_for_log_count(&mut self, needle: &str, count: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let matching: Vec<&String> = self.log.iter().filter(|l| l.contains(needle)).collect();
            if matching.len() >= count.max(1) {
                return matching[matching.len() - 1].clone();
            }
            if !matches!(self.receive_log_line(deadline), Some(true)) {
                panic!(
                    "{}: fewer than {count} log lines with {needle:?} within {timeout:?}; \
                     log: {:#?}",
                    self.what, self.log
                );
            }
        }
    }

    /// Waits (bounded by `timeout`) for a standard-error line containing
    /// `needle`; returns it.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> String {
        self.wait_for_log_count(needle, 1, timeout)
    }

    /// A figure of the process from `/proc/PID/status`, in kB (say
    /// `VmHWM`, the peak resident set size).
    pub fn status_kb(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Receives one standard-error line before `deadline` into the log:
    /// `Some(true)` if one came, `Some(false)` at end of file, `None` when
    /// the time ran out.
    fn receive_log_line(&mut self, deadline: Instant) -> Option<bool> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.stderr.recv_timeout(left) {
            Ok(line) => {
                self.stderr_text.push_str(&line);
                self.log
                    .push(line.trim_end_matches(['\r', '\n']).to_owned());
                Some(true)
            }
            Err(RecvTimeoutError::Disconnected) => Some(false),
            Err(RecvTimeoutError::Timeout) => None,
        }
    }

    /// The exit status, if the process has exited (reaping it).
    fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child
            .try_wait()
            .unwrap_or_else(|e| panic!("wait for {}: {e}", self.what))
    }

    /// Waits for the exit on the child's pidfd, which becomes readable when
    /// the process exits; `None` if it is still running at `deadline`.
    fn wait_for_exit(&mut self, deadline: Instant) -> Option<ExitStatus> {
        if let Some(status) = self.exit_status() {
            return Some(status);
        }
        // Not reaped yet, so the PID is this child's.
        let pidfd = pidfd_open(self.pid(), PidfdFlags::empty())
            .unwrap_or_else(|e| panic!("pidfd_open for {}: {e}", self.what));
        loop {
            if let Some(status) = self.exit_status() {
                return Some(status);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let timeout = Timespec::try_from(left).expect("a timeout as a timespec");
            let mut fds = [PollFd::new(&pidfd, PollFlags::IN)];
            match poll(&mut fds, Some(&timeout)) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => panic!("poll the pidfd of {}: {e}", self.what),
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // `Child` knows whether it has been reaped, and sends nothing then:
        // the signal only ever reaches this child's own PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The path of `program` on `PATH` (or in `/usr/sbin`, where Debian puts
/// nginx and haproxy), or `None` after a `SKIPPED:` line: a test without
/// it returns early. A failure instead when the environment variable
/// `variable` is `1`, as `.ci/run` sets it, so that CI cannot skip.
#[allow(dead_code)] // not every test binary that includes this uses it
pub fn require(program: &str, variable: &str, package: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file());
    if found.is_none() {
        let required = std::env::var_os(variable).is_some_and(|v| v == "1");
        assert!(!required, "{program} is not installed, and {variable}=1");
        eprintln!("SKIPPED: {program} is not installed (Debian package `{package}`)");
    }
    found
}

/// Runs `command` (standard input empty) to its exit, bounded by
/// [`TIMEOUT`]: a process still running then is killed and fails the test.
pub fn run_to_exit(command: &mut Command) -> Exited {
    Process::spawn(command).wait()
}
