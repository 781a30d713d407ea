//! ForkingHttpServer, tested across processes.
//!
//! A forking server must run in a single-threaded process, and the test
//! harness runs tests on threads; so this test has no harness: `main` starts
//! this same executable again as the server (the environment variable below
//! says which role to play) and acts as the client.

#[path = "common/process.rs"]
mod process;

use basehttp::{ForkingHttpServer, Handler, HandlerResult, Request};
use process::Process;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::process::{Command, ExitStatus};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const ROLE: &str = "BASEHTTP_TEST_FORKING_SERVER";
const TIMEOUT: Duration = Duration::from_secs(10);

/// `GET /pid` answers the serving process's id; `GET /abort` crashes it.
struct Crashy;

impl Handler for Crashy {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        if r.path == "/abort" {
            std::process::abort();
        }
        r.send_response(200)?;
        r.end_headers()?;
        write!(r.wfile, "{}", std::process::id())?;
        Ok(())
    }

    fn log_request(&self, _: &Request<'_>, _: basehttp::StatusCode, _: Option<u64>) {}
}

/// The server role: serve until SIGTERM, single-threaded; on the Unix
/// socket at PATH if the role's variable is `unix:PATH`.
fn serve() -> std::io::Result<()> {
    let role = std::env::var(ROLE).unwrap_or_default();
    let server = match role.strip_prefix("unix:") {
        Some(path) => ForkingHttpServer::bind_unix(path, Crashy)?,
        None => ForkingHttpServer::bind("127.0.0.1:0", Crashy)?,
    };
    let (stop, signalled) = UnixStream::pair()?;
    signal_hook::low_level::pipe::register(signal_hook::consts::SIGTERM, signalled)?;
    println!("port {}", server.local_addr().port().unwrap_or(0));
    server.serve_until(&stop)
}

/// This executable started again as the server (its startup line is
/// `port PORT`); killed if a check fails.
fn start_server() -> Process {
    Process::start(Command::new(std::env::current_exe().expect("own path")).env(ROLE, "1"))
}

/// SIGTERM, then the exit status (bounded); what the server wrote to
/// standard error is passed on to this process's.
fn terminate(server: &mut Process) -> ExitStatus {
    let exited = server.terminate();
    eprint!("{}", exited.stderr);
    exited.status
}

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

fn each_connection_is_served_by_its_own_process() {
    let mut server = start_server();
    let addr = server.addr();
    let clients: Vec<_> = (0..200)
        .map(|_| {
            thread::spawn(move || {
                let s = get(addr, "/pid").expect("response");
                assert!(s.starts_with("HTTP/1.1 200 OK\r\n"), "{s}");
                body(&s).parse::<u32>().expect("a pid")
            })
        })
        .collect();
    let mut pids: Vec<u32> = clients
        .into_iter()
        .map(|c| c.join().expect("client"))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    assert!(
        pids.len() > 1,
        "all 200 connections were served by one process"
    );
    assert!(
        !pids.contains(&server.id()),
        "the accepting process served a request itself"
    );
    assert!(terminate(&mut server).success());
}

fn a_child_that_aborts_costs_only_its_connection() {
    let mut server = start_server();
    let crashed = get(server.addr(), "/abort").unwrap_or_default();
    assert_eq!(crashed, "", "the crashed child sent nothing");
    let after = get(server.addr(), "/pid").expect("served after the crash");
    assert!(after.starts_with("HTTP/1.1 200 OK\r\n"), "{after}");
    let status = terminate(&mut server);
    assert!(status.success(), "graceful exit after SIGTERM: {status}");
}

/// Over a Unix socket: each connection has a process of its own, the
/// children leave the socket file alone, and the server removes it when it
/// stops.
fn a_unix_socket_is_served_a_process_per_connection() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("forking.sock");
    let mut server = Process::spawn(
        Command::new(std::env::current_exe().expect("own path"))
            .env(ROLE, format!("unix:{}", path.display())),
    );
    // (The startup line says the socket listens: `port 0` for a Unix one.)
    let line = server.wait_for_stdout(|l| Some(l.to_owned()));
    assert_eq!(line.as_deref(), Some("port 0"));
    let mut pids = Vec::new();
    for _ in 0..5 {
        let mut s = UnixStream::connect(&path).expect("connect");
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        s.write_all(b"GET /pid HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        pids.push(body(&response).parse::<u32>().expect("a pid"));
    }
    assert!(!pids.contains(&server.id()), "the accepting process served");
    assert!(path.exists(), "a child removed the socket file");
    assert!(terminate(&mut server).success());
    assert!(!path.exists(), "the socket file outlived the server");
}

fn serving_from_a_multithreaded_process_is_refused() {
    let server = ForkingHttpServer::bind("127.0.0.1:0", Crashy).expect("bind");
    let (tx, rx) = mpsc::channel::<()>();
    let other = thread::spawn(move || rx.recv());
    let err = server
        .serve_forever()
        .expect_err("refused with another thread running");
    assert!(err.to_string().contains("single-threaded"), "{err}");
    drop(tx);
    let _ = other.join();
}

/// One request on its own connection; the whole response, or what came
/// before the connection closed.
fn get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(TIMEOUT))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    s.read_to_string(&mut response)?;
    Ok(response)
}

fn main() {
    if std::env::var_os(ROLE).is_some() {
        if let Err(e) = serve() {
            eprintln!("forking server: {e}");
            std::process::exit(1);
        }
        return;
    }
    let tests: [(&str, fn()); 4] = [
        (
            "each_connection_is_served_by_its_own_process",
            each_connection_is_served_by_its_own_process,
        ),
        (
            "a_child_that_aborts_costs_only_its_connection",
            a_child_that_aborts_costs_only_its_connection,
        ),
        (
            "a_unix_socket_is_served_a_process_per_connection",
            a_unix_socket_is_served_a_process_per_connection,
        ),
        (
            "serving_from_a_multithreaded_process_is_refused",
            serving_from_a_multithreaded_process_is_refused,
        ),
    ];
    for (name, test) in tests {
        test();
        println!("test {name} ... ok");
    }
    println!("test result: ok. {} passed", tests.len());
}
