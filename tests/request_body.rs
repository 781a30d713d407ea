//! Request bodies read through `rfile`: exactly the body, whatever its
//! framing, and never a byte of the next request.

mod common;

use common::Echo;

#[test]
fn content_length_body_is_read_exactly() {
    let server = common::serve(Echo);
    let mut c = server.connect();
    let body = common::pattern(50_000);
    let mut raw = format!(
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(&body);
    raw.extend_from_slice(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    c.send(&raw);
    let r = c.read_response("POST").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, body);
    assert_eq!(c.read_response("GET").unwrap().text(), "/next");
}

#[test]
fn chunked_body_with_extensions_and_trailers_split_across_writes() {
    let server = common::serve(Echo);
    let mut c = server.connect();
    // Each piece is its own write; the cuts fall inside a chunk-size line, a
    // chunk's data, a CRLF, and the trailer section.
    let pieces: [&[u8]; 7] = [
        b"POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"5;name=value\r\nhel",
        b"lo\r\n",
        b"6;quoted=\"a b\"\r\n world\r",
        b"\n1",
        b"0\r\n0123456789abcdef\r\n0\r\nX-Checksum: abc\r\nX-Other:",
        b" 1\r\n\r\n",
    ];
    for piece in pieces {
        c.send(piece);
    }
    let r = c.read_response("POST").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "hello world0123456789abcdef");
    assert_eq!(
        r.header("X-Trailers"),
        Some("X-Checksum: abc|X-Other: 1|"),
        "{r:?}"
    );
    // The body ended exactly: the connection is ready for the next request.
    assert_eq!(c.get("/next").text(), "/next");
}

#[test]
fn large_chunked_body_is_echoed_exactly() {
    let server = common::serve(Echo);
    let mut c = server.connect();
    let body = common::pattern(200_000);
    let mut raw = b"POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for chunk in body.chunks(30_000) {
        raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    c.send(&raw);
    let r = c.read_response("POST").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), body.len());
    assert!(r.body == body, "echoed body differs");
}

#[test]
fn bad_chunk_size_is_400() {
    let server = common::serve(Echo);
    {
        let mut c = server.connect();
        c.send(
            b"POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
              zz\r\nhello\r\n0\r\n\r\n",
        );
        let r = c.read_response("POST").unwrap();
        assert_eq!(r.status, 400, "{r:?}");
        assert!(r.text().contains("Bad chunk size"), "{r:?}");
        assert_eq!(r.header("Connection"), Some("close"));
        c.assert_closed();
    }
    server.assert_serves();
}
