#![allow(dead_code)] // each test file uses a different part

//! Examples run as processes, as a user runs them: built with cargo (once
//! per test binary and example), started on `127.0.0.1:0`, and found by the
//! startup line they print. Their standard error (the request log) is read
//! line by line, so a test can wait for a log line instead of sleeping.
//!
//! Every process is owned by an [`ExampleProcess`] that kills it (by its own
//! handle) when dropped, so a failing assertion leaves nothing running.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How long a build plus startup may take: generous, the machine may be
/// busy compiling.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(300);

/// Builds example `name` with this test binary's profile and target
/// directory (once per test process) and returns its path.
pub fn example_path(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    // The test binary is TARGET_DIR/PROFILE/deps/NAME-HASH.
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary in TARGET/PROFILE/deps");
    let target_dir = profile_dir.parent().expect("a target directory");
    let profile = match profile_dir.file_name().and_then(OsStr::to_str) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let output = Command::new(env!("CARGO"))
        .args([
            "build",
            "--example",
            name,
            "--profile",
            profile,
            "--manifest-path",
        ])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null())
        .output()
        .expect("run cargo build");
    assert!(
        output.status.success(),
        "cargo build --example {name} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.is_file(), "{} is missing", path.display());
    built.insert(name.to_owned(), path.clone());
    path
}

/// A running example, killed when dropped.
pub struct ExampleProcess {
    pub name: String,
    child: Child,
    addr: SocketAddr,
    stderr: mpsc::Receiver<String>,
    /// Every standard-error line received so far.
    pub log: Vec<String>,
}

impl ExampleProcess {
    /// Starts example `name` on `127.0.0.1:0` with extra environment
    /// variables, and waits (bounded) for its startup line.
    pub fn start(name: &str, env: &[(&str, &OsStr)]) -> ExampleProcess {
        let mut command = Command::new(example_path(name));
        command
            .arg("127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start example {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (err_tx, err_rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if err_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (out_tx, out_rx) = mpsc::channel();
        thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut line = String::new();
            let _ = stdout.read_line(&mut line);
            let _ = out_tx.send(line);
            // Keep draining so the example never blocks on a full pipe.
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        let mut process = ExampleProcess {
            name: name.to_owned(),
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stderr: err_rx,
            log: Vec::new(),
        };
        let line = out_rx.recv_timeout(STARTUP_TIMEOUT).unwrap_or_else(|_| {
            panic!("example {name} printed no startup line within {STARTUP_TIMEOUT:?}")
        });
        let addr = line
            .strip_prefix("Starting server on http://")
            .and_then(|rest| rest.strip_suffix(", use <Ctrl-C> to stop\n"))
            .and_then(|addr| addr.parse::<SocketAddr>().ok());
        match addr {
            Some(addr) if addr.ip().is_loopback() && addr.port() != 0 => process.addr = addr,
            _ => {
                process.drain_log(Duration::from_millis(0));
                panic!(
                    "example {name}: unexpected startup line {line:?}; stderr: {:?}",
                    process.log
                );
            }
        }
        process
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Collects the log lines that arrive within `wait`.
    pub fn drain_log(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => self.log.push(line),
                Err(_) => return,
            }
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
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => self.log.push(line),
                Err(_) => panic!(
                    "example {}: fewer than {count} log lines with {needle:?} within {timeout:?}; \
                     log: {:#?}",
                    self.name, self.log
                ),
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
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for ExampleProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
