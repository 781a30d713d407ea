//! The seed's threaded server: each connection gets its own thread, and the
//! answer is that thread's name. `cargo run --example threads [-- HOST:PORT]`
//!
//! ```text
//! $ curl http://127.0.0.1:8080/
//! Thread-1
//! ```

mod common;

use basehttp::{Handler, HandlerResult, Request, ThreadingHttpServer};
use std::io::Write;

struct Handler1;

impl Handler for Handler1 {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        r.send_response(200)?;
        r.end_headers()?;
        let message = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_string();
        r.wfile.write_all(message.as_bytes())?;
        r.wfile.write_all(b"\n")?;
        Ok(())
    }
}

fn main() -> std::io::Result<()> {
    let address = common::address_from_args();
    let server: ThreadingHttpServer<_> = common::bind(&address, Handler1);
    common::run(server)
}
