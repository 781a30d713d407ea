//! The examples run as a user runs them: each is built once with
//! `cargo build --examples`, started as its own process on `127.0.0.1:0`, and
//! spoken to over raw TCP. The port comes from the startup line the example
//! prints (INTERFACE.md); nothing here waits with a sleep, and every blocking
//! step has a bound so a broken example fails the test instead of hanging it.
//!
//! Every example process is owned by a [`Process`] that kills it (by its
//! own PID) when dropped, so a failing assertion leaves nothing behind.

#[path = "common/process.rs"]
mod process;

use process::{Exited, Process, example};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Read and write timeout of every client socket: only a bug reaches it.
const IO_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// Running the examples
// ---------------------------------------------------------------------------

/// Starts `name` with `args` followed by `127.0.0.1:0`, and waits (bounded)
/// for its startup line to learn the port.
fn start(name: &str, args: &[&str]) -> Process {
    Process::start(example(name).args(args).arg("127.0.0.1:0"))
}

/// Runs an example that should exit by itself (bad arguments), with a bound.
fn run_to_exit(name: &str, args: &[&str]) -> Exited {
    process::run_to_exit(example(name).args(args))
}

// ---------------------------------------------------------------------------
// A raw HTTP/1.1 client
// ---------------------------------------------------------------------------

struct Client {
    reader: BufReader<TcpStream>,
}

#[derive(Debug)]
struct Response {
    status_line: String,
    code: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        Client {
            reader: BufReader::new(stream),
        }
    }

    fn local_addr(&self) -> SocketAddr {
        self.reader.get_ref().local_addr().unwrap()
    }

    fn send(&mut self, bytes: &[u8]) {
        self.reader
            .get_mut()
            .write_all(bytes)
            .expect("send the request");
    }

    /// Sends a request with `Host` and, if there is a body, `Content-Length`.
    fn request(&mut self, method: &str, target: &str, extra: &[&str], body: &[u8]) -> Response {
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for h in extra {
            head.push_str(h);
            head.push_str("\r\n");
        }
        if !body.is_empty() || method == "POST" {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        self.send(&bytes);
        self.read_response(method == "HEAD")
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read a line");
        assert!(
            line.ends_with("\r\n"),
            "line not ended by CRLF (connection closed?): {line:?}"
        );
        line.truncate(line.len() - 2);
        line
    }

    /// Reads one response: the head, then a body framed by `Content-Length`,
    /// the chunked coding, or the end of the connection.
    fn read_response(&mut self, head_request: bool) -> Response {
        let status_line = self.line();
        let code = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let line = self.line();
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("bad header line {line:?}"));
            headers.push((name.to_string(), value.trim().to_string()));
        }
        let mut response = Response {
            status_line,
            code,
            headers,
            body: Vec::new(),
        };
        if head_request || code < 200 || code == 204 || code == 304 {
            return response;
        }
        let chunked = response
            .header("Transfer-Encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"));
        if chunked {
            loop {
                let size_line = self.line();
                let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16)
                    .unwrap_or_else(|_| panic!("bad chunk size line {size_line:?}"));
                if size == 0 {
                    while !self.line().is_empty() {}
                    break;
                }
                let mut chunk = vec![0; size];
                self.reader.read_exact(&mut chunk).expect("read a chunk");
                response.body.extend_from_slice(&chunk);
                assert_eq!(self.line(), "", "chunk not followed by CRLF");
            }
        } else if let Some(length) = response.header("Content-Length") {
            let length: usize = length.parse().expect("numeric Content-Length");
            let mut body = vec![0; length];
            self.reader.read_exact(&mut body).expect("read the body");
            response.body = body;
        } else {
            self.reader
                .read_to_end(&mut response.body)
                .expect("read the body until close");
        }
        response
    }

    /// Everything the server sends until it closes the connection.
    fn rest(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        self.reader
            .read_to_end(&mut rest)
            .expect("read until the server closes");
        rest
    }
}

/// `Sun, 09 Dec 2007 16:00:34 GMT`.
fn assert_http_date(date: Option<&str>) {
    let date = date.expect("a Date header");
    let b = date.as_bytes();
    assert!(
        b.len() == 29
            && b[3] == b','
            && date.ends_with(" GMT")
            && b[5..7].iter().all(u8::is_ascii_digit)
            && b[12..16].iter().all(u8::is_ascii_digit),
        "not an IMF-fixdate: {date:?}"
    );
}

/// `Rust/1.85.0` (a pre-release suffix allowed).
fn assert_rust_version(sys_version: &str) {
    let version = sys_version
        .strip_prefix("Rust/")
        .unwrap_or_else(|| panic!("sys_version {sys_version:?} does not start with Rust/"));
    let numbers: Vec<&str> = version
        .split(['-', '+'])
        .next()
        .unwrap()
        .split('.')
        .collect();
    assert!(
        numbers.len() == 3
            && numbers
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        "sys_version {sys_version:?} is not Rust/x.y.z"
    );
}

