//! Forms over real sockets: bodies recorded from curl, Python and Chromium
//! (tests/fixtures/form/, see record.py there), property round trips, and the
//! limits — 413 and 400 answers, and no temporary file left behind, whatever
//! happens to the upload.

mod common;

use basehttp::form::{
    FieldStorage, FieldValue, FormConfig, FormError, Limit, MultipartReader, Utf8Policy, parse_qsl,
};
use basehttp::{Handler, HandlerResult, Request, ServerConfig};
use common::{Client, TIMEOUT, config};
use proptest::prelude::*;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Instant;

// ---------------------------------------------------------------------------
// A handler that reads the form with FieldStorage and describes it
// ---------------------------------------------------------------------------

/// One field as the tests compare it: name, file name, and content.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Expected {
    name: String,
    filename: Option<String>,
    content: Vec<u8>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The description the handler answers with, and the tests build from what
/// they expect: one line per field, `name<TAB>filename or -<TAB>hex`.
fn describe(fields: &[Expected]) -> String {
    fields
        .iter()
        .map(|f| {
            format!(
                "{}\t{}\t{}\n",
                f.name,
                f.filename.as_deref().unwrap_or("-"),
                hex(&f.content)
            )
        })
        .collect()
}

fn storage_fields(form: &FieldStorage) -> Vec<Expected> {
    form.iter()
        .map(|f| Expected {
            name: f.name().to_owned(),
            filename: f.filename().map(str::to_owned),
            content: match f.value() {
                FieldValue::Text(t) => t.as_bytes().to_vec(),
                FieldValue::File(file) => std::fs::read(file.path()).expect("read temp file"),
            },
        })
        .collect()
}

/// `POST`: reads the form with [`FieldStorage::from_request`], reports the
/// outcome on a channel (after the form, and so its temporary files, is
/// dropped), and answers the description or the error.
struct FormEcho {
    config: FormConfig,
    outcomes: Mutex<mpsc::Sender<Result<usize, String>>>,
}

impl FormEcho {
    fn new(config: FormConfig) -> (FormEcho, mpsc::Receiver<Result<usize, String>>) {
        let (tx, rx) = mpsc::channel();
        (
            FormEcho {
                config,
                outcomes: Mutex::new(tx),
            },
            rx,
        )
    }

    fn report(&self, outcome: Result<usize, String>) {
        let _ = self.outcomes.lock().expect("lock").send(outcome);
    }
}

impl Handler for FormEcho {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        r.send_response(200)?;
        r.end_headers()?;
        Ok(())
    }

    fn do_post(&self, r: &mut Request<'_>) -> HandlerResult {
        let text = match FieldStorage::from_request(r, &self.config) {
            Ok(form) => {
                let text = describe(&storage_fields(&form));
                let count = form.len();
                drop(form); // removes the temporary files before reporting
                self.report(Ok(count));
                text
            }
            Err(e) => {
                self.report(Err(e.to_string()));
                return e.respond(r);
            }
        };
        r.send_response(200)?;
        r.send_header("Content-Type", "text/plain; charset=utf-8")?;
        r.end_headers()?;
        r.wfile.write_all(text.as_bytes())?;
        Ok(())
    }
}

/// A fresh directory for one test's temporary files.
fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("read temp dir")
        .map(|e| e.expect("entry").path())
        .collect()
}

fn form_config(dir: &Path) -> FormConfig {
    FormConfig {
        temp_dir: Some(dir.to_path_buf()),
        ..FormConfig::default()
    }
}

