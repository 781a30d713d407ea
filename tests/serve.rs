//! The files handler's "serve like the best file servers" features over real
//! sockets: several ranges in one request (`multipart/byteranges`), the
//! listing as JSON, the single-page-application fallback and precompressed
//! sidecar files. Each test serves a fresh temporary directory from a server
//! on 127.0.0.1:0 and speaks raw HTTP/1.1 to it.

mod common;
#[path = "common/process.rs"]
mod process;

use basehttp::SimpleHttpRequestHandler;
use basehttp::server::Threading;
use common::{Client, Response, TestServer, pattern};
use std::fs;
use std::path::Path;
use tempfile::TempDir;

type Server = TestServer<SimpleHttpRequestHandler, Threading>;

/// A fresh directory holding `files` (path, contents), parents created.
fn site(files: &[(&str, &[u8])]) -> TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (rel, contents) in files {
        let path = dir.path().join(rel);
        fs::create_dir_all(path.parent().expect("a parent")).unwrap();
        fs::write(path, contents).unwrap();
    }
    dir
}

/// The files handler on `dir`, changed by `f`, quiet.
fn serve_with(
    dir: &Path,
    f: impl FnOnce(SimpleHttpRequestHandler) -> SimpleHttpRequestHandler,
) -> Server {
    common::serve_files(dir, f)
}

fn serve(dir: &Path) -> Server {
    serve_with(dir, |h| h)
}

/// `METHOD target` with extra header lines, on the connection `c`.
fn ask(c: &mut Client, method: &str, target: &str, headers: &[&str]) -> Response {
    let fields: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    c.send(format!("{method} {target} HTTP/1.1\r\nHost: test\r\n{fields}\r\n").as_bytes());
    c.read_response(method)
        .unwrap_or_else(|e| panic!("response to {method} {target}: {e}"))
}

/// `GET target` with extra header lines, on a fresh connection.
fn get(server: &Server, target: &str, headers: &[&str]) -> Response {
    ask(&mut server.connect(), "GET", target, headers)
}

// ---------------------------------------------------------------------------
// Several ranges
// ---------------------------------------------------------------------------

/// One part of a `multipart/byteranges` body.
#[derive(Debug, PartialEq)]
struct Part {
    content_type: String,
    first: usize,
    last: usize,
    total: usize,
    bytes: Vec<u8>,
}

/// A `multipart/byteranges` parser of the test's own (RFC 9110 §14.6, RFC
/// 2046 §5.1), independent of the crate's: the boundary from the
/// `Content-Type`, then for each part its header lines and exactly the
/// bytes its `Content-Range` announces, then the close delimiter with
/// nothing after it but an optional CRLF.
fn parse_byteranges(r: &Response) -> Vec<Part> {
    let content_type = r.header("Content-Type").expect("Content-Type");
    let boundary = content_type
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap_or_else(|| panic!("not multipart/byteranges: {content_type}"));
    let delimiter = format!("--{boundary}");
    let mut rest = &r.body[..];
    // An optional preamble: here only an empty line.
    if let Some(after) = rest.strip_prefix(b"\r\n") {
        rest = after;
    }
    let mut parts = Vec::new();
    loop {
        rest = rest
            .strip_prefix(delimiter.as_bytes())
            .unwrap_or_else(|| panic!("no delimiter at {:?}", String::from_utf8_lossy(rest)));
        if let Some(after) = rest.strip_prefix(b"--") {
            assert!(
                after.is_empty() || after == b"\r\n",
                "bytes after the close"
            );
            return parts;
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .expect("CRLF after the delimiter");
        let (mut content_type, mut range) = (None, None);
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n").expect("a line");
            let line = std::str::from_utf8(&rest[..end]).expect("a text line");
            rest = &rest[end + 2..];
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("a header line");
            match name.to_ascii_lowercase().as_str() {
                "content-type" => content_type = Some(value.trim().to_string()),
                "content-range" => range = Some(value.trim().to_string()),
                other => panic!("unexpected part header {other}"),
            }
        }
        let range = range.expect("Content-Range in every part");
        let (span, total) = range
            .strip_prefix("bytes ")
            .and_then(|r| r.split_once('/'))
            .expect("bytes FIRST-LAST/TOTAL");
        let (first, last) = span.split_once('-').expect("FIRST-LAST");
        let (first, last): (usize, usize) = (first.parse().unwrap(), last.parse().unwrap());
        let n = last - first + 1;
        parts.push(Part {
            content_type: content_type.expect("Content-Type in every part"),
            first,
            last,
            total: total.parse().unwrap(),
            bytes: rest[..n].to_vec(),
        });
        rest = rest[n..].strip_prefix(b"\r\n").expect("CRLF after a part");
    }
}