// ---------------------------------------------------------------------------
// get
// ---------------------------------------------------------------------------

#[test]
fn get_reports_client_and_server_values() {
    let example = start("get", &[]);
    let mut client = Client::connect(example.addr());
    let port = client.local_addr().port();

    let get = client.request("GET", "/?foo=bar", &[], b"");
    assert_eq!(get.status_line, "HTTP/1.1 200 OK");
    let body = get.text();
    let lines: Vec<&str> = body.split('\n').collect();
    let expected_start = [
        "CLIENT VALUES:".to_string(),
        format!("client_address=127.0.0.1:{port} (127.0.0.1)"),
        "command=GET".to_string(),
        "path=/?foo=bar".to_string(),
        "real path=/".to_string(),
        "query=foo=bar".to_string(),
        "request_version=HTTP/1.1".to_string(),
        String::new(),
        "SERVER VALUES:".to_string(),
        format!("server_version=BaseHTTP/{}", env!("CARGO_PKG_VERSION")),
    ];
    assert!(
        lines.len() >= expected_start.len(),
        "short report: {body:?}"
    );
    assert_eq!(lines[..expected_start.len()], expected_start, "in {body:?}");
    let sys_version = lines[expected_start.len()]
        .strip_prefix("sys_version=")
        .unwrap_or_else(|| panic!("no sys_version line in {body:?}"));
    assert_rust_version(sys_version);
    assert_eq!(
        lines[expected_start.len() + 1..],
        ["protocol_version=HTTP/1.1", ""],
        "in {body:?}"
    );
    assert!(body.ends_with("protocol_version=HTTP/1.1\n"));

    // The Server header is server_version + " " + sys_version, as in Python.
    assert_eq!(
        get.header("Server"),
        Some(format!("BaseHTTP/{} {sys_version}", env!("CARGO_PKG_VERSION")).as_str())
    );
    assert_eq!(get.count("Server"), 1);
    assert_eq!(get.count("Date"), 1);
    assert_http_date(get.header("Date"));
    assert_eq!(
        get.header("Content-Length"),
        Some(body.len().to_string().as_str())
    );

    // HEAD on the same (kept-alive) connection: the same head, no body.
    let head = client.request("HEAD", "/?foo=bar", &["Connection: close"], b"");
    assert_eq!(head.status_line, "HTTP/1.1 200 OK");
    assert_eq!(head.header("Server"), get.header("Server"));
    assert_http_date(head.header("Date"));
    // The Content-Length of the body do_get wrote, which reports
    // `command=HEAD`: one byte longer than `command=GET`.
    assert_eq!(
        head.header("Content-Length"),
        Some((body.len() + 1).to_string().as_str())
    );
    assert_eq!(head.header("Connection"), Some("close"));
    assert_eq!(client.rest(), b"", "HEAD response carried a body");

    drop(client);

    // Any other method: 501.
    let mut client = Client::connect(example.addr());
    let post = client.request("POST", "/", &[], b"");
    assert_eq!(post.code, 501, "{}", post.status_line);
    assert_eq!(post.header("Connection"), Some("close"));
    assert!(post.text().contains("Error code: 501"), "{}", post.text());
    assert_eq!(client.rest(), b"");
}

// ---------------------------------------------------------------------------
// threads
// ---------------------------------------------------------------------------

#[test]
fn threads_names_the_thread_of_each_connection() {
    let example = start("threads", &[]);

    // One connection after another: Thread-1, then Thread-2, as in the seed.
    let mut names = Vec::new();
    for _ in 0..2 {
        let mut client = Client::connect(example.addr());
        let response = client.request("GET", "/", &["Connection: close"], b"");
        assert_eq!(response.status_line, "HTTP/1.1 200 OK");
        names.push(response.text().to_string());
    }
    assert_eq!(names, ["Thread-1\n", "Thread-2\n"]);

    // Several connections open at once, each waiting for its answer, the
    // first one last: only a server that runs them concurrently answers all.
    const N: usize = 8;
    let mut clients: Vec<Client> = (0..N).map(|_| Client::connect(example.addr())).collect();
    for client in &mut clients {
        client.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    }
    let mut seen = Vec::new();
    for client in clients.iter_mut().rev() {
        let response = client.read_response(false);
        assert_eq!(response.status_line, "HTTP/1.1 200 OK");
        let name = response.text();
        let number = name
            .strip_prefix("Thread-")
            .and_then(|n| n.strip_suffix('\n'))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        assert!(number.is_some(), "not a Thread-N line: {name:?}");
        assert!(!names.contains(&name.to_string()), "{name:?} reused");
        assert!(!seen.contains(&name.to_string()), "{name:?} answered twice");
        seen.push(name.to_string());
    }
    assert_eq!(seen.len(), N);
}

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------

