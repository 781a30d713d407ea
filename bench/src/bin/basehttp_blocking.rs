//! Server for the hostile-clients benchmark's blocking-handler scenario:
//! basehttp's `PoolHttpServer` with `ServerConfig::default()`, whose
//! `GET /sleep` handler blocks its worker for one second (a stand-in for a
//! slow database call) before answering 200.
//!
//! `basehttp_blocking [HOST:PORT]`: `GET /sleep` sleeps 1 s, then answers
//! `Slept 1 s`; any other `GET` answers `Hello, World!` (`text/plain`);
//! `POST` echoes the request body, as the `hello` example does. No
//! per-request log line. The startup line is basehttp's, followed by the
//! pool's bounds as this process computed them (they depend on the CPUs it
//! may run on), e.g. `Starting server on http://127.0.0.1:PORT, use
//! <Ctrl-C> to stop (workers 2, max_workers 32)`.

use basehttp::{Handler, HandlerResult, PoolHttpServer, Request, StatusCode};
use std::io::{self, Write};
use std::time::Duration;

struct Blocking;

impl Handler for Blocking {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        let body: &[u8] = if r.path == "/sleep" {
            std::thread::sleep(Duration::from_secs(1));
            b"Slept 1 s"
        } else {
            basehttp_bench::HELLO_BODY
        };
        r.send_response(200)?;
        r.send_header("Content-Type", "text/plain")?;
        r.end_headers()?;
        r.wfile.write_all(body)?;
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
    let address = basehttp_bench::address_argument("basehttp_blocking");
    basehttp_bench::raise_open_files_limit();
    let server = PoolHttpServer::bind(address.as_str(), Blocking)?;
    let config = server.config();
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "Starting server on http://{}, use <Ctrl-C> to stop (workers {}, max_workers {})",
        server.local_addr(),
        config.workers,
        config.max_workers
    )?;
    out.flush()?;
    drop(out);
    // SIGTERM (the benchmark's stop) ends the process by its default action.
    server.serve_forever()
}