#[test]
fn several_ranges_give_a_multipart_206_whose_parts_are_the_files_slices() {
    let body = pattern(10_000);
    let dir = site(&[("a.txt", &body)]);
    let server = serve(dir.path());
    let mut c = server.connect();
    let r = ask(&mut c, "GET", "/a.txt", &["Range: bytes=200-299,0-99,-50"]);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("Content-Range"), None);
    assert_eq!(r.header("Accept-Ranges"), Some("bytes"));
    assert!(r.header("ETag").is_some() && r.header("Last-Modified").is_some());
    let parts = parse_byteranges(&r);
    // In ascending order, each the slice its Content-Range names.
    let spans: Vec<(usize, usize)> = parts.iter().map(|p| (p.first, p.last)).collect();
    assert_eq!(spans, [(0, 99), (200, 299), (9950, 9999)]);
    for p in &parts {
        assert_eq!(p.content_type, "text/plain; charset=utf-8");
        assert_eq!(p.total, 10_000);
        assert_eq!(p.bytes, &body[p.first..=p.last]);
    }
    // Content-Length was exact: the connection reads the next response.
    assert_eq!(ask(&mut c, "GET", "/a.txt", &[]).body, body);
}

#[test]
fn a_multipart_body_is_exactly_as_rfc_9110_lays_it_out() {
    let dir = site(&[("a.txt", b"0123456789abcdefghij")]);
    let server = serve(dir.path());
    let r = get(&server, "/a.txt", &["Range: bytes=2-4,10-12"]);
    assert_eq!(r.status, 206);
    let content_type = r.header("Content-Type").unwrap();
    let b = content_type
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap();
    assert!(
        !b.is_empty() && b.len() <= 70,
        "RFC 2046 §5.1.1: 1 to 70 characters"
    );
    let expected = format!(
        "\r\n--{b}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Range: bytes 2-4/20\r\n\
         \r\n\
         234\r\n\
         --{b}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Range: bytes 10-12/20\r\n\
         \r\n\
         abc\r\n\
         --{b}--\r\n"
    );
    assert_eq!(r.text(), expected);
    assert_eq!(r.content_length(), Some(expected.len()));
}

#[test]
fn overlapping_and_adjacent_ranges_are_merged() {
    let body = pattern(1000);
    let dir = site(&[("a.bin", &body)]);
    let server = serve(dir.path());
    let mut c = server.connect();
    // Merged into one: a plain 206.
    for range in ["bytes=0-99,50-149", "bytes=100-149,0-99", "bytes=0-9,0-149"] {
        let r = ask(&mut c, "GET", "/a.bin", &[&format!("Range: {range}")]);
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(
            r.header("Content-Range"),
            Some("bytes 0-149/1000"),
            "{range}"
        );
        assert_eq!(r.body, &body[..150], "{range}");
    }
    // Three ranges of which two overlap: two parts.
    let r = ask(&mut c, "GET", "/a.bin", &["Range: bytes=0-9,5-14,30-39"]);
    let spans: Vec<(usize, usize)> = parse_byteranges(&r)
        .iter()
        .map(|p| (p.first, p.last))
        .collect();
    assert_eq!(spans, [(0, 14), (30, 39)]);
}

#[test]
fn too_many_ranges_or_too_many_bytes_get_the_whole_file() {
    let body = pattern(1000);
    let dir = site(&[("a.bin", &body)]);
    let server = serve(dir.path());
    let hundred = (0..100)
        .map(|i| format!("{}-{}", i * 5, i * 5 + 1))
        .collect::<Vec<_>>()
        .join(",");
    let limit = basehttp::files::MAX_RANGES;
    let just_enough = (0..limit)
        .map(|i| format!("{}-{}", i * 5, i * 5 + 1))
        .collect::<Vec<_>>()
        .join(",");
    // The "Apache Killer" (CVE-2011-3192): many overlapping ranges.
    let killer = std::iter::once("0-".to_string())
        .chain((1..10).map(|i| format!("{i}-")))
        .collect::<Vec<_>>()
        .join(",");
    let mut c = server.connect();
    for range in [hundred.as_str(), "0-999,0-999", "0-,-1000", killer.as_str()] {
        let r = ask(&mut c, "GET", "/a.bin", &[&format!("Range: bytes={range}")]);
        assert_eq!(r.status, 200, "{range}");
        assert_eq!(r.header("Content-Range"), None);
        assert_eq!(r.body, body, "{range}");
    }
    let r = ask(
        &mut c,
        "GET",
        "/a.bin",
        &[&format!("Range: bytes={just_enough}")],
    );
    assert_eq!(r.status, 206);
    assert_eq!(parse_byteranges(&r).len(), limit);
}

