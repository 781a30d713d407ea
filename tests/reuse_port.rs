//! `SO_REUSEPORT` (`ServerConfig::reuse_port`, `--reuse-port`): two servers
//! listen on one port, and the kernel gives connections to both.

mod common;
#[path = "common/process.rs"]
mod process;

use basehttp::server::Sequential;
use basehttp::{HttpServer, ServerConfig, handler_fn};
use common::{Client, TestServer};
use std::io::{ErrorKind, Write};

fn reusing() -> ServerConfig {
    ServerConfig {
        reuse_port: true,
        ..common::config()
    }
}

/// A handler that answers every request with `name`.
fn named(name: &'static str) -> impl basehttp::Handler {
    handler_fn(move |r| {
        r.send_response(200)?;
        r.send_header("Content-Length", name.len())?;
        r.end_headers()?;
        r.wfile.write_all(name.as_bytes())?;
        Ok(())
    })
}

#[test]
fn two_servers_bind_one_port_and_both_serve() {
    let first = TestServer::<_, Sequential>::start(named("first"), reusing());
    let addr = first.addr();
    let second =
        TestServer::<_, Sequential>::start_on(&addr.to_string(), named("second"), reusing());
    assert_eq!(second.addr(), addr);
    // Without the option, the port is taken.
    let taken = HttpServer::bind_with_config(addr, named("third"), common::config());
    assert_eq!(taken.err().map(|e| e.kind()), Some(ErrorKind::AddrInUse));
    // The kernel spreads connections by a hash of their addresses: among
    // 200 connections, both servers answer some (all to one: 2^-199).
    let (mut seen_first, mut seen_second) = (false, false);
    for _ in 0..200 {
        match Client::connect(addr).get("/").text() {
            "first" => seen_first = true,
            "second" => seen_second = true,
            other => panic!("{other}"),
        }
        if seen_first && seen_second {
            return;
        }
    }
    panic!("first answered: {seen_first}, second answered: {seen_second}");
}

#[test]
fn the_binary_shares_its_port_with_reuse_port_only() {
    let dir = tempfile::tempdir().unwrap();
    let start = |port: &str| {
        process::Process::start(
            process::basehttp()
                .args(["--reuse-port", "-b", "127.0.0.1", port])
                .current_dir(dir.path()),
        )
    };
    let mut first = start("0");
    let port = first.addr().port().to_string();
    let mut second = start(&port);
    assert_eq!(second.addr(), first.addr());
    let without = process::run_to_exit(
        process::basehttp()
            .args(["-b", "127.0.0.1", &port])
            .current_dir(dir.path()),
    );
    assert_eq!(without.status.code(), Some(2), "{without:?}");
    assert!(without.stderr.contains("cannot listen"), "{without:?}");
    // Both serve: among 64 connections, each process logs some (all to
    // one: 2^-63).
    for n in 0..64 {
        let mut c = Client::connect(first.addr());
        assert_eq!(c.get(&format!("/?n={n}")).status, 200);
    }
    for server in [&mut first, &mut second] {
        let exited = server.terminate();
        assert_eq!(exited.status.code(), Some(0), "{exited:?}");
        assert!(exited.stderr.contains("\"GET /?n="), "{exited:?}");
    }
}