#[test]
fn errors_answers_the_default_404_page() {
    let example = start("errors", &[]);
    let mut client = Client::connect(example.addr());
    let response = client.request("GET", "/", &[], b"");
    assert_eq!(response.status_line, "HTTP/1.1 404 Not Found");
    assert_eq!(
        response.header("Content-Type"),
        Some("text/html;charset=utf-8")
    );
    assert_eq!(response.header("Connection"), Some("close"));
    assert!(response.header("Server").is_some());
    assert_http_date(response.header("Date"));
    let body = response.text();
    assert_eq!(
        response.header("Content-Length"),
        Some(body.len().to_string().as_str())
    );
    for needle in [
        "Error code: 404",
        "Message: Not Found",
        "Nothing matches the given URI",
    ] {
        assert!(body.contains(needle), "{needle:?} missing from {body:?}");
    }
    // Connection: close means it: nothing follows, and the server closes.
    assert_eq!(client.rest(), b"");
}

// ---------------------------------------------------------------------------
// hello
// ---------------------------------------------------------------------------

fn check_hello(args: &[&str]) {
    let mut example = start("hello", args);

    let mut client = Client::connect(example.addr());
    let get = client.request("GET", "/", &[], b"");
    assert_eq!(get.status_line, "HTTP/1.1 200 OK", "{args:?}");
    assert_eq!(get.header("Content-Type"), Some("text/plain"), "{args:?}");
    assert_eq!(get.header("Content-Length"), Some("13"), "{args:?}");
    assert_eq!(get.body, b"Hello, World!", "{args:?}");
    assert!(get.header("Server").is_some(), "{args:?}");
    assert_http_date(get.header("Date"));

    // POST on the same kept-alive connection echoes a 4 KiB body.
    let body: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
    let post = client.request("POST", "/", &[], &body);
    assert_eq!(post.status_line, "HTTP/1.1 200 OK", "{args:?}");
    assert_eq!(post.body.len(), body.len(), "{args:?}");
    assert!(post.body == body, "{args:?}: echoed body differs");

    // And on a fresh connection, once the first one is closed (a sequential
    // server serves one connection at a time).
    drop(client);
    let mut client = Client::connect(example.addr());
    let get = client.request("GET", "/", &["Connection: close"], b"");
    assert_eq!(get.body, b"Hello, World!", "{args:?}");
    assert_eq!(client.rest(), b"");

    let Exited { stderr, .. } = example.kill();
    assert_eq!(stderr, "", "{args:?}: hello wrote to standard error");
}

#[test]
fn hello_sequential() {
    check_hello(&["--mode", "sequential"]);
}

#[test]
fn hello_threading() {
    check_hello(&["--mode", "threading"]);
}

#[test]
fn hello_pool() {
    check_hello(&["--mode", "pool"]);
}

#[test]
fn hello_default_mode() {
    check_hello(&[]);
}

// ---------------------------------------------------------------------------
// bad arguments
// ---------------------------------------------------------------------------

#[test]
fn bad_arguments_exit_2_with_one_line() {
    for (name, args) in [
        ("get", &["--bogus"][..]),
        ("hello", &["--mode", "nope"][..]),
        ("get", &["not-an-address"][..]),
        ("threads", &["127.0.0.1:99999"][..]),
        ("errors", &["127.0.0.1:0", "extra"][..]),
    ] {
        let exited = run_to_exit(name, args);
        assert_eq!(
            exited.status.code(),
            Some(2),
            "{name} {args:?}: status {}; stderr {:?}",
            exited.status,
            exited.stderr
        );
        assert_eq!(
            exited.stderr.lines().count(),
            1,
            "{name} {args:?}: stderr should be one line: {:?}",
            exited.stderr
        );
        assert!(
            exited.stderr.ends_with('\n'),
            "{name} {args:?}: {:?}",
            exited.stderr
        );
        assert_eq!(
            exited.stdout, "",
            "{name} {args:?}: printed to stdout before failing"
        );
    }
}

#[test]
fn a_port_in_use_exits_2_with_one_line() {
    let running = start("get", &[]);
    let address = running.addr().to_string();
    let exited = run_to_exit("errors", &[&address]);
    assert_eq!(
        exited.status.code(),
        Some(2),
        "status {}; stderr {:?}",
        exited.status,
        exited.stderr
    );
    assert_eq!(exited.stderr.lines().count(), 1, "{:?}", exited.stderr);
    assert_eq!(exited.stdout, "");
}

// ---------------------------------------------------------------------------
// stopping
// ---------------------------------------------------------------------------

#[test]
fn sigterm_stops_gracefully_with_status_0() {
    for name in ["get", "threads", "errors", "hello"] {
        let mut example = start(name, &[]);
        // An idle keep-alive connection must not keep the process alive.
        let mut idle = Client::connect(example.addr());
        let response = idle.request("GET", "/", &[], b"");
        assert!(matches!(response.code, 200 | 404), "{name}: {response:?}");
        let Exited { status, .. } = example.terminate();
        assert_eq!(status.code(), Some(0), "{name}: {status}");
        assert_eq!(idle.rest(), b"", "{name}: bytes after shutdown");
    }
}
