//! On-the-fly compression by the files handler, over real sockets: what is
//! compressed and what is not, negotiation with `Accept-Encoding` weights,
//! validators and `Vary`, `HEAD`, and `curl --compressed` (an independent
//! decoder, run as a process) getting the file's exact bytes back.

#![cfg(any(feature = "gzip", feature = "brotli", feature = "zstd"))]

mod common;
#[path = "common/process.rs"]
mod process;

use basehttp::SimpleHttpRequestHandler;
use basehttp::server::Threading;
use common::{Client, Response, TestServer};
use std::fs;
use std::path::Path;
use std::process::Command;
use tempfile::TempDir;

type Server = TestServer<SimpleHttpRequestHandler, Threading>;

/// Text that compresses well but not trivially: numbered lines of HTML.
fn page(lines: usize) -> Vec<u8> {
    let mut out = String::from("<!doctype html>\n<ul>\n");
    for i in 0..lines {
        out.push_str(&format!(
            "<li class=\"item-{}\">Item number {i}</li>\n",
            i % 7
        ));
    }
    out.push_str("</ul>\n");
    out.into_bytes()
}

/// A directory with text of several sizes and files compressed already.
fn site() -> TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path();
    fs::write(root.join("page.html"), page(100)).unwrap(); // ~4 KiB
    fs::write(root.join("big.html"), page(20_000)).unwrap(); // ~800 KiB
    fs::write(root.join("small.txt"), b"a small file, under a kibibyte").unwrap();
    fs::write(root.join("data.json"), page(50)).unwrap();
    // Compressed already, and compressible-looking inside.
    fs::write(root.join("logs.tar.gz"), page(100)).unwrap();
    fs::write(root.join("photo.png"), page(100)).unwrap();
    // With a precompressed copy beside it.
    fs::write(root.join("app.js"), page(100)).unwrap();
    fs::write(root.join("app.js.gz"), b"precompressed gzip bytes").unwrap();
    dir
}

use common::serve_files as serve_with;

fn serve(dir: &Path) -> Server {
    serve_with(dir, |h| h.compress(true))
}

fn ask(server: &Server, method: &str, target: &str, headers: &[&str]) -> Response {
    Client::connect(server.addr()).ask(method, target, headers)
}

fn get(server: &Server, target: &str, headers: &[&str]) -> Response {
    ask(server, "GET", target, headers)
}

/// `body` decoded from `coding` by an independent decoder: the crate's
/// optional dependencies' decoders, not its encoder.
fn decode(coding: &str, body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    match coding {
        #[cfg(feature = "gzip")]
        "gzip" => flate2::read::GzDecoder::new(body).read_to_end(&mut out),
        #[cfg(feature = "brotli")]
        "br" => brotli::Decompressor::new(body, 4096).read_to_end(&mut out),
        #[cfg(feature = "zstd")]
        "zstd" => zstd::stream::read::Decoder::new(body).and_then(|mut d| d.read_to_end(&mut out)),
        other => panic!("no decoder for {other}"),
    }
    .expect("a well-formed compressed body");
    out
}

/// `curl --compressed` (which asks for and decodes gzip, br, zstd) on
/// `url`, with `extra` arguments: its head and the decoded body.
fn curl(url: &str, extra: &[&str]) -> (String, Vec<u8>) {
    let head = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--compressed", "--dump-header"])
        .arg(head.path())
        .args(extra)
        .arg(url)
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (fs::read_to_string(head.path()).unwrap(), out.stdout)
}

#[test]
fn curl_compressed_gets_the_same_bytes_as_uncompressed() {
    let dir = site();
    let server = serve(dir.path());
    for name in ["page.html", "big.html", "data.json"] {
        let url = format!("http://{}/{name}", server.addr());
        let want = fs::read(dir.path().join(name)).unwrap();
        let (plain_head, plain) = curl(&url, &["--no-compressed"]);
        assert_eq!(plain, want, "{name} plain");
        assert!(!plain_head.to_ascii_lowercase().contains("content-encoding"));
        // curl's own Accept-Encoding (deflate, gzip, br, zstd).
        let (head, body) = curl(&url, &[]);
        let first = basehttp::files::CODINGS[0].name();
        assert!(
            head.contains(&format!("Content-Encoding: {first}")),
            "{name}: {head}"
        );
        assert_eq!(body, want, "{name} {first}");
        for coding in basehttp::files::CODINGS {
            let accept = format!("Accept-Encoding: {}", coding.name());
            let (head, body) = curl(&url, &["-H", &accept]);
            let encoding = format!("Content-Encoding: {}", coding.name());
            assert!(head.contains(&encoding), "{name}: {head}");
            assert_eq!(body, want, "{name} {coding:?}");
        }
    }
}

