//! The handler API seen from the client: failures become 500s, headers cannot
//! split a response, error pages escape what they show and carry the headers
//! their status needs, and every request is logged through `log_message`.

mod common;

use basehttp::ClientAddress;
use basehttp::handler::ErrorDetails;
use basehttp::{Handler, HandlerResult, Request, handler_fn};
use std::fmt;
use std::io::Write;
use std::sync::Mutex;

/// Fails in a different way on each path; `/alive` and anything else is 200.
fn failing() -> impl Handler {
    handler_fn(|r| match r.path {
        "/panic" => panic!("handler panic (expected by the test)"),
        "/error" => Err("handler error (expected by the test)".into()),
        "/silent" => Ok(()),
        "/panic-after-flush" => {
            r.send_response(200)?;
            r.end_headers()?;
            r.wfile.write_all(b"partial")?;
            r.wfile.flush()?;
            panic!("handler panic after flush (expected by the test)");
        }
        _ => {
            r.send_response(200)?;
            r.end_headers()?;
            r.wfile.write_all(b"fine")?;
            Ok(())
        }
    })
}

fn gets_500(path: &str) {
    let server = common::serve_sequential(failing());
    {
        let mut c = server.connect();
        c.send(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        let r = c.read_response("GET").unwrap();
        assert_eq!(r.status, 500, "{r:?}");
        assert_eq!(r.header("Content-Type"), Some("text/html;charset=utf-8"));
        assert_eq!(r.header("Connection"), Some("close"));
        c.assert_closed();
    }
    server.assert_serves();
}

#[test]
fn panicking_handler_gets_500_and_the_server_lives() {
    gets_500("/panic");
}

#[test]
fn handler_returning_err_gets_500() {
    gets_500("/error");
}

#[test]
fn handler_returning_without_a_response_gets_500() {
    gets_500("/silent");
}

#[test]
fn panic_after_a_flush_cuts_the_response_short() {
    let server = common::serve_sequential(failing());
    {
        let mut c = server.connect();
        c.send(b"GET /panic-after-flush HTTP/1.1\r\nHost: x\r\n\r\n");
        let head = c.read_head().unwrap();
        assert_eq!(head.status, 200);
        assert!(head.is_chunked(), "{:?}", head.headers);
        assert_eq!(c.read_chunk().unwrap().as_deref(), Some(&b"partial"[..]));
        // No last chunk: the client must see the body as incomplete.
        let rest = c.read_to_end().unwrap();
        assert!(
            rest.is_empty(),
            "the server ended a response it had abandoned: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }
    server.assert_serves();
}

#[test]
fn header_injection_is_refused() {
    let server = common::serve(handler_fn(|r| {
        r.send_response(200)?;
        let refused = r.send_header("X", "a\r\nSet-Cookie: evil");
        let lf_only = r.send_header("X", "a\nSet-Cookie: evil");
        let bad_name = r.send_header("Set-Cookie: evil\r\nX", "a");
        r.end_headers()?;
        for result in [refused, lf_only, bad_name] {
            let kind = result.err().map(|e| e.kind());
            write!(r.wfile, "{kind:?};")?;
        }
        Ok(())
    }));
    let mut c = server.connect();
    let r = c.get("/");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "Some(InvalidInput);Some(InvalidInput);Some(InvalidInput);"
    );
    assert_eq!(r.header_count("Set-Cookie"), 0, "{r:?}");
    assert_eq!(r.header_count("X"), 0, "{r:?}");
    assert!(
        r.headers
            .iter()
            .all(|(n, v)| !n.contains("evil") && !v.contains("evil"))
    );
}

#[test]
fn error_page_escapes_html() {
    let server = common::serve(handler_fn(|r| {
        r.send_error_message(400, Some("<script>alert(1)</script>"), Some("a & <b>"))?;
        Ok(())
    }));
    let mut c = server.connect();
    let r = c.get("/");
    assert_eq!(r.status, 400);
    assert_eq!(r.header("Content-Type"), Some("text/html;charset=utf-8"));
    assert_eq!(r.content_length(), Some(r.body.len()));
    let page = r.text();
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(page.contains("a &amp; &lt;b&gt;"), "{page}");
    assert!(!page.contains("<script>"), "{page}");
    assert!(!page.contains("<b>"), "{page}");
    // The page was exactly Content-Length long, and the connection closes.
    c.assert_closed();
}

#[test]
fn default_error_page_names_the_status() {
    let server = common::serve(handler_fn(|r| {
        r.send_error(404)?;
        Ok(())
    }));
    let mut c = server.connect();
    let r = c.get("/missing");
    assert_eq!(r.status, 404);
    assert_eq!(r.reason, "Not Found");
    assert_eq!(r.header("Content-Type"), Some("text/html;charset=utf-8"));
    assert_eq!(r.content_length(), Some(r.body.len()));
    let page = r.text();
    assert!(page.contains("<p>Error code: 404</p>"), "{page}");
    assert!(page.contains("<p>Message: Not Found.</p>"), "{page}");
    assert!(page.contains("Nothing matches the given URI"), "{page}");
    c.assert_closed();
}

#[test]
fn head_error_response_has_no_body() {
    let server = common::serve(handler_fn(|r| {
        r.send_error(404)?;
        Ok(())
    }));
    let mut c = server.connect();
    c.send(b"HEAD /missing HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.read_response("HEAD").unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.header("Connection"), Some("close"));
    // Nothing follows the head before the server closes.
    c.assert_closed();
}

/// Error pages with headers of their own: `/auth` is a 401 that keeps the
/// connection, `/busy` a 503 that closes it; `/refused?NAME` tries to send
/// `NAME: x` with an error page, `/crlf` a value with a line break, and each
/// answers 200 with the error's kind. Anything else is 200.
fn error_details() -> impl Handler {
    handler_fn(|r| {
        let refused = match r.path {
            "/auth" => {
                r.send_error_details(
                    401,
                    ErrorDetails {
                        headers: &[("WWW-Authenticate", "Basic realm=\"test\"")],
                        keep_alive: true,
                        ..ErrorDetails::default()
                    },
                )?;
                return Ok(());
            }
            "/busy" => {
                r.send_error_details(
                    503,
                    ErrorDetails {
                        message: Some("Down for maintenance"),
                        headers: &[("Retry-After", "120")],
                        ..ErrorDetails::default()
                    },
                )?;
                return Ok(());
            }
            "/crlf" => r.send_error_details(
                503,
                ErrorDetails {
                    headers: &[("Retry-After", "1\r\nSet-Cookie: evil")],
                    ..ErrorDetails::default()
                },
            ),
            path => match path.strip_prefix("/refused?") {
                Some(name) => r.send_error_details(
                    401,
                    ErrorDetails {
                        headers: &[("WWW-Authenticate", "Basic"), (name, "x")],
                        ..ErrorDetails::default()
                    },
                ),
                None => Ok(()),
            },
        };
        // A refused call sent nothing: the handler can still answer.
        r.send_response(200)?;
        r.end_headers()?;
        match refused {
            Ok(()) => r.wfile.write_all(b"fine")?,
            Err(e) => write!(r.wfile, "{:?}", e.kind())?,
        }
        Ok(())
    })
}

#[test]
fn error_401_carries_www_authenticate_and_can_keep_the_connection() {
    let server = common::serve(error_details());
    let mut c = server.connect();
    let r = c.get("/auth");
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.header("WWW-Authenticate"), Some("Basic realm=\"test\""));
    assert_eq!(r.header("Content-Type"), Some("text/html;charset=utf-8"));
    assert_eq!(r.content_length(), Some(r.body.len()));
    assert!(r.text().contains("<p>Error code: 401</p>"), "{}", r.text());
    assert_eq!(r.header("Connection"), None, "{r:?}");
    // keep_alive: the same connection answers the next request.
    let r = c.get("/alive");
    assert_eq!((r.status, r.text()), (200, "fine"));
}

#[test]
fn error_503_carries_retry_after_and_closes_by_default() {
    let server = common::serve(error_details());
    let mut c = server.connect();
    let r = c.get("/busy");
    assert_eq!(r.status, 503, "{r:?}");
    assert_eq!(r.reason, "Down for maintenance");
    assert_eq!(r.header("Retry-After"), Some("120"));
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(r.text().contains("Down for maintenance"), "{}", r.text());
    c.assert_closed();
}

#[test]
fn error_page_refuses_the_headers_it_sets_itself() {
    let server = common::serve(error_details());
    let mut c = server.connect();
    for name in [
        "Content-Length",
        "content-type",
        "Transfer-Encoding",
        "CONNECTION",
    ] {
        let r = c.get(&format!("/refused?{name}"));
        assert_eq!((r.status, r.text()), (200, "InvalidInput"), "{name}");
        assert_eq!(r.header_count("WWW-Authenticate"), 0, "{r:?}");
    }
}

#[test]
fn error_page_refuses_a_header_value_with_a_line_break() {
    let server = common::serve(error_details());
    let mut c = server.connect();
    let r = c.get("/crlf");
    assert_eq!((r.status, r.text()), (200, "InvalidInput"));
    assert_eq!(r.header_count("Retry-After"), 0, "{r:?}");
    assert_eq!(r.header_count("Set-Cookie"), 0, "{r:?}");
    // A name that is not a token is refused too.
    let r = c.get("/refused?Bad:Name");
    assert_eq!((r.status, r.text()), (200, "InvalidInput"));
}

/// Keeps every log line instead of writing it to standard error.
#[derive(Default)]
struct Recording {
    lines: Mutex<Vec<String>>,
}

impl Handler for Recording {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        r.send_response(200)?;
        r.end_headers()?;
        r.wfile.write_all(b"logged")?;
        Ok(())
    }

    fn log_message(&self, _client: ClientAddress, message: fmt::Arguments<'_>) {
        self.lines.lock().unwrap().push(message.to_string());
    }
}

#[test]
fn requests_are_logged_through_log_message() {
    let server = common::serve(Recording::default());
    let mut c = server.connect();
    assert_eq!(c.get("/x").status, 200);
    // The line is written by send_response, before the response leaves.
    let lines = server.handler().lines.lock().unwrap().clone();
    assert_eq!(lines, [r#""GET /x HTTP/1.1" 200 -"#]);
}

#[test]
fn errors_are_logged_through_log_message() {
    let server = common::serve(Recording::default());
    let mut c = server.connect();
    c.send(b"SPAM /y HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_response("SPAM").unwrap().status, 501);
    let lines = server.handler().lines.lock().unwrap().clone();
    assert_eq!(
        lines,
        [
            "code 501, message Unsupported method ('SPAM')",
            r#""SPAM /y HTTP/1.1" 501 -"#
        ]
    );
}
