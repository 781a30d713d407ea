//! Peer server: tiny_http, used the way its documentation shows (one loop
//! answering the requests that its connection threads parse).
//!
//! `tiny_http_hello [HOST:PORT]`: `GET` answers `Hello, World!`
//! (`Content-Type: text/plain`), `POST` echoes the request body. Prints the
//! same startup line as basehttp's examples.

use tiny_http::{Header, Method, Response, Server, StatusCode};

fn main() {
    let address = basehttp_bench::address_argument("tiny_http_hello");
    basehttp_bench::raise_open_files_limit();
    let server = Server::http(&address).unwrap_or_else(|e| {
        eprintln!("tiny_http_hello: cannot listen on {address}: {e}");
        std::process::exit(2);
    });
    let addr = server
        .server_addr()
        .to_ip()
        .expect("tiny_http listens on an IP address");
    basehttp_bench::announce(addr);
    let text_plain = Header::from_bytes(&b"Content-Type"[..], &b"text/plain"[..]).unwrap();
    let octets =
        Header::from_bytes(&b"Content-Type"[..], &b"application/octet-stream"[..]).unwrap();
    for mut request in server.incoming_requests() {
        let result = if *request.method() == Method::Post {
            let mut body = Vec::new();
            match request.as_reader().read_to_end(&mut body) {
                Ok(_) => {
                    let len = body.len();
                    request.respond(Response::new(
                        StatusCode(200),
                        vec![octets.clone()],
                        &body[..],
                        Some(len),
                        None,
                    ))
                }
                Err(e) => Err(e),
            }
        } else {
            request.respond(Response::new(
                StatusCode(200),
                vec![text_plain.clone()],
                &b"Hello, World!"[..],
                Some(13),
                None,
            ))
        };
        let _ = result;
    }
}
