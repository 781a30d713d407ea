#![allow(dead_code)] // each browser test uses a different part

//! A real browser for tests: Debian's Chromium, headless, driven by its
//! `chromedriver` over the W3C WebDriver HTTP API with a tiny blocking
//! client (std `TcpStream` and `serde_json`; no async runtime).
//!
//! ```ignore
//! let Some(browser) = browser::Browser::start_or_skip("my_test") else { return };
//! browser.goto("http://127.0.0.1:8080/")?;
//! browser.find("#name")?.send_keys("dhellmann")?;
//! ```
//!
//! Finding the programs: `chromedriver` and `chromium` on `PATH`, or the
//! paths in `BASEHTTP_CHROMEDRIVER` and `BASEHTTP_CHROMIUM`. Without them a
//! test is skipped with a printed reason, unless `BASEHTTP_REQUIRE_BROWSER=1`
//! (set by `.ci/run`), which makes the skip a failure. Install them with
//! `apt-get install -y chromium chromium-driver`.
//!
//! Chromium runs with `--no-sandbox` (tests run as root in CI), headless,
//! with a fresh profile directory, and with everything that would reach the
//! network on its own turned off. `chromedriver` listens on a port the kernel
//! picks (`--port=0`), read from its startup line; both processes are killed
//! when the [`Browser`] is dropped.
//!
//! The driver runs as a [`Process`]: a test that has `mod browser;` has
//! `#[path = "common/process.rs"] mod process;` beside it.

