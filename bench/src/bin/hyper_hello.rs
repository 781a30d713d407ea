//! Peer server: hyper 1.x on a tokio current-thread runtime.
//!
//! `hyper_hello [--pipeline-flush] [--sleep] [HOST:PORT]`: `GET` answers
//! `Hello, World!` (`Content-Type: text/plain`), `POST` echoes the request
//! body (read in full first). With `--sleep` (the hostile-clients benchmark's
//! slow-handler scenario), `GET /sleep` waits 1 s with `tokio::time::sleep`,
//! an asynchronous wait that holds no thread, then answers `Slept 1 s`; the
//! runtime's timer is enabled only then. Prints the same startup line as
//! basehttp's examples.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;

async fn hello(req: Request<Incoming>, sleep: bool) -> Result<Response<Full<Bytes>>, Infallible> {
    if sleep && req.method() == Method::GET && req.uri().path() == "/sleep" {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let mut response = Response::new(Full::new(Bytes::from_static(b"Slept 1 s")));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        return Ok(response);
    }
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
    let mut sleep = false;
    let mut address = "127.0.0.1:8080".to_string();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--pipeline-flush" => pipeline_flush = true,
            "--sleep" => sleep = true,
            a if a.starts_with('-') => {
                eprintln!(
                    "hyper_hello: unknown option {a:?}; usage: hyper_hello [--pipeline-flush] [--sleep] [HOST:PORT]"
                );
                std::process::exit(2);
            }
            a => address = a.to_string(),
        }
    }
    basehttp_bench::raise_open_files_limit();
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_io();
    if sleep {
        builder.enable_time();
    }
    let runtime = builder.build()?;
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
                    .serve_connection(
                        TokioIo::new(stream),
                        service_fn(move |req| hello(req, sleep)),
                    )
                    .await;
            });
        }
    })
}