fn post(client: &mut Client, content_type: &str, body: &[u8]) -> common::Response {
    let mut request = format!(
        "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    client.send(&request);
    client.read_response("POST").expect("response to POST")
}

fn post_chunked(
    client: &mut Client,
    content_type: &str,
    body: &[u8],
    chunk: usize,
) -> common::Response {
    let mut request = format!(
        "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for piece in body.chunks(chunk.max(1)) {
        request.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        request.extend_from_slice(piece);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    client.send(&request);
    client.read_response("POST").expect("response to POST")
}

/// Where two descriptions first differ, briefly (fixtures are large).
fn first_difference(got: &str, want: &str) -> String {
    let at = got
        .bytes()
        .zip(want.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let show = |s: &str| {
        s.get(at.saturating_sub(40)..(at + 40).min(s.len()))
            .unwrap_or("")
            .to_owned()
    };
    format!(
        "first difference at byte {at}: got {:?}, want {:?}",
        show(got),
        show(want)
    )
}

fn assert_same(got: &[Expected], want: &[Expected], what: &str) {
    let got = describe(got);
    let want = describe(want);
    assert!(got == want, "{what}: {}", first_difference(&got, &want));
}

// ---------------------------------------------------------------------------
// Recorded vectors
// ---------------------------------------------------------------------------

struct Fixture {
    name: String,
    content_type: String,
    body: Vec<u8>,
    fields: Vec<Expected>,
}

/// The alphabet of record.py's `pattern(n)`.
fn fixture_pattern(n: usize) -> Vec<u8> {
    let alphabet = b"abc\r\n--XYZ\x00\xff";
    (0..n).map(|i| alphabet[i % alphabet.len()]).collect()
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/form")
}

fn load_fixtures() -> Vec<Fixture> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures directory")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".json").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let dir = fixtures_dir();
            let json: serde_json::Value = serde_json::from_slice(
                &std::fs::read(dir.join(format!("{name}.json"))).expect("fixture json"),
            )
            .expect("valid json");
            let body = std::fs::read(dir.join(format!("{name}.body"))).expect("fixture body");
            let fields = json["fields"]
                .as_array()
                .expect("fields")
                .iter()
                .map(|f| Expected {
                    name: f["name"].as_str().expect("name").to_owned(),
                    filename: f["filename"].as_str().map(str::to_owned),
                    content: match f["pattern"].as_u64() {
                        Some(n) => fixture_pattern(n as usize),
                        None => unhex(f["hex"].as_str().expect("hex")),
                    },
                })
                .collect();
            Fixture {
                name,
                content_type: json["content_type"]
                    .as_str()
                    .expect("content_type")
                    .to_owned(),
                body,
                fields,
            }
        })
        .collect()
}