#[test]
fn encoded_responses_stream_chunked_and_decode_to_the_file() {
    let dir = site();
    let server = serve(dir.path());
    let want = fs::read(dir.path().join("big.html")).unwrap();
    for coding in basehttp::files::CODINGS {
        let name = coding.name();
        let r = get(&server, "/big.html", &[&format!("Accept-Encoding: {name}")]);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Content-Encoding"), Some(name));
        assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
        assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
        assert!(r.is_chunked() && r.content_length().is_none());
        assert_eq!(r.header("Accept-Ranges"), None);
        assert!(r.body.len() < want.len() / 4, "{name}: {}", r.body.len());
        assert_eq!(decode(name, &r.body), want, "{name}");
    }
}

#[test]
fn compressed_files_and_media_are_sent_as_they_are() {
    let dir = site();
    let server = serve(dir.path());
    for name in ["logs.tar.gz", "photo.png"] {
        let r = get(&server, &format!("/{name}"), &["Accept-Encoding: gzip, br"]);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Content-Encoding"), None, "{name}");
        assert_eq!(r.header("Vary"), None, "{name}");
        assert_eq!(r.body, fs::read(dir.path().join(name)).unwrap(), "{name}");
        assert!(r.content_length().is_some());
    }
    let r = get(&server, "/logs.tar.gz", &["Accept-Encoding: gzip"]);
    assert_eq!(r.header("Content-Type"), Some("application/gzip"));
}

#[test]
fn small_files_are_not_compressed() {
    let dir = site();
    let server = serve(dir.path());
    let r = get(&server, "/small.txt", &["Accept-Encoding: gzip, br"]);
    assert_eq!(r.header("Content-Encoding"), None);
    assert_eq!(r.body, b"a small file, under a kibibyte");
}

#[test]
fn a_range_is_never_compressed() {
    let dir = site();
    let server = serve(dir.path());
    let want = fs::read(dir.path().join("page.html")).unwrap();
    let ranged = |range: &str, if_range: Option<&str>| {
        let range = format!("Range: {range}");
        let mut headers = vec!["Accept-Encoding: gzip, br", range.as_str()];
        headers.extend(if_range);
        get(&server, "/page.html", &headers)
    };
    let r = ranged("bytes=10-109", None);
    assert_eq!((r.status, r.header("Content-Encoding")), (206, None));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(r.body, &want[10..110]);
    let r = ranged("bytes=0-9,100-109", None);
    assert_eq!((r.status, r.header("Content-Encoding")), (206, None));
    let content_type = r.header("Content-Type").unwrap();
    assert!(content_type.starts_with("multipart/byteranges"));
    // A range past the end: 416, not compressed either.
    let r = ranged("bytes=999999-", None);
    assert_eq!((r.status, r.header("Content-Encoding")), (416, None));
    // An If-Range that no longer matches: the whole file, compressed.
    let r = ranged("bytes=0-9", Some("If-Range: \"old\""));
    assert_eq!(r.status, 200);
    assert!(r.header("Content-Encoding").is_some());
}

#[test]
fn head_gets_the_head_of_get() {
    let dir = site();
    let server = serve(dir.path());
    for accept in ["gzip", "br", "zstd", "identity"] {
        let header = format!("Accept-Encoding: {accept}");
        let g = get(&server, "/page.html", &[&header]);
        let h = ask(&server, "HEAD", "/page.html", &[&header]);
        assert!(h.body.is_empty());
        let without_date = |r: &Response| -> Vec<(String, String)> {
            r.headers
                .iter()
                .filter(|(n, _)| !n.eq_ignore_ascii_case("Date"))
                .cloned()
                .collect()
        };
        assert_eq!(without_date(&h), without_date(&g), "{accept}");
    }
}

#[test]
fn weights_are_honoured() {
    let dir = site();
    let server = serve(dir.path());
    let gzip = cfg!(feature = "gzip").then_some("gzip");
    let br = cfg!(feature = "brotli").then_some("br");
    let zstd = cfg!(feature = "zstd").then_some("zstd");
    let cases: &[(&str, Option<&str>)] = &[
        ("", None),
        ("gzip;q=0", None),
        ("br;q=0, gzip;q=0", None),
        ("*;q=0", None),
        ("identity", None),
        ("deflate", None),
        ("gzip;q=0.5, identity", None),
        ("gzip, identity;q=0.5", gzip),
        ("x-gzip", gzip),
        ("br;q=0, gzip", gzip),
        ("br;q=0.4, gzip;q=0.5", gzip.or(br)),
        ("gzip;q=0.5, br", br.or(gzip)),
        ("gzip, br", br.or(gzip)),
        ("zstd;q=0.5, br", br.or(zstd)),
        ("gzip, zstd", zstd.or(gzip)),
        ("gzip, zstd;q=0.9", gzip),
        ("gzip;q=0.9, deflate, zstd, br;q=0.5", zstd.or(gzip)),
        ("*", zstd.or(br).or(gzip)),
        ("br, zstd", zstd.or(br)),
        ("br;q=0, *", zstd.or(gzip)),
    ];
    let want = fs::read(dir.path().join("page.html")).unwrap();
    for (accept, coding) in cases {
        let r = get(
            &server,
            "/page.html",
            &[&format!("Accept-Encoding: {accept}")],
        );
        assert_eq!(r.header("Content-Encoding"), *coding, "{accept:?}");
        assert_eq!(r.header("Vary"), Some("Accept-Encoding"), "{accept:?}");
        match coding {
            Some(c) => assert_eq!(decode(c, &r.body), want),
            None => assert_eq!(r.body, want),
        }
    }
}