#[test]
fn hostile_range_headers_never_break_the_connection() {
    let body = pattern(1000);
    let dir = site(&[("a.bin", &body)]);
    let server = serve(dir.path());
    // Thousands of ranges, within the header line limit.
    let huge = format!("Range: bytes={}", "1-2,".repeat(10_000));
    let mut c = server.connect();
    for header in [
        huge.as_str(),
        "Range: bytes=0-9,,,",
        "Range: bytes=0-9,x-y",
        "Range: bytes=0-9,9-0",
        "Range: bytes=0-9;20-29",
        "Range: bytes=,",
        "Range: bytes=0-9,20-29,",
        "Range: bytes=\u{e9}",
        "Range: bytes=18446744073709551615-18446744073709551616,0-1",
    ] {
        let r = ask(&mut c, "GET", "/a.bin", &[header]);
        assert!(matches!(r.status, 200 | 206), "{header}: {}", r.status);
        match r.status {
            200 => assert_eq!(r.body, body),
            _ if r.header("Content-Range").is_some() => {}
            _ => {
                for p in parse_byteranges(&r) {
                    assert_eq!(p.bytes, &body[p.first..=p.last], "{header}");
                }
            }
        }
    }
    // No range within the file: 416 with the length.
    let r = ask(&mut c, "GET", "/a.bin", &["Range: bytes=2000-,3000-3001"]);
    assert_eq!(r.status, 416);
    assert_eq!(r.header("Content-Range"), Some("bytes */1000"));
    // Ranges past the end are left out; the rest are served.
    let r = ask(&mut c, "GET", "/a.bin", &["Range: bytes=0-1,3000-3001,8-9"]);
    assert_eq!(parse_byteranges(&r).len(), 2);
}

/// Several ranges of a 1 GiB file (sparse, so the disk holds nothing)
/// through the binary: the parts are streamed, the server's peak resident
/// memory stays small, and the body is as long as announced.
#[test]
fn several_ranges_of_a_1_gib_file_stream_in_small_memory() {
    use std::io::{BufRead, BufReader, Read, Write};
    const GIB: u64 = 1 << 30;
    let dir = site(&[]);
    fs::File::create(dir.path().join("huge.bin"))
        .and_then(|f| f.set_len(GIB))
        .unwrap();
    let server = process::Process::start(
        process::basehttp()
            .args(["-q", "-b", "127.0.0.1", "0"])
            .current_dir(dir.path()),
    );
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(process::TIMEOUT)).unwrap();
    let half = GIB / 2;
    write!(
        stream,
        "GET /huge.bin HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
         Range: bytes=0-{},{}-\r\n\r\n",
        half - 2,
        half
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut length = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        assert!(!line.is_empty(), "the head ended early");
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = Some(v.trim().parse::<u64>().unwrap());
        }
    }
    let length = length.expect("Content-Length");
    assert!(length > GIB - 1, "{length}");
    // Counted, not kept: the client holds no more than the server does.
    let body = std::io::copy(&mut reader.by_ref(), &mut std::io::sink()).unwrap();
    assert_eq!(body, length);
    if let Some(peak) = server.status_kb("VmHWM") {
        assert!(peak < 32 * 1024, "peak RSS {peak} kB");
    }
}

#[test]
fn if_range_decides_for_several_ranges_too() {
    let body = pattern(1000);
    let dir = site(&[("a.bin", &body)]);
    let server = serve(dir.path());
    let etag = get(&server, "/a.bin", &[])
        .header("ETag")
        .unwrap()
        .to_string();
    let current = format!("If-Range: {etag}");
    let r = get(&server, "/a.bin", &["Range: bytes=0-1,8-9", &current]);
    assert_eq!(r.status, 206);
    assert_eq!(parse_byteranges(&r).len(), 2);
    let r = get(
        &server,
        "/a.bin",
        &["Range: bytes=0-1,8-9", "If-Range: \"old\""],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, body);
    // HEAD ignores Range (RFC 9110 §14.2).
    let r = ask(
        &mut server.connect(),
        "HEAD",
        "/a.bin",
        &["Range: bytes=0-1,8-9"],
    );
    assert_eq!(r.status, 200);
}

#[test]
fn parts_of_a_large_file_are_streamed_from_the_middle() {
    let body = pattern(3 << 20);
    let dir = site(&[("big.bin", &body)]);
    let server = serve(dir.path());
    let r = get(
        &server,
        "/big.bin",
        &["Range: bytes=100-1000099,2000000-2999999,-5"],
    );
    let parts = parse_byteranges(&r);
    assert_eq!(parts.len(), 3);
    for p in &parts {
        assert!(p.bytes == body[p.first..=p.last], "{}-{}", p.first, p.last);
    }
}

// ---------------------------------------------------------------------------
// The listing as JSON
// ---------------------------------------------------------------------------