#[test]
fn recorded_vectors_parse_in_memory() {
    let fixtures = load_fixtures();
    for prefix in ["curl-", "python-"] {
        assert!(
            fixtures.iter().any(|f| f.name.starts_with(prefix)),
            "no {prefix}* fixture: run tests/fixtures/form/record.py"
        );
    }
    let dir = temp_dir();
    let config = FormConfig {
        keep_blank_values: true,
        ..form_config(dir.path())
    };
    for f in &fixtures {
        let form = FieldStorage::parse(&f.body[..], &f.content_type, &config)
            .unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_same(&storage_fields(&form), &f.fields, &f.name);
    }
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn recorded_vectors_through_a_server() {
    let dir = temp_dir();
    let (handler, outcomes) = FormEcho::new(FormConfig {
        keep_blank_values: true,
        ..form_config(dir.path())
    });
    let server = common::serve(handler);
    let mut client = server.connect();
    for f in load_fixtures() {
        // One keep-alive connection: each body is read exactly to its end.
        let r = post(&mut client, &f.content_type, &f.body);
        assert_eq!(
            r.status,
            200,
            "{}: {}",
            f.name,
            String::from_utf8_lossy(&r.body)
        );
        assert!(
            r.text() == describe(&f.fields),
            "{}: {}",
            f.name,
            first_difference(r.text(), &describe(&f.fields))
        );
        assert_eq!(
            outcomes.recv_timeout(TIMEOUT).expect("outcome"),
            Ok(f.fields.len())
        );

        let r = post_chunked(&mut client, &f.content_type, &f.body, 1000);
        assert_eq!(r.status, 200, "{} chunked", f.name);
        assert!(
            r.text() == describe(&f.fields),
            "{} chunked: {}",
            f.name,
            first_difference(r.text(), &describe(&f.fields))
        );
        assert_eq!(
            outcomes.recv_timeout(TIMEOUT).expect("outcome"),
            Ok(f.fields.len())
        );
    }
    assert!(entries(dir.path()).is_empty(), "temporary files left");
}

#[test]
fn seed_transcript_counts_the_real_bytes() {
    let seed = load_fixtures()
        .into_iter()
        .find(|f| f.name == "curl-seed")
        .expect("curl-seed fixture");
    let form = FieldStorage::parse(&seed.body[..], &seed.content_type, &FormConfig::default())
        .expect("parse");
    let lines: Vec<String> = form
        .iter()
        .map(|f| match f.file() {
            Some(file) => format!("Uploaded {} ({} bytes)", f.name(), file.size()),
            None => format!("{}={}", f.name(), f.text().unwrap_or("")),
        })
        .collect();
    assert_eq!(
        lines,
        [
            "name=dhellmann",
            "foo=bar",
            "Uploaded datafile (2222 bytes)"
        ]
    );
}

#[test]
fn query_string_of_a_get() {
    let form_for = |target: &str| {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let server = common::serve(basehttp::handler_fn(move |r| {
            let form = FieldStorage::from_request(r, &FormConfig::default());
            let pairs: Vec<(String, String)> = form
                .map(|f| {
                    f.iter()
                        .map(|x| (x.name().to_owned(), x.text().unwrap_or("").to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            let _ = tx.lock().expect("lock").send(pairs);
            r.send_response(200)?;
            r.end_headers()?;
            Ok(())
        }));
        let r = server.connect().get(target);
        assert_eq!(r.status, 200);
        rx.recv_timeout(TIMEOUT).expect("form")
    };
    assert_eq!(
        form_for("/search?q=rust+http&lang=en&q=%E2%9C%93#frag"),
        [("q", "rust http"), ("lang", "en"), ("q", "\u{2713}")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert!(form_for("/plain").is_empty());
}

// ---------------------------------------------------------------------------
// Limits and failures: the status, and no temporary file left
// ---------------------------------------------------------------------------

fn multipart_body(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, content) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

const MULTIPART: &str = "multipart/form-data; boundary=LimitTest";

/// Posts `body` to a server whose form limits are `limits` and returns the
/// response, the handler's outcome and the files left in the temp dir.
fn post_with_limits(
    limits: impl FnOnce(FormConfig) -> FormConfig,
    content_type: &str,
    body: &[u8],
    chunked: bool,
) -> (common::Response, Result<usize, String>, Vec<PathBuf>) {
    let dir = temp_dir();
    let (handler, outcomes) = FormEcho::new(limits(form_config(dir.path())));
    let server = common::serve(handler);
    let mut client = server.connect();
    let response = if chunked {
        post_chunked(&mut client, content_type, body, 4096)
    } else {
        post(&mut client, content_type, body)
    };
    let outcome = outcomes.recv_timeout(TIMEOUT).expect("outcome");
    let left = entries(dir.path());
    (response, outcome, left)
}

#[test]
fn file_over_max_file_size_is_413_and_leaves_nothing() {
    let big = vec![b'x'; 100_000];
    let body = multipart_body(
        "LimitTest",
        &[
            ("a", None, b"1"),
            ("f1", Some("ok.bin"), b"small"),
            ("f2", Some("big.bin"), &big),
        ],
    );
    for chunked in [false, true] {
        let (r, outcome, left) = post_with_limits(
            |c| FormConfig {
                max_file_size: Some(99_999),
                ..c
            },
            MULTIPART,
            &body,
            chunked,
        );
        assert_eq!(r.status, 413, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.header("Connection"), Some("close"));
        assert!(
            r.text().contains("uploaded file larger than 99999 bytes"),
            "{}",
            r.text()
        );
        assert!(outcome.is_err());
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

#[test]
fn body_over_max_body_size_is_413_before_reading() {
    let body = multipart_body("LimitTest", &[("f", Some("f.bin"), &[7u8; 5000])]);
    let (r, outcome, left) = post_with_limits(
        |c| FormConfig {
            max_body_size: Some(1000),
            ..c
        },
        MULTIPART,
        &body,
        false,
    );
    assert_eq!(r.status, 413);
    assert!(
        r.text().contains("form body larger than 1000 bytes"),
        "{}",
        r.text()
    );
    assert_eq!(outcome, Err("form body larger than 1000 bytes".into()));
    assert!(left.is_empty());

    // Chunked: no length up front, so the limit is found while reading.
    let (r, _, left) = post_with_limits(
        |c| FormConfig {
            max_body_size: Some(1000),
            ..c
        },
        MULTIPART,
        &body,
        true,
    );
    assert_eq!(r.status, 413);
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn other_limits_are_413() {
    let many: Vec<(String, Vec<u8>)> = (0..20).map(|i| (format!("f{i}"), b"v".to_vec())).collect();
    let parts: Vec<(&str, Option<&str>, &[u8])> = many
        .iter()
        .map(|(n, v)| (n.as_str(), Some("x.txt"), v.as_slice()))
        .collect();
    let body = multipart_body("LimitTest", &parts);
    let (r, _, left) = post_with_limits(
        |c| FormConfig {
            max_num_fields: Some(10),
            ..c
        },
        MULTIPART,
        &body,
        false,
    );
    assert_eq!(r.status, 413);
    assert!(
        r.text().contains("more form fields than 10"),
        "{}",
        r.text()
    );
    assert!(left.is_empty(), "left behind: {left:?}");

    let body = multipart_body("LimitTest", &[("t", None, &[b'a'; 2000])]);
    let (r, _, _) = post_with_limits(
        |c| FormConfig {
            max_field_size: 1999,
            ..c
        },
        MULTIPART,
        &body,
        false,
    );
    assert_eq!(r.status, 413);

    let urlencoded = "a=1&".repeat(2000);
    let (r, _, _) = post_with_limits(
        |c| c,
        "application/x-www-form-urlencoded",
        urlencoded.as_bytes(),
        false,
    );
    assert_eq!(r.status, 413);
    assert!(
        r.text().contains("more form fields than 1000"),
        "{}",
        r.text()
    );
}

#[test]
fn malformed_bodies_are_400_and_leave_nothing() {
    let mut truncated = multipart_body("LimitTest", &[("f", Some("f.bin"), &[1u8; 3000])]);
    truncated.truncate(truncated.len() - 14); // cut "--LimitTest--\r\n" short
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (MULTIPART, truncated),
        (MULTIPART, b"no boundary at all".to_vec()),
        ("multipart/form-data", b"--x--".to_vec()),
        (
            "application/x-www-form-urlencoded",
            b"a=%FF".to_vec(), // with Utf8Policy::Strict below
        ),
    ];
    for (content_type, body) in cases {
        let (r, outcome, left) = post_with_limits(
            |c| FormConfig {
                utf8: Utf8Policy::Strict,
                ..c
            },
            content_type,
            &body,
            false,
        );
        assert_eq!(r.status, 400, "{content_type}: {outcome:?}");
        assert!(left.is_empty(), "left behind: {left:?}");
    }
    let (r, _, _) = post_with_limits(|c| c, "text/plain", b"x", false);
    assert_eq!(r.status, 415);
}

/// Waits (bounded) until `dir` holds at least one file.
fn wait_for_a_file(dir: &Path) {
    let deadline = Instant::now() + TIMEOUT;
    while entries(dir).is_empty() {
        assert!(Instant::now() < deadline, "no temporary file appeared");
        std::thread::yield_now();
    }
}

#[test]
fn client_disconnect_mid_upload_leaves_nothing() {
    let dir = temp_dir();
    let (handler, outcomes) = FormEcho::new(form_config(dir.path()));
    let server = common::serve(handler);
    let head = "POST / HTTP/1.1\r\nHost: test\r\nContent-Type: multipart/form-data; boundary=B\r\n\
                Content-Length: 10000000\r\n\r\n";
    let part = "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.bin\"\r\n\r\n";
    for how in [Shutdown::Both, Shutdown::Write] {
        let mut stream = TcpStream::connect(server.addr()).expect("connect");
        stream.set_write_timeout(Some(TIMEOUT)).expect("timeout");
        stream.write_all(head.as_bytes()).expect("write head");
        stream.write_all(part.as_bytes()).expect("write part head");
        stream
            .write_all(&[b'z'; 200_000])
            .expect("write some of the file");
        // The upload is under way: its temporary file exists.
        wait_for_a_file(dir.path());
        match how {
            Shutdown::Both => drop(stream),
            _ => stream.shutdown(Shutdown::Write).expect("shutdown"),
        }
        let outcome = outcomes.recv_timeout(TIMEOUT).expect("handler finished");
        assert!(outcome.is_err(), "{outcome:?}");
        assert!(entries(dir.path()).is_empty(), "left behind after {how:?}");
    }
    server.assert_serves();
}

#[test]
fn server_body_limit_and_form_limits_together() {
    // The server's own max_body_size answers a chunked body over it while
    // the form is being read: still no temporary file.
    let dir = temp_dir();
    let (handler, outcomes) = FormEcho::new(form_config(dir.path()));
    let server = common::TestServer::<_, basehttp::server::Threading>::start(
        handler,
        ServerConfig {
            max_body_size: Some(50_000),
            ..config()
        },
    );
    let body = multipart_body("LimitTest", &[("f", Some("f.bin"), &[3u8; 100_000])]);
    let r = post_chunked(&mut server.connect(), MULTIPART, &body, 8192);
    assert_eq!(r.status, 413);
    assert!(outcomes.recv_timeout(TIMEOUT).expect("outcome").is_err());
    assert!(entries(dir.path()).is_empty());
}

// ---------------------------------------------------------------------------
// Property tests: random forms, boundaries and read splits
// ---------------------------------------------------------------------------

/// A reader that returns its data in pieces of the given sizes, cycling.
struct Splits {
    data: Vec<u8>,
    at: usize,
    sizes: Vec<usize>,
    i: usize,
}

impl Read for Splits {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes[self.i % self.sizes.len()];
        self.i += 1;
        let n = size.min(out.len()).min(self.data.len() - self.at);
        out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn boundary_strategy() -> impl Strategy<Value = String> {
    // RFC 2046 bchars, without the space (allowed only inside).
    proptest::string::string_regex("[0-9A-Za-z'()+_,./:=?-]{1,70}").expect("regex")
}

fn field_strategy() -> impl Strategy<Value = Expected> {
    (
        "[a-z][a-z0-9_ ]{0,10}",
        proptest::option::of("[^\"\\\\\r\n\u{0}]{0,20}"),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            // Content made of the characters of delimiters.
            proptest::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'-'), Just(b'a')],
                0..300
            ),
        ],
    )
        .prop_map(|(name, filename, content)| Expected {
            name,
            filename,
            content,
        })
}

fn encode(boundary: &str, fields: &[Expected]) -> Vec<u8> {
    let mut body = b"preamble\r\n".to_vec();
    for f in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{}\"", f.name).as_bytes(),
        );
        if let Some(name) = &f.filename {
            body.extend_from_slice(format!("; filename=\"{name}\"").as_bytes());
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(&f.content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\nepilogue").as_bytes());
    body
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn multipart_round_trip(
        boundary in boundary_strategy(),
        fields in proptest::collection::vec(field_strategy(), 0..6),
        sizes in proptest::collection::vec(1usize..200, 1..5),
    ) {
        // A boundary must not occur in the content (RFC 2046 §5.1.1).
        let delimiter = format!("\r\n--{boundary}");
        prop_assume!(fields.iter().all(|f| !contains(&[b"\r\n".as_slice(), &f.content].concat(), delimiter.as_bytes())));
        let body = encode(&boundary, &fields);
        let config = FormConfig { max_body_size: None, ..FormConfig::default() };
        let mut reader = MultipartReader::new(Splits { data: body, at: 0, sizes, i: 0 }, &boundary, &config)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut got = Vec::new();
        while let Some(mut part) = reader.next_part().map_err(|e| TestCaseError::fail(e.to_string()))? {
            let mut content = Vec::new();
            part.read_to_end(&mut content).map_err(|e| TestCaseError::fail(e.to_string()))?;
            got.push(Expected {
                name: part.headers().name().to_owned(),
                filename: part.headers().filename().map(str::to_owned),
                content,
            });
        }
        prop_assert_eq!(got, fields);
    }

    #[test]
    fn field_storage_round_trip(
        fields in proptest::collection::vec(field_strategy(), 0..4),
    ) {
        let boundary = "----PropTestBoundary7MA4YWxkTrZu0gW";
        let body = encode(boundary, &fields);
        let dir = temp_dir();
        let config = FormConfig { utf8: Utf8Policy::Replace, ..form_config(dir.path()) };
        let form = FieldStorage::parse(&body[..], &format!("multipart/form-data; boundary={boundary}"), &config)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let expected: Vec<Expected> = fields.iter().map(|f| Expected {
            content: if f.filename.is_some() {
                f.content.clone()
            } else {
                String::from_utf8_lossy(&f.content).into_owned().into_bytes()
            },
            ..f.clone()
        }).collect();
        prop_assert_eq!(storage_fields(&form), expected);
        drop(form);
        prop_assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn urlencoded_round_trip(
        pairs in proptest::collection::vec((".{0,12}", ".{0,12}"), 0..20),
    ) {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let config = FormConfig { keep_blank_values: true, ..FormConfig::default() };
        let got = parse_qsl(encoded.as_bytes(), &config).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // An empty name with an empty value encodes as "=", kept as ("", "").
        prop_assert_eq!(got, pairs);
    }

    #[test]
    fn multipart_never_panics_on_garbage(
        body in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'-'), Just(b'B'), Just(b':'), Just(b'"'), any::<u8>()], 0..400),
        sizes in proptest::collection::vec(1usize..50, 1..4),
    ) {
        let config = FormConfig::default();
        if let Ok(mut reader) = MultipartReader::new(Splits { data: body, at: 0, sizes, i: 0 }, "B", &config) {
            let mut n = 0;
            loop {
                match reader.next_part() {
                    Ok(Some(mut part)) => {
                        let _ = part.read_to_end(&mut Vec::new());
                    }
                    Ok(None) => break,
                    Err(e) => {
                        prop_assert!(e.status().is_some() || matches!(e, FormError::Io(_)));
                        break;
                    }
                }
                n += 1;
                prop_assert!(n <= 400);
            }
        }
    }
}

#[test]
fn limit_errors_name_their_limit() {
    let body = multipart_body("LimitTest", &[("a", None, b"12345")]);
    let config = FormConfig {
        max_field_size: 4,
        ..FormConfig::default()
    };
    let err = FieldStorage::parse(&body[..], MULTIPART, &config).unwrap_err();
    assert!(matches!(
        err,
        FormError::TooLarge {
            limit: Limit::Field,
            max: 4
        }
    ));
}