use crate::process::Process;
use serde_json::{Value, json};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Bound on chromedriver's startup and on each WebDriver command (a page
/// load included).
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The key of an element reference in WebDriver JSON (W3C WebDriver §12).
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Chromium's switches for a test run.
const CHROMIUM_ARGS: &[&str] = &[
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// A WebDriver failure: the command, and what the driver said.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

fn err(message: impl Into<String>) -> Error {
    Error(message.into())
}

/// Finds `name` on `PATH`, unless the environment variable `var` names it.
fn find_program(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(var) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Whether a missing browser must fail the test (`BASEHTTP_REQUIRE_BROWSER=1`).
pub fn browser_required() -> bool {
    std::env::var("BASEHTTP_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// A headless Chromium behind its chromedriver, with one WebDriver session.
pub struct Browser {
    driver: Process,
    addr: SocketAddr,
    session: String,
    /// Chromium's process id, as the driver reports it.
    browser_pid: Option<i32>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts the browser, or returns `None` after printing why the test
    /// `test` is skipped — or panics, when a browser is required.
    pub fn start_or_skip(test: &str) -> Option<Browser> {
        let driver = find_program("BASEHTTP_CHROMEDRIVER", &["chromedriver"]);
        let chromium = find_program(
            "BASEHTTP_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        );
        let (driver, chromium) = match (driver, chromium) {
            (Some(d), Some(c)) => (d, c),
            (d, c) => {
                let missing = [("chromedriver", d.is_none()), ("chromium", c.is_none())]
                    .iter()
                    .filter(|(_, m)| *m)
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(" and ");
                let reason = format!(
                    "{missing} not found on PATH (apt-get install -y chromium chromium-driver)"
                );
                if browser_required() {
                    panic!("{test}: BASEHTTP_REQUIRE_BROWSER=1 but {reason}");
                }
                eprintln!("SKIP {test}: {reason}");
                return None;
            }
        };
        match Browser::start(&driver, &chromium) {
            Ok(b) => Some(b),
            Err(e) => panic!("{test}: cannot start the browser: {e}"),
        }
    }

    /// Starts `driver` on a free port and opens a session with `chromium`.
    pub fn start(driver: &Path, chromium: &Path) -> Result<Browser> {
        let profile = tempfile::tempdir().map_err(|e| err(format!("profile dir: {e}")))?;
        let mut command = Command::new(driver);
        command
            .arg("--port=0")
            // BASEHTTP_CHROMEDRIVER_LOG=FILE: the driver's verbose log, to debug.
            .args(
                std::env::var("BASEHTTP_CHROMEDRIVER_LOG")
                    .map(|p| vec!["--verbose".to_owned(), format!("--log-path={p}")])
                    .unwrap_or_default(),
            );
        let mut driver = Process::spawn(&mut command);
        // "ChromeDriver was started successfully on port 34833."
        let port = driver.wait_for_stdout(|line| {
            let rest = line.split("started successfully on port ").nth(1)?;
            Some(rest.trim_end_matches('.').parse::<u16>().ok())
        });
        let Some(Some(port)) = port else {
            return Err(err("chromedriver printed no startup line with its port"));
        };
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut browser = Browser {
            driver,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            session: String::new(),
            browser_pid: None,
            _profile: profile,
        };
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": {"pageLoad": TIMEOUT.as_millis() as u64, "script": TIMEOUT.as_millis() as u64},
                    "goog:chromeOptions": {
                        "binary": chromium.to_string_lossy(),
                        "args": args,
                    }
                }
            }
        });
        let value = browser.command("POST", "/session", Some(&capabilities))?;
        browser.session = value["sessionId"]
            .as_str()
            .ok_or_else(|| err(format!("no sessionId in {value}")))?
            .to_owned();
        browser.browser_pid = value["capabilities"]["goog:processID"]
            .as_i64()
            .and_then(|p| i32::try_from(p).ok());
        Ok(browser)
    }

    /// The browser's version, as the driver reports it.
    pub fn version(&self) -> Result<String> {
        let status = self.command("GET", "/status", None)?;
        Ok(status["build"]["version"]
            .as_str()
            .unwrap_or("?")
            .to_owned())
    }

    /// Sends one WebDriver command and returns its `value`.
    pub fn command(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect(self.addr)
            .map_err(|e| err(format!("connect to chromedriver: {e}")))?;
        let io = |e: std::io::Error| err(format!("{method} {path}: {e}"));
        stream
            .set_read_timeout(Some(TIMEOUT + TIMEOUT))
            .map_err(io)?;
        stream.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
        let content_type = if method == "POST" {
            "Content-Type: application/json; charset=utf-8\r\n"
        } else {
            ""
        };
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{content_type}Content-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream.write_all(request.as_bytes()).map_err(io)?;
        // Read the head, then exactly Content-Length bytes: chromedriver
        // keeps the connection open despite `Connection: close`.
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).map_err(io)? == 0 {
                return Err(err(format!(
                    "{method} {path}: connection closed in the head"
                )));
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let lower = head.to_ascii_lowercase();
        let length = lower
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        let mut payload = Vec::new();
        match length {
            Some(n) => {
                payload.resize(n, 0);
                reader.read_exact(&mut payload).map_err(io)?;
            }
            None => {
                reader.read_to_end(&mut payload).map_err(io)?;
                if lower.contains("transfer-encoding: chunked") {
                    payload = dechunk(&payload);
                }
            }
        }
        let json: Value = serde_json::from_slice(&payload).map_err(|e| {
            err(format!(
                "{method} {path}: bad JSON ({e}): {}",
                String::from_utf8_lossy(&payload)
            ))
        })?;
        let ok = head
            .split(' ')
            .nth(1)
            .is_some_and(|code| code.starts_with('2'));
        if !ok {
            return Err(err(format!(
                "{method} {path} failed: {}",
                json["value"]["message"]
                    .as_str()
                    .unwrap_or(&json.to_string())
            )));
        }
        Ok(json["value"].clone())
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) -> Result<()> {
        self.command(
            "POST",
            &self.session_path("/url"),
            Some(&json!({"url": url})),
        )?;
        Ok(())
    }

    /// A PNG screenshot of the page as it is drawn now (WebDriver's
    /// "Take Screenshot", base64 in the JSON answer).
    pub fn screenshot(&self) -> Result<Vec<u8>> {
        use base64::Engine as _;
        let v = self.command("GET", &self.session_path("/screenshot"), None)?;
        let encoded = v
            .as_str()
            .ok_or_else(|| err(format!("no screenshot: {v}")))?;
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| err(format!("screenshot is not base64: {e}")))
    }

    /// The URL of the current page.
    pub fn current_url(&self) -> Result<String> {
        let v = self.command("GET", &self.session_path("/url"), None)?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// The first element matching a CSS selector.
    pub fn find(&self, css: &str) -> Result<Element<'_>> {
        let v = self.command(
            "POST",
            &self.session_path("/element"),
            Some(&json!({"using": "css selector", "value": css})),
        )?;
        let id = v[ELEMENT_KEY]
            .as_str()
            .ok_or_else(|| err(format!("no element for {css:?}: {v}")))?;
        Ok(Element {
            browser: self,
            id: id.to_owned(),
        })
    }

    /// Runs JavaScript in the page and returns its result.
    pub fn execute(&self, script: &str, args: Value) -> Result<Value> {
        self.command(
            "POST",
            &self.session_path("/execute/sync"),
            Some(&json!({"script": script, "args": args})),
        )
    }

    /// The page's visible text (`document.body.innerText`).
    pub fn body_text(&self) -> Result<String> {
        let v = self.execute(
            "return document.body ? document.body.innerText : '';",
            json!([]),
        )?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Polls (bounded by [`TIMEOUT`]) until the page text contains
    /// `needle`; returns the text. Each poll is a WebDriver round trip, so
    /// this waits on the browser, not on a timer. A poll that fails while a
    /// navigation replaces the page is retried.
    pub fn wait_for_text(&self, needle: &str) -> Result<String> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let last = match self.body_text() {
                Ok(text) if text.contains(needle) => return Ok(text),
                Ok(text) => format!("{text:?}"),
                Err(e) => format!("error: {e}"),
            };
            if Instant::now() > deadline {
                return Err(err(format!(
                    "page text never contained {needle:?}; last: {last}"
                )));
            }
        }
    }
}

/// An element of the current page.
pub struct Element<'b> {
    browser: &'b Browser,
    id: String,
}

impl Element<'_> {
    /// Types `text` into the element; for a file input, `text` is the path
    /// of the file to attach.
    pub fn send_keys(&self, text: &str) -> Result<()> {
        self.browser.command(
            "POST",
            &self
                .browser
                .session_path(&format!("/element/{}/value", self.id)),
            Some(&json!({"text": text})),
        )?;
        Ok(())
    }

    /// Clicks the element.
    pub fn click(&self) -> Result<()> {
        self.browser.command(
            "POST",
            &self
                .browser
                .session_path(&format!("/element/{}/click", self.id)),
            Some(&json!({})),
        )?;
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Quits Chromium.
            let _ = self.command("DELETE", &self.session_path(""), None);
        }
        // In case it did not quit (say, the driver hung): Chromium outlives
        // a killed chromedriver, so end it by its own process id.
        if let Some(pid) = self.browser_pid.and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        // The driver itself is killed when `driver` is dropped.
    }
}

/// Decodes a chunked body (chromedriver answers with Content-Length, but a
/// driver may chunk).
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        if size == 0 || data.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[(eol + 4 + size).min(data.len())..];
    }
    out
}
