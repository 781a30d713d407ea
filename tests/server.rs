//! The servers themselves: graceful shutdown from another thread, and the
//! threads of `ThreadingHttpServer`.

mod common;

use basehttp::server::Concurrency;
use basehttp::{Handler, HandlerResult, Request};
use common::{Echo, TestServer};
use std::io::Write;

/// A keep-alive connection that made one request and then went silent must
/// not hold up `shutdown()`: the server closes it, and `serve_forever`
/// returns `Ok`.
fn shutdown_closes_an_idle_keep_alive_connection<C: Concurrency>(server: TestServer<Echo, C>) {
    let mut idle = server.connect();
    let r = idle.get("/once");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Connection"),
        None,
        "the connection should stay open"
    );

    server
        .stop()
        .expect("serve_forever returns Ok after shutdown");

    // The server closed the idle connection: end of stream, nothing sent.
    idle.assert_closed();
}

#[test]
fn http_server_shutdown_closes_idle_connections() {
    shutdown_closes_an_idle_keep_alive_connection(common::serve_sequential(Echo));
}

#[test]
fn threading_server_shutdown_closes_idle_connections() {
    shutdown_closes_an_idle_keep_alive_connection(common::serve(Echo));
}

#[test]
fn shutdown_of_a_server_with_no_connections() {
    common::serve_sequential(Echo).stop().unwrap();
    common::serve(Echo).stop().unwrap();
}

/// Answers with the name of the thread that ran the handler.
struct ThreadName;

impl Handler for ThreadName {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        let name = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_string();
        r.send_response(200)?;
        r.end_headers()?;
        r.wfile.write_all(name.as_bytes())?;
        Ok(())
    }
}

#[test]
fn threading_server_names_its_threads_thread_n() {
    let server = common::serve(ThreadName);
    let mut names = Vec::new();
    for _ in 0..2 {
        let mut c = server.connect();
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        names.push(c.read_response("GET").unwrap().text().to_string());
        c.assert_closed();
    }
    assert_eq!(names, ["Thread-1", "Thread-2"]);
}

#[test]
fn threading_server_keeps_one_thread_per_connection() {
    let server = common::serve(ThreadName);
    let mut c = server.connect();
    let first = c.get("/").text().to_string();
    let second = c.get("/").text().to_string();
    assert!(first.starts_with("Thread-"), "{first}");
    assert_eq!(first, second);
}
