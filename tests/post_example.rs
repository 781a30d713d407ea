//! The `post` example (the seed's form echo) run as a process: the form
//! page, the seed's curl transcript with the real byte count, urlencoded and
//! multipart echoes in the order sent, a large upload in constant memory, the
//! limits (413) and malformed bodies (400), and nothing written to disk.

#[path = "common/process.rs"]
mod process;

use process::{Process, example};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Read and write timeout of every client socket: only a bug reaches it.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts the example with its own empty temporary directory, so a test can
/// check that nothing was written there.
fn start(tmp: &Path) -> Process {
    Process::start(example("post").arg("127.0.0.1:0").env("TMPDIR", tmp))
}

/// One response: status code, headers, body.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn connect(p: &Process) -> TcpStream {
    let s = TcpStream::connect(p.addr()).expect("connect to the example");
    s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    s.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
    s
}

/// Reads one response (Content-Length or chunked body, or until close).
fn read_response(stream: &mut BufReader<TcpStream>) -> Response {
    let mut line = String::new();
    stream.read_line(&mut line).expect("status line");
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        stream.read_line(&mut h).expect("header line");
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (n, v) = h.split_once(':').expect("header colon");
        headers.push((n.to_owned(), v.trim().to_owned()));
    }
    let mut r = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if let Some(len) = r.header("Content-Length") {
        let mut body = vec![0; len.parse().expect("length")];
        stream.read_exact(&mut body).expect("body");
        r.body = body;
    } else if r.header("Transfer-Encoding") == Some("chunked") {
        loop {
            let mut size = String::new();
            stream.read_line(&mut size).expect("chunk size");
            let n = usize::from_str_radix(size.trim(), 16).expect("hex size");
            let mut chunk = vec![0; n + 2];
            stream.read_exact(&mut chunk).expect("chunk");
            if n == 0 {
                break;
            }
            r.body.extend_from_slice(&chunk[..n]);
        }
    } else {
        stream.read_to_end(&mut r.body).expect("body to close");
    }
    r
}

fn request(p: &Process, head: &str, body: &[u8]) -> Response {
    let mut s = connect(p);
    s.write_all(head.as_bytes()).expect("write head");
    s.write_all(body).expect("write body");
    read_response(&mut BufReader::new(s))
}

fn post(p: &Process, path: &str, content_type: &str, body: &[u8]) -> Response {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    request(p, &head, body)
}

fn assert_nothing_on_disk(tmp: &Path) {
    let left: Vec<_> = std::fs::read_dir(tmp)
        .expect("read tmp")
        .map(|e| e.map(|e| e.path()))
        .collect();
    assert!(left.is_empty(), "files left on disk: {left:?}");
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

#[test]
fn get_serves_the_form() {
    let tmp = tempdir();
    let p = start(tmp.path());
    let r = request(
        &p,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    let page = r.text();
    for needle in [
        "<form method=\"post\" enctype=\"multipart/form-data\">",
        "type=\"text\" id=\"name\" name=\"name\"",
        "type=\"file\" id=\"datafile\" name=\"datafile\"",
        "type=\"submit\"",
    ] {
        assert!(page.contains(needle), "{needle:?} not in {page}");
    }
    // No action attribute: the browser posts back to the page's own URL.
    assert!(!page.contains("action="));
}

/// The seed's transcript, with a 2222-byte file as the seed's was.
#[test]
fn seed_curl_transcript() {
    let tmp = tempdir();
    let p = start(tmp.path());
    let files = tempdir();
    let file = files.path().join("BaseHTTPServer_GET.py");
    std::fs::write(&file, vec![b'#'; 2222]).expect("write file");
    let Some(curl) = process::require("curl", "BASEHTTP_REQUIRE_CURL", "curl") else {
        return;
    };
    let output = Command::new(curl)
        .args(["-sS", "--max-time", "60"])
        .arg(p.url("/"))
        .args(["-F", "name=dhellmann", "-F", "foo=bar", "-F"])
        .arg(format!("datafile=@{}", file.display()))
        .stdin(Stdio::null())
        .output()
        .expect("run curl");
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let (client, rest) = text.split_once('\n').expect("lines");
    let port = client
        .strip_prefix("Client: 127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected client line {client:?}"));
    assert!(port.parse::<u16>().is_ok(), "{client:?}");
    assert_eq!(
        rest,
        "Path: /\nForm data:\n\tname=dhellmann\n\tfoo=bar\n\tUploaded datafile (2222 bytes)\n"
    );
}

#[test]
fn urlencoded_fields_in_order_with_repeats() {
    let tmp = tempdir();
    let p = start(tmp.path());
    let r = post(
        &p,
        "/form?x=1",
        "application/x-www-form-urlencoded",
        b"name=Doug+Hellmann&tag=a&foo=bar&tag=b&uni=na%C3%AFve&blank=",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    let text = r.text();
    let mut lines = text.lines();
    let client = lines.next().expect("client line");
    assert!(client.starts_with("Client: 127.0.0.1:"), "{client}");
    assert_eq!(
        lines.collect::<Vec<_>>(),
        [
            "Path: /form?x=1",
            "Form data:",
            "\tname=Doug Hellmann",
            "\ttag=a",
            "\tfoo=bar",
            "\ttag=b",
            "\tuni=na\u{ef}ve",
            "\tblank=",
        ]
    );
}

fn part(name: &str, filename: Option<&str>, content: &[u8]) -> Vec<u8> {
    let mut p = b"--EX\r\n".to_vec();
    match filename {
        Some(f) => p.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\r\n")
                .as_bytes(),
        ),
        None => p.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
        ),
    }
    p.extend_from_slice(content);
    p.extend_from_slice(b"\r\n");
    p
}

