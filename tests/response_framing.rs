//! How the server frames response bodies: a computed `Content-Length` for a
//! small body, chunked for a large or flushed one (close-delimited for
//! HTTP/1.0 clients), none for `HEAD`, 204 and 304, and the handler's own
//! `Content-Length` when it sends one.

mod common;

use basehttp::handler_fn;
use common::Echo;
use std::io::Write;
use std::sync::Mutex;
use std::sync::mpsc;

#[test]
fn small_body_gets_content_length() {
    let server = common::serve(Echo);
    let mut c = server.connect();
    let r = c.get("/small");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length"), Some("6"));
    assert_eq!(r.header("Transfer-Encoding"), None);
    assert_eq!(r.text(), "/small");
    assert!(
        r.header("Server")
            .is_some_and(|s| s.starts_with("BaseHTTP/"))
    );
    assert!(r.header("Date").is_some_and(|d| d.ends_with(" GMT")));
}

#[test]
fn body_over_16_kib_is_chunked() {
    let server = common::serve(Echo);
    let mut c = server.connect();
    let r = c.get("/large");
    assert_eq!(r.status, 200);
    assert!(r.is_chunked(), "{:?}", r.headers);
    assert_eq!(r.header("Content-Length"), None);
    assert_eq!(r.body.len(), 100_000);
    assert!(r.body == common::pattern(100_000), "body differs");
    // The last chunk ended the response: the connection goes on.
    assert_eq!(c.get("/after").text(), "/after");
}

#[test]
fn one_large_write_is_chunked() {
    let server = common::serve(handler_fn(|r| {
        r.send_response(200)?;
        r.end_headers()?;
        r.wfile.write_all(&common::pattern(70_000))?;
        Ok(())
    }));
    let mut c = server.connect();
    let r = c.get("/");
    assert!(r.is_chunked(), "{:?}", r.headers);
    assert!(r.body == common::pattern(70_000), "body differs");
}

#[test]
fn flush_sends_the_first_part_before_the_handler_finishes() {
    let (go_on, wait) = mpsc::channel::<()>();
    let wait = Mutex::new(wait);
    let server = common::serve(handler_fn(move |r| {
        r.send_response(200)?;
        r.end_headers()?;
        if r.path != "/stream" {
            return Ok(());
        }
        r.wfile.write_all(b"first part\n")?;
        r.wfile.flush()?;
        // Only the client, having read the first part, lets the handler go on.
        wait.lock().unwrap().recv_timeout(common::TIMEOUT)?;
        r.wfile.write_all(b"second part\n")?;
        Ok(())
    }));
    let mut c = server.connect();
    c.send(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = c.read_head().unwrap();
    assert_eq!(head.status, 200);
    assert!(head.is_chunked(), "{:?}", head.headers);
    assert_eq!(head.header("Content-Length"), None);
    assert_eq!(
        c.read_chunk().unwrap().as_deref(),
        Some(&b"first part\n"[..])
    );
    go_on.send(()).unwrap();
    let mut rest = Vec::new();
    while let Some(chunk) = c.read_chunk().unwrap() {
        rest.extend_from_slice(&chunk);
    }
    assert_eq!(rest, b"second part\n");
    assert_eq!(c.get("/after").status, 200);
}

#[test]
fn http10_client_gets_a_large_body_delimited_by_close() {
    let server = common::serve(Echo);
    let mut c = server.connect();
    c.send(b"GET /large HTTP/1.0\r\n\r\n");
    let r = c.read_response("GET").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Transfer-Encoding"), None);
    assert_eq!(r.header("Content-Length"), None);
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(r.body == common::pattern(100_000), "body differs");
}

#[test]
fn http10_keep_alive_client_gets_a_large_body_delimited_by_close() {
    let server = common::serve(Echo);
    let mut c = server.connect();
    c.send(b"GET /large HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.read_response("GET").unwrap();
    assert_eq!(r.header("Transfer-Encoding"), None);
    assert_eq!(r.header("Content-Length"), None);
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(r.body == common::pattern(100_000), "body differs");
}

#[test]
fn head_has_the_content_length_of_get_and_no_body() {
    let server = common::serve(Echo);
    let mut c = server.connect();
    let get = c.get("/page");
    for _ in 0..2 {
        c.send(b"HEAD /page HTTP/1.1\r\nHost: x\r\n\r\n");
        let head = c.read_response("HEAD").unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.header("Content-Length"), get.header("Content-Length"));
        assert_eq!(head.header("Content-Type"), Some("text/plain"));
        assert_eq!(head.header("Transfer-Encoding"), None);
    }
    // No stray body bytes: the next response parses.
    assert_eq!(c.get("/next").text(), "/next");
}

#[test]
fn head_of_a_large_body_has_its_full_length() {
    let server = common::serve(Echo);
    let mut c = server.connect();
    c.send(b"HEAD /large HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = c.read_response("HEAD").unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("Content-Length"), Some("100000"), "{head:?}");
    assert_eq!(head.header("Transfer-Encoding"), None);
    assert_eq!(c.get("/next").text(), "/next");
}

/// Answers `/204` and `/304` with that status, writing a few body bytes the
/// server must drop; anything else 200.
fn no_body_statuses() -> impl basehttp::Handler {
    handler_fn(|r| {
        let code: u16 = match r.path {
            "/204" => 204,
            "/304" => 304,
            _ => 200,
        };
        r.send_response(code)?;
        r.end_headers()?;
        r.wfile.write_all(b"must not be sent")?;
        Ok(())
    })
}

#[test]
fn responses_204_and_304_have_no_body_and_no_framing() {
    let server = common::serve(no_body_statuses());
    let mut c = server.connect();
    for code in [204, 304] {
        let r = c.get(&format!("/{code}"));
        assert_eq!(r.status, code);
        assert_eq!(r.header("Content-Length"), None, "{r:?}");
        assert_eq!(r.header("Transfer-Encoding"), None, "{r:?}");
    }
    // Had any body bytes been sent, this response would not parse.
    let r = c.get("/ok");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "must not be sent");
}

#[test]
fn handler_sent_content_length_is_respected() {
    let server = common::serve(handler_fn(|r| {
        let body = if r.path == "/large" {
            common::pattern(40_000)
        } else {
            b"hello".to_vec()
        };
        r.send_response(200)?;
        r.send_header("Content-Length", body.len())?;
        r.end_headers()?;
        for piece in body.chunks(1000) {
            r.wfile.write_all(piece)?;
        }
        Ok(())
    }));
    let mut c = server.connect();
    for (path, len) in [("/small", 5), ("/large", 40_000)] {
        let r = c.get(path);
        assert_eq!(r.status, 200);
        assert_eq!(r.header_count("Content-Length"), 1, "{r:?}");
        assert_eq!(r.content_length(), Some(len));
        assert_eq!(r.header("Transfer-Encoding"), None);
        assert_eq!(r.body.len(), len);
    }
}
