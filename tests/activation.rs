//! systemd's socket activation (`LISTEN_PID`, `LISTEN_FDS`, descriptors
//! from 3): the binary and `Server::from_listen_fds` serve sockets a
//! launcher made, as systemd passes them to a `.socket` unit's service.
//!
//! The launcher here is the test: it makes the sockets, places them at
//! descriptors 3 onwards in the child (`dup2` between fork and exec), and
//! starts `/bin/sh -c 'LISTEN_PID=$$ LISTEN_FDS=N exec PROGRAM ...'`, so
//! that `LISTEN_PID` is the shell's PID, which `exec` keeps for PROGRAM.

mod common;
#[path = "common/process.rs"]
mod process;

use common::Client;
use process::{Process, basehttp, parse_startup_line, run_to_exit};
use rustix::process::Signal;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// The environment variable that starts this test executable in the role
/// of a library user calling `from_listen_fds`.
const ROLE: &str = "BASEHTTP_ACTIVATION_ROLE";

/// `program args` started as systemd starts a socket-activated service:
/// `sockets` at descriptors 3, 4, … and the variables that say so.
fn activated(program: &Path, sockets: &[&dyn AsFd], args: &[&str]) -> Command {
    // Copies well above 3, so that placing one never overwrites another.
    let copies: Vec<OwnedFd> = sockets
        .iter()
        .map(|s| rustix::io::fcntl_dupfd_cloexec(s.as_fd(), 100).expect("dup"))
        .collect();
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(format!(
            "LISTEN_PID=$$ LISTEN_FDS={} exec \"$0\" \"$@\"",
            sockets.len()
        ))
        .arg(program)
        .args(args);
    // SAFETY: the closure runs in the child between fork and exec, where
    // only async-signal-safe calls are allowed: it makes dup2(2) calls only
    // (no allocation, no lock). `copies` moves into it and lives as long as
    // the command, so the descriptors it names stay open until the spawn.
    unsafe {
        command.pre_exec(move || {
            for (i, fd) in copies.iter().enumerate() {
                // dup2 clears close-on-exec on the new descriptor.
                if libc::dup2(fd.as_raw_fd(), 3 + i as i32) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    command
}

fn basehttp_path() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_basehttp"))
}

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("hello.txt"), "Hello, World!").unwrap();
    dir
}

fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").expect("bind")
}

fn startup_line_of(addr: SocketAddr) -> String {
    let port = addr.port();
    format!("Serving HTTP on 127.0.0.1 port {port} (http://127.0.0.1:{port}/) ...")
}

#[test]
fn the_binary_serves_an_inherited_socket() {
    let dir = site();
    let socket = listener();
    let addr = socket.local_addr().unwrap();
    let mut server =
        Process::start(activated(basehttp_path(), &[&socket], &[]).current_dir(dir.path()));
    // The launcher's copy closes: only the server holds the socket now.
    drop(socket);
    assert_eq!(server.line, startup_line_of(addr));
    let mut c = Client::connect(addr);
    assert_eq!(c.get("/hello.txt").text(), "Hello, World!");
    let exited = server.stop(Signal::TERM);
    assert_eq!(exited.status.code(), Some(0), "{exited:?}");
    assert!(exited.stdout.is_empty(), "{exited:?}");
}

#[test]
fn the_binary_serves_every_inherited_socket_with_a_line_each() {
    let dir = site();
    let (first, second) = (listener(), listener());
    let addrs = [first.local_addr().unwrap(), second.local_addr().unwrap()];
    let mut server = Process::start(
        activated(basehttp_path(), &[&first, &second], &["-d", "."]).current_dir(dir.path()),
    );
    drop((first, second));
    assert_eq!(server.line, startup_line_of(addrs[0]));
    let line = server.wait_for_stdout(|l| Some(l.to_owned()));
    assert_eq!(line, Some(startup_line_of(addrs[1])));
    assert!(parse_startup_line(&startup_line_of(addrs[1])).is_some());
    for addr in addrs {
        let mut c = Client::connect(addr);
        assert_eq!(c.get("/hello.txt").text(), "Hello, World!", "{addr}");
    }
    let exited = server.terminate();
    assert_eq!(exited.status.code(), Some(0), "{exited:?}");
}

