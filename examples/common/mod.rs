#![allow(dead_code)] // each example uses a different part

//! What every example shares: the optional `HOST:PORT` argument and the
//! startup line that INTERFACE.md documents.

use std::io::Write;
use std::net::SocketAddr;

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
pub fn announce(addr: SocketAddr) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Starting server on http://{addr}, use <Ctrl-C> to stop"
    );
    let _ = out.flush();
}

/// Reports a failure to start (say, the port is taken) and exits with 2.
pub fn bind_failed(address: &str, e: std::io::Error) -> ! {
    usage_error(&format!("cannot listen on {address}: {e}"))
}
