//! The seed's `BaseHTTPServer_GET.py`: report what the server knows about a
//! request. `cargo run --example get [-- HOST:PORT]`
//!
//! ```text
//! $ curl -i 'http://127.0.0.1:8080/?foo=bar'
//! ```

mod common;

use basehttp::{Handler, HandlerResult, HttpServer, Request};
use std::io::Write;

struct GetHandler;

impl Handler for GetHandler {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        // urlparse: the path and the query, without any fragment.
        let target = r.path.split('#').next().unwrap_or("");
        let (real_path, query) = target.split_once('?').unwrap_or((target, ""));
        let message = [
            "CLIENT VALUES:".to_string(),
            format!(
                "client_address={} ({})",
                r.client_address,
                r.address_string()
            ),
            format!("command={}", r.command),
            format!("path={}", r.path),
            format!("real path={real_path}"),
            format!("query={query}"),
            format!("request_version={}", r.request_version),
            String::new(),
            "SERVER VALUES:".to_string(),
            format!("server_version={}", r.server_version()),
            format!("sys_version={}", r.sys_version()),
            format!("protocol_version={:?}", r.protocol_version()),
            String::new(),
        ]
        .join("\n");
        r.send_response(200)?;
        r.end_headers()?;
        r.wfile.write_all(message.as_bytes())?;
        Ok(())
    }
}

fn main() -> std::io::Result<()> {
    let address = common::address_from_args();
    let server: HttpServer<_> = common::bind(&address, GetHandler);
    common::run(server)
}