/// A directory with a file of known time, a subdirectory, a link, a
/// dangling link, a name that is not UTF-8 and one that needs escaping.
fn listed_site() -> TempDir {
    use std::os::unix::ffi::OsStrExt;
    use std::time::{Duration, UNIX_EPOCH};
    let dir = site(&[
        ("a.txt", b"abc"),
        ("Sub/inner.txt", b"x"),
        ("we\"ird\\\n\u{1}.txt", b"12345"),
    ]);
    let file = fs::File::options()
        .write(true)
        .open(dir.path().join("a.txt"))
        .unwrap();
    file.set_modified(UNIX_EPOCH + Duration::from_secs(1_197_216_034))
        .unwrap();
    std::os::unix::fs::symlink("a.txt", dir.path().join("link")).unwrap();
    std::os::unix::fs::symlink("nowhere", dir.path().join("dangling")).unwrap();
    let latin1 = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    fs::write(dir.path().join(latin1), b"1").unwrap();
    dir
}

/// The JSON array of a listing response, checked with serde_json.
fn json_entries(r: &Response) -> Vec<serde_json::Value> {
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert_eq!(r.header("Vary"), Some("Accept"));
    let value: serde_json::Value = serde_json::from_slice(&r.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&r.body)));
    value.as_array().expect("a JSON array").clone()
}

#[test]
fn the_listing_as_json_describes_each_entry() {
    let dir = listed_site();
    let server = serve(dir.path());
    let entries = json_entries(&get(&server, "/?format=json", &[]));
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    // The listing's order: directories first, then by lower-cased name.
    assert_eq!(
        names,
        [
            "Sub",
            "a.txt",
            "caf\u{fffd}.txt",
            "dangling",
            "link",
            "we\"ird\\\n\u{1}.txt"
        ]
    );
    let by_name = |name: &str| {
        entries
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} listed"))
    };
    assert_eq!(
        *by_name("a.txt"),
        serde_json::json!({"name": "a.txt", "type": "file", "size": 3, "modified": "2007-12-09T16:00:34Z"})
    );
    let sub = by_name("Sub");
    assert_eq!(
        (&sub["type"], &sub["size"]),
        (&"dir".into(), &serde_json::Value::Null)
    );
    let link = by_name("link");
    assert_eq!(
        (&link["type"], &link["size"]),
        (&"symlink".into(), &serde_json::Value::Null)
    );
    assert_eq!(link["modified"], "2007-12-09T16:00:34Z");
    let dangling = by_name("dangling");
    assert_eq!(dangling["type"], "symlink");
    assert_eq!(dangling["modified"], serde_json::Value::Null);
    assert_eq!(by_name("we\"ird\\\n\u{1}.txt")["size"], 5);
    for entry in &entries {
        let object = entry.as_object().unwrap();
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["modified", "name", "size", "type"]);
        if let Some(modified) = entry["modified"].as_str() {
            // RFC 3339 in UTC: YYYY-MM-DDTHH:MM:SSZ.
            let b = modified.as_bytes();
            assert_eq!(b.len(), 20, "{modified}");
            assert_eq!(
                (b[4], b[7], b[10], b[13], b[16], b[19]),
                (b'-', b'-', b'T', b':', b':', b'Z')
            );
        }
    }
}