#[test]
fn bind_or_port_with_activation_exits_2() {
    let dir = site();
    let socket = listener();
    for args in [
        &["-b", "127.0.0.1"][..],
        &["8000"],
        &["-b", "127.0.0.1", "0"],
    ] {
        let exited =
            run_to_exit(activated(basehttp_path(), &[&socket], args).current_dir(dir.path()));
        assert_eq!(exited.status.code(), Some(2), "{args:?}: {exited:?}");
        assert_eq!(exited.stderr.lines().count(), 1, "{args:?}: {exited:?}");
        assert!(exited.stderr.contains("socket activation"), "{exited:?}");
        assert!(exited.stdout.is_empty(), "{exited:?}");
    }
}

#[test]
fn the_binary_refuses_a_socket_that_does_not_listen() {
    let dir = site();
    // Bound, never listening.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let exited = run_to_exit(activated(basehttp_path(), &[&socket], &[]).current_dir(dir.path()));
    assert_eq!(exited.status.code(), Some(2), "{exited:?}");
    assert!(exited.stderr.contains("descriptor 3"), "{exited:?}");
    assert!(exited.stderr.contains("not listening"), "{exited:?}");
}

#[test]
fn activation_meant_for_another_process_is_ignored() {
    let dir = site();
    let mut server = Process::start(
        basehttp()
            .args(["-b", "127.0.0.1", "0"])
            .env("LISTEN_PID", "1")
            .env("LISTEN_FDS", "1")
            .current_dir(dir.path()),
    );
    assert_eq!(Client::connect(server.addr()).get("/hello.txt").status, 200);
    assert_eq!(server.terminate().status.code(), Some(0));
}

/// Runs this test executable again, in the role of [`library_role`], with
/// `socket` at descriptor 3; returns its standard output.
fn library_user(socket: &dyn AsFd) -> String {
    let exe = std::env::current_exe().expect("current_exe");
    let mut command = activated(&exe, &[socket], &["library_role", "--exact", "--nocapture"]);
    let exited = run_to_exit(command.env(ROLE, "1"));
    assert!(exited.status.success(), "{exited:?}");
    exited.stdout
}

/// The library user (when [`ROLE`] is set): prints what `from_listen_fds`
/// returns, the first time and the second.
#[test]
fn library_role() {
    if std::env::var_os(ROLE).is_none() {
        return;
    }
    for call in ["first", "second"] {
        let handler = basehttp::handler_fn(|r| Ok(r.send_error(404)?));
        let config = basehttp::ServerConfig::default();
        let server = basehttp::HttpServer::from_listen_fds(handler, config);
        match server {
            Ok(server) => println!("{call}: serving on {:?}", server.local_addrs()),
            Err(e) => println!("{call}: {:?}: {e}", e.kind()),
        }
    }
}

#[test]
fn from_listen_fds_refuses_a_socket_that_does_not_listen() {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let out = library_user(&socket);
    assert!(
        out.contains("first: InvalidInput: descriptor 3 (LISTEN_FDS): not listening"),
        "{out}"
    );
    // The variables were read once: a second call finds no sockets.
    assert!(out.contains("second: NotFound"), "{out}");
}

#[test]
fn from_listen_fds_refuses_a_datagram_socket() {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let out = library_user(&socket);
    assert!(
        out.contains("first: InvalidInput: descriptor 3 (LISTEN_FDS): not a stream socket"),
        "{out}"
    );
}

#[test]
fn from_listen_fds_serves_a_listening_socket() {
    let socket = listener();
    let addr = socket.local_addr().unwrap();
    let out = library_user(&socket);
    assert!(
        out.contains(&format!("first: serving on [{addr}]")),
        "{out}"
    );
    assert!(out.contains("second: NotFound"), "{out}");
}