#[test]
#[cfg(feature = "gzip")]
fn each_representation_has_its_own_tag_and_revalidates() {
    let dir = site();
    let server = serve(dir.path());
    let plain = get(&server, "/page.html", &[]);
    let gz = get(&server, "/page.html", &["Accept-Encoding: gzip"]);
    let (plain_tag, gz_tag) = (plain.header("ETag").unwrap(), gz.header("ETag").unwrap());
    assert_ne!(plain_tag, gz_tag);
    assert!(gz_tag.starts_with("W/"), "{gz_tag}");
    // (Accept-Encoding, a condition) -> (status, Content-Encoding, ETag).
    let cases = [
        // Each tag revalidates its own representation.
        (
            Some("gzip"),
            format!("If-None-Match: {gz_tag}"),
            304,
            None,
            gz_tag,
        ),
        (
            None,
            format!("If-None-Match: {plain_tag}"),
            304,
            None,
            plain_tag,
        ),
        // The other one's tag does not.
        (
            Some("gzip"),
            format!("If-None-Match: {plain_tag}"),
            200,
            Some("gzip"),
            gz_tag,
        ),
        (
            None,
            format!("If-None-Match: {gz_tag}"),
            200,
            None,
            plain_tag,
        ),
        // A weak tag never makes a range apply (If-Range compares strongly).
        (
            Some("gzip"),
            format!("If-Range: {gz_tag}"),
            200,
            Some("gzip"),
            gz_tag,
        ),
    ];
    for (accept, condition, status, coding, tag) in cases {
        let mut headers = vec!["Range: bytes=0-9".to_string(), condition.clone()];
        if condition.starts_with("If-None-Match") {
            headers.remove(0);
        }
        if let Some(accept) = accept {
            headers.push(format!("Accept-Encoding: {accept}"));
        }
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let r = get(&server, "/page.html", &headers);
        let what = format!("{accept:?} {condition}");
        assert_eq!(r.status, status, "{what}");
        assert_eq!(r.header("Content-Encoding"), coding, "{what}");
        assert_eq!(r.header("ETag"), Some(tag), "{what}");
        assert_eq!(r.header("Vary"), Some("Accept-Encoding"), "{what}");
    }
}

#[test]
fn precompressed_copies_keep_priority() {
    let dir = site();
    let server = serve(dir.path());
    let r = get(&server, "/app.js", &["Accept-Encoding: gzip, br"]);
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    assert_eq!(r.body, b"precompressed gzip bytes");
}

#[test]
fn off_by_default_and_off_under_a_content_encoding_header() {
    let dir = site();
    let off = serve_with(dir.path(), |h| h);
    let r = get(&off, "/page.html", &["Accept-Encoding: gzip, br"]);
    assert_eq!(
        (r.header("Content-Encoding"), r.header("Vary")),
        (None, None)
    );
    let own = serve_with(dir.path(), |h| {
        h.compress(true)
            .header("Content-Encoding", "identity")
            .unwrap()
    });
    let r = get(&own, "/page.html", &["Accept-Encoding: gzip, br"]);
    assert_eq!(r.header("Content-Encoding"), Some("identity"));
    assert_eq!(r.body, fs::read(dir.path().join("page.html")).unwrap());
}

#[test]
fn the_binary_compresses_unless_told_not_to() {
    let dir = site();
    let want = fs::read(dir.path().join("page.html")).unwrap();
    for (flag, coding) in [(None, Some("gzip")), (Some("--no-compress"), None)] {
        let mut command = process::basehttp();
        command.args(["-q", "-b", "127.0.0.1"]);
        command.args(flag);
        let server = process::Process::start(command.arg("0").current_dir(dir.path()));
        let r = Client::connect(server.addr()).ask("GET", "/page.html", &["Accept-Encoding: gzip"]);
        assert_eq!(r.header("Content-Encoding"), coding, "{flag:?}");
        match coding {
            Some(c) => assert_eq!(decode(c, &r.body), want),
            None => assert_eq!(r.body, want),
        }
    }
    let help = process::run_to_exit(process::basehttp().arg("--help"));
    assert!(help.stdout.contains("--no-compress"));
}
