//! The seed's error handler: every `GET` gets the default 404 page.
//! `cargo run --example errors [-- HOST:PORT]`
//!
//! ```text
//! $ curl -i http://127.0.0.1:8080/
//! HTTP/1.1 404 Not Found
//! ```

mod common;

use basehttp::{Handler, HandlerResult, HttpServer, Request};

struct ErrorHandler;

impl Handler for ErrorHandler {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        r.send_error(404)?;
        Ok(())
    }
}

fn main() -> std::io::Result<()> {
    let address = common::address_from_args();
    let server: HttpServer<_> = common::bind(&address, ErrorHandler);
    common::run(server)
}