#[test]
fn the_binary_serves_under_systemd_socket_activate() {
    let Ok(launcher) = which("systemd-socket-activate") else {
        eprintln!("skipped: systemd-socket-activate is not installed (Debian's systemd package)");
        return;
    };
    let dir = site();
    // A free port, released for the launcher to bind (it binds at once).
    let port = listener().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    let mut server = Process::spawn(
        Command::new(launcher)
            .args(["-l", &address])
            .arg(basehttp_path())
            .current_dir(dir.path()),
    );
    // It execs basehttp (same PID) at the first connection.
    let mut client = None;
    common::eventually("the launcher listens", process::TIMEOUT, || {
        client = std::net::TcpStream::connect(&address).ok();
        client.is_some()
    });
    let mut client = Client::from_stream(client.expect("connected"));
    assert_eq!(client.get("/hello.txt").text(), "Hello, World!");
    let line = server.wait_for_stdout(|l| l.starts_with("Serving").then(|| l.to_owned()));
    let addr: SocketAddr = address.parse().unwrap();
    assert_eq!(line, Some(startup_line_of(addr)));
    let exited = server.terminate();
    assert_eq!(exited.status.code(), Some(0), "{exited:?}");
}

/// The path of `program` on `PATH`.
fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    let path = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .ok_or(())
}

#[test]
fn the_readme_unit_files_pass_systemd_analyze_verify() {
    let Ok(analyze) = which("systemd-analyze") else {
        eprintln!("skipped: systemd-analyze is not installed (Debian's systemd package)");
        return;
    };
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let block = readme
        .split("```ini\n")
        .skip(1)
        .filter_map(|b| b.split_once("```").map(|(b, _)| b))
        .find(|b| b.starts_with("# basehttp.socket"))
        .expect("the README's .socket and .service units");
    let (socket, service) = block
        .split_once("# basehttp.service")
        .expect("a .service after the .socket");
    let dir = tempfile::tempdir().unwrap();
    let service = service.replace(
        "/usr/local/bin/basehttp",
        &basehttp_path().to_string_lossy(),
    );
    std::fs::write(dir.path().join("basehttp.socket"), socket).unwrap();
    std::fs::write(dir.path().join("basehttp.service"), service).unwrap();
    let exited = run_to_exit(
        Command::new(analyze)
            .args([
                "verify",
                "--man=no",
                "./basehttp.socket",
                "./basehttp.service",
            ])
            .current_dir(dir.path()),
    );
    assert!(exited.status.success(), "{exited:?}");
    assert!(exited.stderr.is_empty(), "{exited:?}");
}

/// A server of concurrency `C` made with two listeners serves both.
fn every_listener_serves<C: basehttp::server::Concurrency>() {
    let listeners = vec![listener(), listener()];
    let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
    let handler = basehttp::handler_fn(|r| {
        r.send_response(200)?;
        r.send_header("Content-Length", 2)?;
        r.end_headers()?;
        std::io::Write::write_all(&mut r.wfile, b"ok")?;
        Ok(())
    });
    let server = basehttp::Server::<_, C>::from_listeners(listeners, handler, common::config())
        .expect("a server");
    let server = common::TestServer::run(server);
    assert_eq!(server.addrs(), addrs);
    assert_eq!(server.addr(), addrs[0]);
    for &addr in &addrs {
        // Twice each, so that the second listener is served after the first.
        for _ in 0..2 {
            assert_eq!(Client::connect(addr).get("/").text(), "ok", "{addr}");
        }
    }
    server.stop().expect("serve_forever");
}

#[test]
fn every_listener_of_a_pool_serves() {
    every_listener_serves::<basehttp::server::Pool>();
}

#[test]
fn every_listener_of_a_sequential_server_serves() {
    every_listener_serves::<basehttp::server::Sequential>();
}

#[test]
fn every_listener_of_a_threading_server_serves() {
    every_listener_serves::<basehttp::server::Threading>();
}

