//! A real browser submits the `post` example's form: headless Chromium
//! (through chromedriver, see tests/browser/mod.rs) opens the page, types in
//! the text field, attaches a file of known size — one with an ASCII name,
//! one with `naïve résumé.txt` — and submits. The test checks the page that
//! comes back and that the example really received the browser's POST (its
//! request log on standard error).
//!
//! Skipped with a printed reason where Chromium is not installed, unless
//! `BASEHTTP_REQUIRE_BROWSER=1`. With `BASEHTTP_RECORD_FIXTURES=1` it also
//! records the raw body Chromium sends as tests/fixtures/form/chromium-*.

mod browser;
#[path = "common/process.rs"]
mod process;

use browser::Browser;
use process::{Process, example};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const LOG_TIMEOUT: Duration = Duration::from_secs(60);

/// File contents that are not one repeated byte: CRs, LFs, dashes, NULs.
fn content(len: usize) -> Vec<u8> {
    let alphabet = b"abc\r\n--XYZ\x00\xff";
    (0..len).map(|i| alphabet[i % alphabet.len()]).collect()
}

fn write_file(dir: &Path, name: &str, len: usize) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content(len)).expect("write upload file");
    path
}

/// Opens the form, fills it, submits it, and returns the page text.
fn submit(b: &Browser, url: &str, name: &str, file: &Path) -> browser::Result<String> {
    b.goto(url)?;
    b.find("#name")?.send_keys(name)?;
    b.find("#datafile")?.send_keys(&file.to_string_lossy())?;
    b.find("#submit")?.click()?;
    b.wait_for_text("Form data:")
}

#[test]
fn chromium_submits_the_post_form() {
    let Some(b) = Browser::start_or_skip("chromium_submits_the_post_form") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut server = Process::start(example("post").arg("127.0.0.1:0").env("TMPDIR", tmp.path()));
    let files = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("report.txt", 12_345),
        ("na\u{ef}ve r\u{e9}sum\u{e9}.txt", 4_321),
    ];
    for (i, (filename, size)) in cases.into_iter().enumerate() {
        let path = write_file(files.path(), filename, size);
        let typed = format!("dhellmann na\u{ef}ve {i}");
        let text = submit(&b, &server.url("/"), &typed, &path)
            .unwrap_or_else(|e| panic!("{filename}: {e}"));
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        assert!(
            lines
                .first()
                .is_some_and(|l| l.starts_with("Client: 127.0.0.1:")),
            "{text:?}"
        );
        assert_eq!(
            lines[1..],
            [
                "Path: /",
                "Form data:",
                &format!("\tname={typed}"),
                &format!("\tUploaded datafile ({size} bytes)"),
            ],
            "page for {filename}: {text:?}"
        );
        // The server really received the browser's request.
        server.wait_for_log_count("\"GET / HTTP/1.1\" 200", i + 1, LOG_TIMEOUT);
        server.wait_for_log_count("\"POST / HTTP/1.1\" 200", i + 1, LOG_TIMEOUT);
    }
    let posts = server
        .log
        .iter()
        .filter(|l| l.contains("\"POST / HTTP/1.1\" 200"))
        .count();
    assert_eq!(posts, cases.len(), "{:#?}", server.log);
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("tmp").collect();
    assert!(left.is_empty(), "files left on disk: {left:?}");

    if std::env::var("BASEHTTP_RECORD_FIXTURES").is_ok_and(|v| v == "1") {
        record_fixture(&b, &server, files.path());
    }
}

/// Serves the example's form page from a recorder that keeps the raw body
/// of the POST, has Chromium submit it, and writes the body and what it must
/// parse to as tests/fixtures/form/chromium-form.{body,json}.
fn record_fixture(b: &Browser, server: &Process, files: &Path) {
    let page = {
        let mut s = TcpStream::connect(server.addr()).expect("connect");
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("write");
        let mut all = String::new();
        s.read_to_string(&mut all).expect("read page");
        all.split_once("\r\n\r\n").expect("head").1.to_owned()
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind recorder");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let mut reader = BufReader::new(stream);
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push(line.trim_end().to_owned());
            }
            let header = |name: &str| {
                head.iter().find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                })
            };
            let is_post = head.first().is_some_and(|l| l.starts_with("POST "));
            let reply: Vec<u8> = if is_post {
                let len: usize = header("Content-Length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                reader.read_exact(&mut body).expect("read body");
                let _ = tx.send((header("Content-Type").unwrap_or_default(), body));
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 22\r\n\
                  Connection: close\r\n\r\nForm data: recorded.\r\n"
                    .to_vec()
            } else if head.first().is_some_and(|l| l.starts_with("GET / ")) {
                let mut r = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    page.len()
                )
                .into_bytes();
                r.extend_from_slice(page.as_bytes());
                r
            } else {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            };
            let _ = reader.get_mut().write_all(&reply);
        }
    });
    let filename = "na\u{ef}ve r\u{e9}sum\u{e9}.txt";
    let path = files.join(filename);
    let typed = "Doug Hellmann \u{2713}";
    submit(b, &format!("http://{addr}/"), typed, &path).expect("submit to the recorder");
    let (content_type, body) = rx.recv_timeout(LOG_TIMEOUT).expect("recorded body");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/form");
    std::fs::write(dir.join("chromium-form.body"), &body).expect("write body");
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let json = serde_json::json!({
        "content_type": content_type,
        "browser": b.version().unwrap_or_default(),
        "fields": [
            {"name": "name", "filename": null, "hex": hex(typed.as_bytes())},
            {"name": "datafile", "filename": filename, "hex": hex(&std::fs::read(&path).expect("file"))},
        ],
    });
    let text = serde_json::to_string_pretty(&json).expect("json") + "\n";
    std::fs::write(dir.join("chromium-form.json"), text).expect("write json");
    eprintln!(
        "recorded chromium-form.body ({} bytes, {content_type})",
        body.len()
    );
}
