//! Peer server: hyper 1.x on a tokio current-thread runtime.
//!
//! `hyper_hello [--pipeline-flush] [HOST:PORT]`: `GET` answers
//! `Hello, World!` (`Content-Type: text/plain`), `POST` echoes the request
//! body. Prints the same startup line as basehttp's examples.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() == Method::POST {
        let body = match req.into_body().collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => Bytes::new(),
        };
        let mut response = Response::new(Full::new(body));
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        return Ok(response);
    }
    let mut response = Response::new(Full::new(Bytes::from_static(b"Hello, World!")));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(response)
}

fn main() -> std::io::Result<()> {
    let mut pipeline_flush = false;
    let mut address = "127.0.0.1:8080".to_string();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--pipeline-flush" => pipeline_flush = true,
            a if a.starts_with('-') => {
                eprintln!(
                    "hyper_hello: unknown option {a:?}; usage: hyper_hello [--pipeline-flush] [HOST:PORT]"
                );
                std::process::exit(2);
            }
            a => address = a.to_string(),
        }
    }
    basehttp_bench::raise_open_files_limit();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&address).await?;
        basehttp_bench::announce(listener.local_addr()?);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(_) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            tokio::task::spawn(async move {
                let _ = http1::Builder::new()
                    .pipeline_flush(pipeline_flush)
                    .serve_connection(TokioIo::new(stream), service_fn(hello))
                    .await;
            });
        }
    })
}
