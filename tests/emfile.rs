//! Running out of file descriptors (EMFILE) is survived: the server keeps
//! serving the connections it has, backs off, and accepts again once
//! descriptors are free.
//!
//! The server runs in a child process (this test executable started again,
//! playing the server role), whose soft and hard `RLIMIT_NOFILE` the test
//! lowers from outside, so nothing can raise them back.

#[path = "common/process.rs"]
mod process;

use basehttp::{Handler, HandlerResult, PoolHttpServer, Request};
use process::{Exited, Process};
use rustix::process::{Resource, Rlimit, prlimit};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::Duration;

const ROLE: &str = "BASEHTTP_TEST_EMFILE_SERVER";
const TIMEOUT: Duration = Duration::from_secs(10);

struct Hello;

impl Handler for Hello {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        r.send_response(200)?;
        r.end_headers()?;
        r.wfile.write_all(b"hello")?;
        Ok(())
    }

    fn log_request(&self, _: &Request<'_>, _: basehttp::StatusCode, _: Option<u64>) {}
}

/// The server role: a pool server until SIGTERM. Does nothing when run as
/// an ordinary test.
#[test]
fn server_role() {
    if std::env::var_os(ROLE).is_none() {
        return;
    }
    let server = PoolHttpServer::bind("127.0.0.1:0", Hello).expect("bind");
    let (stop, signalled) = UnixStream::pair().expect("socket pair");
    signal_hook::low_level::pipe::register(signal_hook::consts::SIGTERM, signalled)
        .expect("signal");
    println!("port {}", server.local_addr().port().unwrap_or(0));
    server.serve_until(&stop).expect("serve");
}

/// Sends one keep-alive request and reads the 5-byte answer.
fn request(s: &mut TcpStream) -> std::io::Result<()> {
    s.write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")?;
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !got.ends_with(b"hello") {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        got.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect (the listen queue takes it)");
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s
}

#[test]
fn running_out_of_file_descriptors_is_survived() {
    let mut server = Process::spawn(
        Command::new(std::env::current_exe().expect("own path"))
            .args(["server_role", "--exact", "--nocapture", "--test-threads=1"])
            .env(ROLE, "1"),
    );
    // The harness prints "test server_role ... " on the same line.
    let port = server
        .wait_for_stdout(|line| Some(line.split_once("port ")?.1.parse::<u16>().ok()))
        .expect("the server's port line")
        .expect("a port");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    // Leave the server a few descriptors beyond what it has open now.
    let pid = server.pid();
    let open = std::fs::read_dir(format!("/proc/{}/fd", pid.as_raw_nonzero()))
        .expect("list the server's descriptors")
        .count() as u64;
    let limit = open + 8;
    prlimit(
        Some(pid),
        Resource::Nofile,
        Rlimit {
            current: Some(limit),
            maximum: Some(limit),
        },
    )
    .expect("lower the server's RLIMIT_NOFILE");

    // Far more connections than it can accept.
    let mut clients: Vec<TcpStream> = (0..40).map(|_| connect(addr)).collect();
    // The first few are served; the rest wait while accept fails with EMFILE.
    let mut served = 0;
    for c in clients.iter_mut().take(4) {
        request(c).expect("a connection accepted before the limit is served");
        served += 1;
    }
    assert_eq!(served, 4);
    // Free the descriptors: every remaining connection is eventually served.
    clients.drain(..4);
    let mut remaining = clients;
    while !remaining.is_empty() {
        let batch: Vec<TcpStream> = remaining.drain(..remaining.len().min(4)).collect();
        for mut c in batch {
            request(&mut c).expect("served once descriptors are free again");
        }
    }
    let mut fresh = connect(addr);
    request(&mut fresh).expect("a fresh connection is served");

    // The server did hit the limit, and said so.
    let Exited { stderr: log, .. } = server.kill();
    assert!(
        log.contains("accept failed: Too many open files"),
        "no EMFILE in the log:\n{log}"
    );
}
