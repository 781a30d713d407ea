#![allow(dead_code)] // each example uses a different part

//! What every example shares: the optional `HOST:PORT` argument and the
//! startup line that INTERFACE.md documents.

use basehttp::server::Concurrency;
use basehttp::{Handler, Server};
use signal_hook::consts::{SIGINT, SIGTERM};
use std::io::Write;
use std::os::unix::net::UnixStream;

/// The address the examples listen on without an argument.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:8080";

/// Prints one clear line to standard error and exits with status 2, the
/// convention for bad command-line arguments.
pub fn usage_error(message: &str) -> ! {
    let program = std::env::args().next().unwrap_or_else(|| "example".into());
    eprintln!("{program}: {message}");
    std::process::exit(2)
}

/// Parses a `HOST:PORT` argument (port 0 asks for a free port).
pub fn parse_address(arg: &str) -> String {
    match arg.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => arg.to_string(),
        _ => usage_error(&format!(
            "invalid address {arg:?}: expected HOST:PORT, e.g. {DEFAULT_ADDRESS}"
        )),
    }
}

/// The address from the command line: one optional `HOST:PORT` argument.
pub fn address_from_args() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => DEFAULT_ADDRESS.to_string(),
        [a] if a.starts_with('-') => {
            usage_error(&format!("unknown option {a:?}; usage: [HOST:PORT]"))
        }
        [a] => parse_address(a),
        _ => usage_error("too many arguments; usage: [HOST:PORT]"),
    }
}

/// Prints the startup line with the real address, and flushes it so that a
/// parent process reading our output sees it at once.
pub fn announce(addr: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Starting server on http://{addr}, use <Ctrl-C> to stop"
    );
    let _ = out.flush();
}

/// Binds a server of any kind, or reports the failure (say, the port is
/// taken) in one line and exits with 2.
pub fn bind<H: Handler, C: Concurrency>(address: &str, handler: H) -> Server<H, C> {
    Server::bind(address, handler)
        .unwrap_or_else(|e| usage_error(&format!("cannot listen on {address}: {e}")))
}

/// Raises the soft limit on open files to the hard limit, so the server can
/// hold as many connections as the system allows. A process-wide setting:
/// the program's job, never the library's.
pub fn raise_open_files_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        let _ = setrlimit(Resource::Nofile, raised);
    }
}

/// Announces the server, serves until Ctrl-C or SIGTERM, then shuts down
/// gracefully: no new connections, requests in flight finish, idle
/// keep-alive connections close; returns `Ok` for exit status 0.
///
/// The signal handlers only write a byte to a socket pair whose other end
/// the server watches, so no thread is needed (a forking server must not
/// have any).
pub fn run<H: Handler, C: Concurrency>(server: Server<H, C>) -> std::io::Result<()> {
    raise_open_files_limit();
    let (stop, signalled) = UnixStream::pair()?;
    for signal in [SIGINT, SIGTERM] {
        signal_hook::low_level::pipe::register(signal, signalled.try_clone()?)?;
    }
    announce(server.local_addr());
    server.serve_until(&stop)
}