#[test]
fn a_server_needs_a_listener() {
    let handler = basehttp::handler_fn(|r| Ok(r.send_error(404)?));
    let server = basehttp::HttpServer::from_listeners(
        Vec::<basehttp::Listener>::new(),
        handler,
        common::config(),
    );
    assert_eq!(
        server.err().map(|e| e.kind()),
        Some(std::io::ErrorKind::InvalidInput)
    );
}

#[test]
fn from_listen_fds_serves_a_unix_socket() {
    let sockets = tempfile::tempdir().unwrap();
    let path = sockets.path().join("activated.sock");
    let socket = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let out = library_user(&socket);
    assert!(
        out.contains(&format!("first: serving on [unix:{}]", path.display())),
        "{out}"
    );
    // systemd's socket: the server leaves its file.
    assert!(path.exists());
}

/// The binary serves a Unix socket systemd made, says so in INTERFACE.md's
/// words, and leaves its file at exit: it is systemd's.
#[test]
fn the_binary_serves_an_inherited_unix_socket_and_leaves_its_file() {
    let dir = site();
    let sockets = tempfile::tempdir().unwrap();
    let path = sockets.path().join("activated.sock");
    let socket = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let mut server =
        Process::spawn(activated(basehttp_path(), &[&socket], &["-q"]).current_dir(dir.path()));
    drop(socket);
    let line = server.wait_for_stdout(|l| Some(l.to_owned()));
    assert_eq!(
        line,
        Some(format!("Serving HTTP on unix:{} ...", path.display()))
    );
    let mut c = Client::connect_unix(&path);
    assert_eq!(c.get("/hello.txt").text(), "Hello, World!");
    drop(c);
    let exited = server.terminate();
    assert_eq!(exited.status.code(), Some(0), "{exited:?}");
    assert!(path.exists(), "the binary removed systemd's socket file");
}

/// systemd's Unix socket stays systemd's across a restart: the new copy
/// that inherits it by `SIGUSR2` serves it, and neither process removes
/// its file.
#[test]
fn a_restart_does_not_make_systemd_s_unix_socket_file_ours() {
    use std::os::unix::net::UnixDatagram;
    let dir = site();
    let sockets = tempfile::tempdir().unwrap();
    let path = sockets.path().join("activated.sock");
    let notify_path = sockets.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(process::TIMEOUT)).unwrap();
    let notified = || {
        let mut buf = [0u8; 256];
        let n = notify.recv(&mut buf).expect("a notify message");
        let message = String::from_utf8_lossy(&buf[..n]).into_owned();
        message
            .lines()
            .find_map(|l| l.strip_prefix("MAINPID="))
            .and_then(|pid| pid.parse::<i32>().ok())
            .unwrap_or_else(|| panic!("no MAINPID in {message:?}"))
    };
    let socket = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let mut old = Process::spawn(
        activated(basehttp_path(), &[&socket], &["-q"])
            .env("NOTIFY_SOCKET", &notify_path)
            .current_dir(dir.path()),
    );
    drop(socket);
    assert_eq!(notified(), old.id() as i32);
    old.signal(Signal::USR2);
    let new = rustix::process::Pid::from_raw(notified()).expect("a PID");
    assert_ne!(new.as_raw_nonzero().get(), old.id() as i32);
    let new_fd = rustix::process::pidfd_open(new, rustix::process::PidfdFlags::empty())
        .expect("the new copy runs");
    assert_eq!(old.wait_exit().code(), Some(0));
    let mut c = Client::connect_unix(&path);
    assert_eq!(c.get("/hello.txt").text(), "Hello, World!");
    drop(c);
    rustix::process::kill_process(new, Signal::TERM).unwrap();
    let mut fds = [rustix::event::PollFd::new(
        &new_fd,
        rustix::event::PollFlags::IN,
    )];
    let timeout = rustix::event::Timespec::try_from(process::TIMEOUT).unwrap();
    assert_eq!(rustix::event::poll(&mut fds, Some(&timeout)).unwrap(), 1);
    assert!(path.exists(), "systemd's socket file was removed");
}