#[test]
fn multipart_fields_in_order_with_repeats() {
    let tmp = tempdir();
    let p = start(tmp.path());
    let mut body = Vec::new();
    body.extend(part("name", None, b"dhellmann"));
    body.extend(part("datafile", Some("a.bin"), &[0u8; 1000]));
    body.extend(part("name", None, "second \u{2713}".as_bytes()));
    body.extend(part("datafile", Some(""), b""));
    body.extend(part("empty", None, b""));
    body.extend_from_slice(b"--EX--\r\n");
    let r = post(&p, "/", "multipart/form-data; boundary=EX", &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert_eq!(
        text.lines().skip(1).collect::<Vec<_>>(),
        [
            "Path: /",
            "Form data:",
            "\tname=dhellmann",
            "\tUploaded datafile (1000 bytes)",
            "\tname=second \u{2713}",
            "\tUploaded datafile (0 bytes)",
            "\tempty=",
        ]
    );
    assert_nothing_on_disk(tmp.path());
}

#[test]
fn limits_are_413_and_malformed_is_400() {
    let tmp = tempdir();
    let mut p = start(tmp.path());

    // A text field over 1 MiB.
    let mut body = part("big", None, &vec![b'a'; (1 << 20) + 1]);
    body.extend_from_slice(b"--EX--\r\n");
    let r = post(&p, "/", "multipart/form-data; boundary=EX", &body);
    assert_eq!(r.status, 413);
    assert!(
        r.text()
            .contains("form field value larger than 1048576 bytes")
    );

    // Exactly 1 MiB passes.
    let mut body = part("big", None, &vec![b'a'; 1 << 20]);
    body.extend_from_slice(b"--EX--\r\n");
    let r = post(&p, "/", "multipart/form-data; boundary=EX", &body);
    assert_eq!(r.status, 200);

    // A declared body over 4 GiB: refused before any of it is sent.
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=EX\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        (4u64 << 30) + 1
    );
    let r = request(&p, &head, b"");
    assert_eq!(r.status, 413);
    assert!(
        r.text().contains("form body larger than 4294967296 bytes"),
        "{}",
        r.text()
    );

    // Malformed: no final boundary; no boundary parameter; not a form.
    let r = post(
        &p,
        "/",
        "multipart/form-data; boundary=EX",
        &part("a", None, b"1"),
    );
    assert_eq!(r.status, 400);
    let r = post(&p, "/", "multipart/form-data", b"--EX--");
    assert_eq!(r.status, 400);
    let r = post(&p, "/", "text/plain", b"hello");
    assert_eq!(r.status, 415);

    p.wait_for_log("\"POST / HTTP/1.1\" 415", IO_TIMEOUT);
    assert_nothing_on_disk(tmp.path());
}

/// Streams `size` bytes of file through the example; returns the response.
fn upload(p: &Process, size: u64) -> Response {
    let head_part = b"--EX\r\nContent-Disposition: form-data; name=\"datafile\"; \
        filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n";
    let tail = b"\r\n--EX--\r\n";
    let length = head_part.len() as u64 + size + tail.len() as u64;
    let mut s = connect(p);
    let head = format!(
        "POST /big HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=EX\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).expect("head");
    s.write_all(head_part).expect("part head");
    // CRs, LFs and dashes, so the boundary search has work to do.
    let block: Vec<u8> = (0..1 << 20).map(|i| b"\r\n--E-xyz"[i % 9]).collect();
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        s.write_all(&block[..n]).expect("file bytes");
        left -= n as u64;
    }
    s.write_all(tail).expect("tail");
    read_response(&mut BufReader::new(s))
}

/// A large upload is counted in constant memory and nothing touches the
/// disk. 1 GiB in release builds (`cargo test --release`); 256 MiB in debug
/// builds, whose unoptimized boundary search is slower (the benchmark
/// program streams 1 GiB through the release build).
#[test]
fn large_upload_in_constant_memory() {
    let size: u64 = if cfg!(debug_assertions) {
        256 << 20
    } else {
        1 << 30
    };
    let tmp = tempdir();
    let p = start(tmp.path());
    let before = p.status_kb("VmHWM").unwrap_or(0);
    let r = upload(&p, size);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text()
            .ends_with(&format!("\tUploaded datafile ({size} bytes)\n")),
        "{}",
        r.text()
    );
    if let Some(peak) = p.status_kb("VmHWM") {
        assert!(
            peak < 64 * 1024,
            "peak RSS {peak} kB (before the upload: {before} kB)"
        );
    }
    assert_nothing_on_disk(tmp.path());
}