#[test]
fn json_is_chosen_by_accept_and_html_stays_the_default() {
    let dir = listed_site();
    let server = serve(dir.path());
    let by_query = json_entries(&get(&server, "/?format=json", &[]));
    for accept in [
        "Accept: application/json",
        "Accept: application/json, text/plain, */*",
        "Accept: text/html;q=0.5, application/json",
    ] {
        assert_eq!(
            json_entries(&get(&server, "/", &[accept])),
            by_query,
            "{accept}"
        );
    }
    for accept in [
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept: */*",
        "Accept: application/json;q=0",
        "Accept: application/json;q=bogus",
        "Accept: text/html, application/json;q=0.9",
    ] {
        let r = get(&server, "/", &[accept]);
        assert_eq!(
            r.header("Content-Type"),
            Some("text/html; charset=utf-8"),
            "{accept}"
        );
        assert_eq!(r.header("Vary"), Some("Accept"), "{accept}");
    }
    // A subdirectory, with other query parameters beside.
    let inner = json_entries(&get(&server, "/Sub/?x=1&format=json", &[]));
    assert_eq!(
        inner,
        [
            serde_json::json!({"name": "inner.txt", "type": "file", "size": 1,
            "modified": inner[0]["modified"]})
        ]
    );
    // HEAD: the same head, no body.
    let r = ask(&mut server.connect(), "HEAD", "/?format=json", &[]);
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert!(r.body.is_empty());
}

// ---------------------------------------------------------------------------
// Single-page applications
// ---------------------------------------------------------------------------

const BROWSER: &str = "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const APP: &[u8] = b"<!doctype html><div id=app></div>";

fn app_site() -> TempDir {
    site(&[
        ("index.html", APP),
        ("real.txt", b"real"),
        ("sub/page.txt", b"p"),
    ])
}

#[test]
fn spa_answers_a_browsers_missing_page_with_the_index() {
    let dir = app_site();
    let server = serve_with(dir.path(), |h| h.spa(true));
    let mut c = server.connect();
    for target in [
        "/users/42",
        "/users/42/",
        "/deep/ly/nested?tab=2",
        "/sub/missing",
    ] {
        let r = ask(&mut c, "GET", target, &[BROWSER]);
        assert_eq!((r.status, &r.body[..]), (200, APP), "{target}");
        assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    }
    // What exists is served as it is.
    assert_eq!(ask(&mut c, "GET", "/real.txt", &[BROWSER]).text(), "real");
    assert_eq!(ask(&mut c, "GET", "/sub/page.txt", &[BROWSER]).text(), "p");
    // HEAD is GET without the body.
    let r = ask(&mut c, "HEAD", "/users/42", &[BROWSER]);
    assert_eq!(r.status, 200);
    assert_eq!(r.content_length(), Some(APP.len()));
    // The index's validators hold: a browser's revalidation gets 304.
    let etag = ask(&mut c, "GET", "/users/42", &[BROWSER])
        .header("ETag")
        .unwrap()
        .to_string();
    let r = ask(
        &mut c,
        "GET",
        "/users/7",
        &[BROWSER, &format!("If-None-Match: {etag}")],
    );
    assert_eq!(r.status, 304);
}

#[test]
fn spa_leaves_assets_scripts_and_unsafe_paths_alone() {
    let dir = app_site();
    let server = serve_with(dir.path(), |h| h.spa(true));
    // Not a browser's navigation: `*/*` alone, no Accept, html refused,
    // a bogus weight.
    for accept in [
        "Accept: */*",
        "Accept: application/json",
        "Accept: text/html;q=0",
        "Accept: text/html;q=x",
        "Accept: text/*",
        "X-None: 1",
    ] {
        let r = get(&server, "/users/42", &[accept]);
        assert_eq!(r.status, 404, "{accept}");
    }
    // Assets (an extension) stay 404.
    for target in ["/app.js", "/img/logo.png", "/users/v1.2", "/missing.html"] {
        assert_eq!(get(&server, target, &[BROWSER]).status, 404, "{target}");
    }
    // Path safety comes first.
    for target in ["/../index.html", "/users/%2e%2e/x", "/a%2fb", "/a%00b"] {
        assert_eq!(get(&server, target, &[BROWSER]).status, 400, "{target}");
    }
    // Without the option, or without an index page: 404.
    let off = serve(dir.path());
    assert_eq!(get(&off, "/users/42", &[BROWSER]).status, 404);
    let empty = site(&[("real.txt", b"real")]);
    let no_index = serve_with(empty.path(), |h| h.spa(true));
    assert_eq!(get(&no_index, "/users/42", &[BROWSER]).status, 404);
}

#[test]
fn the_binary_takes_spa() {
    let dir = app_site();
    let server = process::Process::start(
        process::basehttp()
            .args(["-q", "-b", "127.0.0.1", "--spa", "0"])
            .current_dir(dir.path()),
    );
    let mut c = Client::connect(server.addr());
    let r = ask(&mut c, "GET", "/route", &[BROWSER]);
    assert_eq!((r.status, &r.body[..]), (200, APP));
    assert_eq!(ask(&mut c, "GET", "/app.js", &[BROWSER]).status, 404);
    // A value for the flag is a usage error.
    let exited = process::run_to_exit(process::basehttp().args(["--spa=yes", "0"]));
    assert_eq!(exited.status.code(), Some(2));
    assert_eq!(exited.stderr.lines().count(), 1, "{}", exited.stderr);
    let help = process::run_to_exit(process::basehttp().arg("--help"));
    assert!(help.stdout.contains("--spa"));
}

// ---------------------------------------------------------------------------
// Precompressed sidecars
// ---------------------------------------------------------------------------

const PLAIN: &[u8] = b"console.log('plain, uncompressed');";
const BR: &[u8] = b"brotli bytes";
const ZSTD: &[u8] = b"zstd bytes, a few more";
const GZIP: &[u8] = b"gzip bytes";

/// `app.js` with all three sidecars, `only.js` with a `.gz` only, `bare.js`
/// with none.
fn compressed_site() -> TempDir {
    site(&[
        ("app.js", PLAIN),
        ("app.js.br", BR),
        ("app.js.zst", ZSTD),
        ("app.js.gz", GZIP),
        ("only.js", PLAIN),
        ("only.js.gz", GZIP),
        ("bare.js", PLAIN),
    ])
}

/// `GET target` with `Accept-Encoding: accept` (none if empty): the body
/// and its `Content-Encoding`.
fn encoded(server: &Server, target: &str, accept: &str) -> (Vec<u8>, Option<String>) {
    let field = format!("Accept-Encoding: {accept}");
    let headers: &[&str] = if accept.is_empty() { &[] } else { &[&field] };
    let r = get(server, target, headers);
    assert_eq!(r.status, 200, "{target} with {accept:?}");
    assert_eq!(
        r.header("Vary"),
        Some("Accept-Encoding"),
        "{target} with {accept:?}"
    );
    let coding = r.header("Content-Encoding").map(str::to_string);
    (r.body, coding)
}

#[test]
fn precompressed_copies_are_chosen_by_preference_and_weight() {
    let dir = compressed_site();
    let server = serve(dir.path());
    let (br, zstd, gzip) = (Some("br"), Some("zstd"), Some("gzip"));
    let cases: &[(&str, &str, &[u8], Option<&str>)] = &[
        ("/app.js", "gzip, deflate, br, zstd", BR, br),
        ("/app.js", "gzip, zstd", ZSTD, zstd),
        ("/app.js", "gzip", GZIP, gzip),
        ("/app.js", "x-gzip", GZIP, gzip),
        ("/app.js", "GZIP", GZIP, gzip),
        ("/app.js", "gzip;q=1, br;q=0.5", GZIP, gzip),
        ("/app.js", "br;q=0.5, zstd;q=0.8, gzip;q=0.1", ZSTD, zstd),
        ("/app.js", "br;q=0, gzip", GZIP, gzip),
        ("/app.js", "*", BR, br),
        ("/app.js", "*;q=0.5, gzip", GZIP, gzip),
        ("/app.js", "br;q=0, *", ZSTD, zstd),
        // Refused or not offered: the plain file.
        ("/app.js", "br;q=0, zstd;q=0, gzip;q=0", PLAIN, None),
        ("/app.js", "*;q=0", PLAIN, None),
        ("/app.js", "identity", PLAIN, None),
        ("/app.js", "deflate", PLAIN, None),
        ("/app.js", "", PLAIN, None),
        ("/only.js", "br, zstd", PLAIN, None),
        ("/only.js", "br, gzip", GZIP, gzip),
        // Bogus weights: the element does not count.
        ("/app.js", "br;q=2, zstd;q=abc, gzip;q=-1", PLAIN, None),
        ("/app.js", "br;q=1.5, gzip;q=0.5", GZIP, gzip),
        ("/app.js", "br;q=, ;;;, ,gzip", GZIP, gzip),
        ("/app.js", "br;q=0.0001", PLAIN, None),
    ];
    for (target, accept, body, coding) in cases {
        let got = encoded(&server, target, accept);
        assert_eq!(
            (got.0.as_slice(), got.1.as_deref()),
            (*body, *coding),
            "{target} with Accept-Encoding: {accept:?}"
        );
    }
}

#[test]
fn an_encoded_response_keeps_the_type_and_has_its_own_validators() {
    let dir = compressed_site();
    let server = serve(dir.path());
    let plain = get(&server, "/app.js", &[]);
    let br = get(&server, "/app.js", &["Accept-Encoding: br"]);
    assert_eq!(br.header("Content-Type"), plain.header("Content-Type"));
    assert_eq!(
        br.header("Content-Length"),
        Some(BR.len().to_string().as_str())
    );
    let (plain_tag, br_tag) = (plain.header("ETag").unwrap(), br.header("ETag").unwrap());
    assert_ne!(
        plain_tag, br_tag,
        "RFC 9110 §8.8.3: one tag per representation"
    );
    assert!(br_tag.starts_with('"') && br_tag.ends_with('"'));
    // Each tag revalidates its own representation.
    let mut c = server.connect();
    let if_br = format!("If-None-Match: {br_tag}");
    let r = ask(&mut c, "GET", "/app.js", &["Accept-Encoding: br", &if_br]);
    assert_eq!(r.status, 304);
    assert_eq!(r.header("ETag"), Some(br_tag));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    let if_plain = format!("If-None-Match: {plain_tag}");
    assert_eq!(ask(&mut c, "GET", "/app.js", &[&if_plain]).status, 304);
    let r = ask(
        &mut c,
        "GET",
        "/app.js",
        &["Accept-Encoding: br", &if_plain],
    );
    assert_eq!((r.status, r.body.as_slice()), (200, BR));
    let r = ask(&mut c, "GET", "/app.js", &[&if_br]);
    assert_eq!((r.status, r.body.as_slice()), (200, PLAIN));
    // A file without sidecars does not vary.
    let r = ask(&mut c, "GET", "/bare.js", &["Accept-Encoding: br, gzip"]);
    assert_eq!(r.body, PLAIN);
    assert_eq!(
        (r.header("Vary"), r.header("Content-Encoding")),
        (None, None)
    );
    // HEAD: the same head.
    let r = ask(&mut c, "HEAD", "/app.js", &["Accept-Encoding: zstd"]);
    assert_eq!(r.header("Content-Encoding"), Some("zstd"));
    assert_eq!(r.content_length(), Some(ZSTD.len()));
}

#[test]
fn ranges_count_the_encoded_bytes() {
    let dir = compressed_site();
    let server = serve(dir.path());
    let mut c = server.connect();
    let r = ask(
        &mut c,
        "GET",
        "/app.js",
        &["Accept-Encoding: br", "Range: bytes=2-5"],
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.header("Content-Encoding"), Some("br"));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    let range = format!("bytes 2-5/{}", BR.len());
    assert_eq!(r.header("Content-Range"), Some(range.as_str()));
    assert_eq!(r.body, &BR[2..=5]);
    let r = ask(
        &mut c,
        "GET",
        "/app.js",
        &["Accept-Encoding: gzip", "Range: bytes=0-1,4-5"],
    );
    let parts = parse_byteranges(&r);
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    assert_eq!(
        (parts[0].total, &parts[1].bytes[..]),
        (GZIP.len(), &GZIP[4..=5])
    );
    // Past the end of the encoded bytes, though not of the plain file.
    let past = format!("Range: bytes={}-", GZIP.len() + 1);
    let r = ask(&mut c, "GET", "/app.js", &["Accept-Encoding: gzip", &past]);
    assert_eq!(r.status, 416);
    let range = format!("bytes */{}", GZIP.len());
    assert_eq!(r.header("Content-Range"), Some(range.as_str()));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
}

#[test]
fn sidecars_follow_the_directory_rules_and_the_cache() {
    let dir = compressed_site();
    let root = dir.path();
    // An index page with a sidecar.
    fs::create_dir(root.join("docs")).unwrap();
    fs::write(root.join("docs/index.html"), "<p>plain</p>").unwrap();
    fs::write(root.join("docs/index.html.gz"), GZIP).unwrap();
    // A sidecar that is a link leading outside, one that is a directory.
    let outside = site(&[("secret.br", b"TOP SECRET")]);
    fs::write(root.join("leak.js"), PLAIN).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.br"), root.join("leak.js.br")).unwrap();
    fs::write(root.join("odd.js"), PLAIN).unwrap();
    fs::create_dir(root.join("odd.js.gz")).unwrap();
    let server = serve(root);
    let r = get(&server, "/docs/", &["Accept-Encoding: gzip"]);
    assert_eq!(r.body, GZIP);
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    let r = get(&server, "/leak.js", &["Accept-Encoding: br"]);
    assert_eq!((r.status, r.body.as_slice()), (200, PLAIN));
    let r = get(&server, "/odd.js", &["Accept-Encoding: gzip"]);
    assert_eq!((r.body.as_slice(), r.header("Vary")), (PLAIN, None));
    // Served from the open-file cache, the choice is made anew each time.
    let mut c = server.connect();
    for _ in 0..2 {
        assert_eq!(
            ask(&mut c, "GET", "/app.js", &["Accept-Encoding: br"]).body,
            BR
        );
        assert_eq!(ask(&mut c, "GET", "/app.js", &[]).body, PLAIN);
    }
    // A sidecar added later is seen at once.
    assert_eq!(
        ask(&mut c, "GET", "/bare.js", &["Accept-Encoding: gzip"]).body,
        PLAIN
    );
    fs::write(root.join("bare.js.gz"), GZIP).unwrap();
    assert_eq!(
        ask(&mut c, "GET", "/bare.js", &["Accept-Encoding: gzip"]).body,
        GZIP
    );
    // A sidecar kept open is trusted only while it is the same file:
    // replaced, the new one is sent; removed, the plain file.
    let newer = [GZIP, GZIP].concat();
    fs::write(root.join("bare.js.gz.new"), &newer).unwrap();
    fs::rename(root.join("bare.js.gz.new"), root.join("bare.js.gz")).unwrap();
    assert_eq!(
        ask(&mut c, "GET", "/bare.js", &["Accept-Encoding: gzip"]).body,
        newer
    );
    fs::remove_file(root.join("bare.js.gz")).unwrap();
    assert_eq!(
        ask(&mut c, "GET", "/bare.js", &["Accept-Encoding: gzip"]).body,
        PLAIN
    );
    // A path too long to be put together on the stack.
    let long = format!("{}/{}.js", "d".repeat(200), "f".repeat(100));
    fs::create_dir(root.join("d".repeat(200))).unwrap();
    fs::write(root.join(&long), PLAIN).unwrap();
    fs::write(root.join(format!("{long}.zst")), ZSTD).unwrap();
    let r = ask(
        &mut c,
        "GET",
        &format!("/{long}"),
        &["Accept-Encoding: zstd"],
    );
    assert_eq!(
        (r.body.as_slice(), r.header("Content-Encoding")),
        (ZSTD, Some("zstd"))
    );
    // The sidecar itself is an ordinary file when asked for by name.
    let r = ask(&mut c, "GET", "/app.js.gz", &[]);
    assert_eq!(
        (r.body.as_slice(), r.header("Content-Encoding")),
        (GZIP, None)
    );
}

#[test]
fn spa_never_answers_for_a_hidden_path() {
    // Hidden files are refused before the fallback: a browser asking for
    // `/.env` or something below `/.git` gets 404, not the index page.
    let dir = app_site();
    let server = serve_with(dir.path(), |h| h.spa(true));
    for target in ["/.env", "/.git/config", "/%2egit/config", "/sub/.secret"] {
        let r = ask(&mut server.connect(), "GET", target, &[BROWSER]);
        assert_eq!(r.status, 404, "{target}");
    }
    // With hidden files served, a missing dot-path is an ordinary miss.
    let shown = serve_with(dir.path(), |h| h.spa(true).hidden(true));
    let mut c = shown.connect();
    assert_eq!(ask(&mut c, "GET", "/.missing", &[BROWSER]).status, 200);
}

/// The names of a JSON listing, in order.
fn listed_names(server: &Server, target: &str) -> Vec<String> {
    json_entries(&get(server, target, &[]))
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_listing_sorts_by_name_size_or_time_through_links() {
    let dir = site(&[
        ("small.txt", b"1"),
        ("Big.txt", &[b'x'; 5000]),
        ("middle.txt", b"12345"),
        ("zdir/inner.txt", b"x"),
    ]);
    let server = serve(dir.path());
    // Directories first whatever the order; then the key.
    assert_eq!(
        listed_names(&server, "/?format=json"),
        ["zdir", "Big.txt", "middle.txt", "small.txt"]
    );
    assert_eq!(
        listed_names(&server, "/?format=json&sort=size&order=desc"),
        ["zdir", "Big.txt", "middle.txt", "small.txt"]
    );
    assert_eq!(
        listed_names(&server, "/?format=json&sort=size&order=asc"),
        ["zdir", "small.txt", "middle.txt", "Big.txt"]
    );
    assert_eq!(
        listed_names(&server, "/?format=json&sort=name&order=desc"),
        ["zdir", "small.txt", "middle.txt", "Big.txt"]
    );
    // Nonsense in the query is ignored.
    assert_eq!(
        listed_names(&server, "/?format=json&sort=%00&order=sideways"),
        ["zdir", "Big.txt", "middle.txt", "small.txt"]
    );
    // The page: the column in use links to the other direction, the others
    // to their most useful one; sizes for people with the exact count.
    let page = get(&server, "/", &[]).text().to_string();
    assert!(
        page.contains("<a href=\"?sort=name&amp;order=desc\">Name ▲</a>"),
        "{page}"
    );
    assert!(page.contains("<a href=\"?sort=size&amp;order=desc\">Size</a>"));
    assert!(page.contains("<a href=\"?sort=modified&amp;order=desc\">Last modified</a>"));
    assert!(page.contains("<td class=\"num\" title=\"5000 bytes\">4.9 KiB</td>"));
    assert!(page.contains("<meta name=\"viewport\""));
    assert!(page.contains("prefers-color-scheme:dark"));
    assert!(!page.contains("<script"), "no script needed");
    let by_size = get(&server, "/?sort=size&order=desc", &[])
        .text()
        .to_string();
    assert!(by_size.contains("<a href=\"?sort=size&amp;order=asc\">Size ▼</a>"));
    let (big, small) = (
        by_size.find("Big.txt").unwrap(),
        by_size.find("small.txt").unwrap(),
    );
    assert!(big < small, "largest first: {by_size}");
}

#[test]
fn the_listing_has_breadcrumbs_up_to_the_root() {
    let dir = site(&[("a b/c&d/file.txt", b"x")]);
    let server = serve(dir.path());
    let page = get(&server, "/a%20b/c%26d/", &[]).text().to_string();
    assert!(
        page.contains(
            "<nav aria-label=\"breadcrumbs\"><a href=\"/\">/</a>\
             <a href=\"/a%20b/\">a b/</a><span>c&amp;d/</span></nav>"
        ),
        "{page}"
    );
    let root = get(&server, "/", &[]).text().to_string();
    assert!(root.contains("<nav aria-label=\"breadcrumbs\"><span>/</span></nav>"));
}
