//! The benchmark program: `GET` answers `Hello, World!`, `POST` echoes the
//! request body. No per-request log line.
//!
//! `cargo run --release --example hello [-- [--mode sequential|pool|threading|forking] [HOST:PORT]]`
//! (default mode: `pool`).

mod common;

use basehttp::server::{Forking, Pool, Sequential, Threading};
use basehttp::{Handler, HandlerResult, Request, StatusCode};
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

const USAGE: &str = "usage: hello [--mode sequential|pool|threading|forking] [HOST:PORT]";

fn main() -> io::Result<()> {
    let mut mode = "pool".to_string();
    let mut address = common::DEFAULT_ADDRESS.to_string();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--mode" => {
                mode = args.next().unwrap_or_else(|| {
                    common::usage_error(&format!("--mode needs a value; {USAGE}"))
                })
            }
            a if a.starts_with("--mode=") => mode = a["--mode=".len()..].to_string(),
            a if a.starts_with('-') => {
                common::usage_error(&format!("unknown option {a:?}; {USAGE}"))
            }
            a => address = common::parse_address(a),
        }
    }
    match mode.as_str() {
        "sequential" => common::run(common::bind::<_, Sequential>(&address, Hello)),
        "pool" => common::run(common::bind::<_, Pool>(&address, Hello)),
        "threading" => common::run(common::bind::<_, Threading>(&address, Hello)),
        "forking" => common::run(common::bind::<_, Forking>(&address, Hello)),
        other => common::usage_error(&format!("unknown mode {other:?}; {USAGE}")),
    }
}
