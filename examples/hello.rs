//! The benchmark program: `GET` answers `Hello, World!`, `POST` echoes the
//! request body. No per-request log line.
//!
//! `cargo run --release --example hello [-- [--mode sequential|threading] [HOST:PORT]]`
//! (the default mode is `threading` until the pool mode lands).

mod common;

use basehttp::{Handler, HandlerResult, HttpServer, Request, StatusCode, ThreadingHttpServer};
use std::io::{self, Write};

struct Hello;

impl Handler for Hello {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        r.send_response(200)?;
        r.send_header("Content-Type", "text/plain")?;
        r.end_headers()?;
        r.wfile.write_all(b"Hello, World!")?;
        Ok(())
    }

    fn do_post(&self, r: &mut Request<'_>) -> HandlerResult {
        r.send_response(200)?;
        r.send_header("Content-Type", "application/octet-stream")?;
        r.end_headers()?;
        io::copy(&mut r.rfile, &mut r.wfile)?;
        Ok(())
    }

    fn log_request(&self, _: &Request<'_>, _: StatusCode, _: Option<u64>) {}
}

fn main() -> io::Result<()> {
    let mut mode = "threading".to_string();
    let mut address = common::DEFAULT_ADDRESS.to_string();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--mode" => {
                mode = args
                    .next()
                    .unwrap_or_else(|| common::usage_error("--mode needs a value"))
            }
            a if a.starts_with("--mode=") => mode = a["--mode=".len()..].to_string(),
            a if a.starts_with('-') => common::usage_error(&format!(
                "unknown option {a:?}; usage: [--mode sequential|threading] [HOST:PORT]"
            )),
            a => address = common::parse_address(a),
        }
    }
    match mode.as_str() {
        "sequential" => {
            let server = HttpServer::bind(&address, Hello)
                .unwrap_or_else(|e| common::bind_failed(&address, e));
            common::announce(server.local_addr());
            server.serve_forever()
        }
        "threading" => {
            let server = ThreadingHttpServer::bind(&address, Hello)
                .unwrap_or_else(|e| common::bind_failed(&address, e));
            common::announce(server.local_addr());
            server.serve_forever()
        }
        other => common::usage_error(&format!(
            "unknown mode {other:?}: expected sequential or threading"
        )),
    }
}
