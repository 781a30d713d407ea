//! Sockets handed from one process to the next: systemd's socket
//! activation ([`listen_fds`]), and restarts that drop nothing
//! ([`Successor`]: a new copy of the program inherits the listening
//! sockets, says when it serves, and only then does the old one stop).
//!
//! The listening sockets are never closed and bound again: the old and
//! the new process hold the same sockets, so a connection that arrives
//! during the switch waits in the kernel's queue for whichever accepts it.
//!
//! A Unix socket's file is removed by the process that owns it, when it
//! stops: the one that made it ([`Listener::bind_unix`]), and after a
//! restart the new copy, to which [`Successor::start`] hands it on (named
//! by [`SOCKET_FILES_VAR`]); the old process then leaves it. A socket
//! systemd passed is systemd's: nobody here removes its file, however many
//! restarts later.

use crate::net::Listener;
use std::ffi::{CString, OsStr};
use std::io;
use std::net::TcpListener;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// The first descriptor of socket activation: 3, after standard input,
/// output and error (`SD_LISTEN_FDS_START`).
pub const LISTEN_FDS_START: RawFd = 3;

/// The most descriptors [`listen_fds`] takes: a `LISTEN_FDS` above this is
/// an error rather than thousands of failed checks.
pub const MAX_LISTEN_FDS: RawFd = 1024;

/// The variables of socket activation, removed from the environment once
/// read (with [`SOCKET_FILES_VAR`], which goes with them).
const LISTEN_VARIABLES: [&str; 4] = [
    "LISTEN_PID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
    SOCKET_FILES_VAR,
];

/// The variable by which [`Successor::start`] hands on the Unix socket
/// files the old process owned: the inherited descriptors (numbers,
/// separated by commas) whose files the new copy removes when it stops.
/// Never set by systemd, so the file of a socket systemd made is never
/// removed.
pub const SOCKET_FILES_VAR: &str = "BASEHTTP_SOCKET_FILES";

/// The listening sockets passed to this process by systemd's socket
/// activation (`sd_listen_fds(3)`), or by any launcher that speaks its
/// protocol: when `LISTEN_PID` is this process's id and `LISTEN_FDS` is 1
/// or more, descriptors [`LISTEN_FDS_START`] onwards, `LISTEN_FDS` of them.
///
/// An empty list when the variables are absent or name another process
/// (a child that inherited them). Each descriptor must be a listening
/// stream socket, TCP (IPv4 or IPv6) or Unix domain; otherwise the error
/// names it, and none is taken. A Unix socket's file stays when the
/// server stops, unless [`SOCKET_FILES_VAR`] names its descriptor (a
/// restart handed the file on: see [`Listener::socket_file`]). Each is
/// made close-on-exec, and the variables are removed from
/// the environment, so programs this one starts do not see them (only
/// while the process has a single thread: changing the environment is
/// unsafe otherwise, and `LISTEN_PID` already tells a child they are not
/// its own). The sockets are taken once per process: a second call
/// returns an empty list.
pub fn listen_fds() -> io::Result<Vec<Listener>> {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|pid| pid.trim().parse::<u32>().ok())
        .is_some_and(|pid| pid == std::process::id());
    let (true, Ok(count)) = (ours, std::env::var("LISTEN_FDS")) else {
        return Ok(Vec::new());
    };
    let owned_files: Vec<RawFd> = std::env::var(SOCKET_FILES_VAR)
        .unwrap_or_default()
        .split(',')
        .filter_map(|fd| fd.trim().parse().ok())
        .collect();
    crate::sys::unset_env_if_single_threaded(&LISTEN_VARIABLES);
    let n: RawFd = match count.trim().parse() {
        Ok(n) if (0..=MAX_LISTEN_FDS).contains(&n) => n,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("LISTEN_FDS={count:?}: not a number from 0 to {MAX_LISTEN_FDS}"),
            ));
        }
    };
    static TAKEN: AtomicBool = AtomicBool::new(false);
    let fds = crate::sys::take_inherited_fds(
        &TAKEN,
        LISTEN_FDS_START..LISTEN_FDS_START + n,
        check_listening,
    )?;
    fds.into_iter()
        .map(|fd| {
            use std::os::fd::AsRawFd;
            rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)?;
            let number = fd.as_raw_fd();
            let unix =
                rustix::net::sockopt::socket_domain(&fd)? == rustix::net::AddressFamily::UNIX;
            Ok(if unix {
                let listener = Listener::from(std::os::unix::net::UnixListener::from(fd));
                if owned_files.contains(&number) {
                    listener.adopt_socket_file()
                } else {
                    listener
                }
            } else {
                Listener::from(TcpListener::from(fd))
            })
        })
        .collect()
}

/// Accepts descriptor `fd` as an inherited listener only if it is a
/// listening stream socket: TCP, or Unix domain.
fn check_listening(fd: RawFd, socket: BorrowedFd<'_>) -> io::Result<()> {
    use rustix::net::{AddressFamily, SocketType, sockopt};
    let refuse = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("descriptor {fd} (LISTEN_FDS): {what}"),
        )
    };
    let kind = sockopt::socket_type(socket).map_err(|e| refuse(&format!("not a socket: {e}")))?;
    if kind != SocketType::STREAM {
        return Err(refuse("not a stream socket"));
    }
    let family = sockopt::socket_domain(socket).map_err(|e| refuse(&e.to_string()))?;
    if ![
        AddressFamily::INET,
        AddressFamily::INET6,
        AddressFamily::UNIX,
    ]
    .contains(&family)
    {
        return Err(refuse("not an IPv4, IPv6 or Unix domain socket"));
    }
    if !sockopt::socket_acceptconn(socket).map_err(|e| refuse(&e.to_string()))? {
        return Err(refuse("not listening"));
    }
    Ok(())
}

/// The variable that tells a new copy started by [`Successor::start`]
/// which descriptor to write its one "ready" byte to (see
/// [`notify_ready`]). Its presence also says that the process was
/// restarted, not started by systemd.
pub const READY_FD_VAR: &str = "BASEHTTP_READY_FD";

/// How long [`Successor::wait_ready`] waits when asked by the binary: 10
/// seconds (INTERFACE.md).
pub const RESTART_TIMEOUT: Duration = Duration::from_secs(10);

/// A new copy of this program, started by [`Successor::start`] with the
/// listening sockets, that has not yet said it is serving.
#[derive(Debug)]
pub struct Successor {
    pid: rustix::process::Pid,
    /// The read end of the ready pipe: one byte when the copy serves, end
    /// of file if it exits first.
    ready: OwnedFd,
}

impl Successor {
    /// Starts a new copy of this program (the executable of
    /// `/proc/self/exe`, by its path, so that a binary replaced on disk is
    /// the one started; the same arguments and environment) that inherits
    /// `listeners` by socket activation: at descriptors 3 onwards, with
    /// `LISTEN_FDS` and `LISTEN_PID` (its own PID, set between fork and
    /// exec), and a pipe named by [`READY_FD_VAR`] for its ready byte.
    /// The Unix socket files this process owns
    /// ([`Listener::socket_file`]) are handed on with their sockets
    /// ([`SOCKET_FILES_VAR`]): this process leaves them from the moment it
    /// drains ([`Server::drain`](crate::Server::drain)).
    pub fn start(listeners: &[Listener]) -> io::Result<Successor> {
        let program = program_path()?;
        let argv: Vec<CString> = std::env::args_os()
            .map(|a| c_string(&a))
            .collect::<io::Result<_>>()?;
        // A socket pair as the pipe: close-on-exec, no further rustix feature.
        let (ready, ready_writer) = std::os::unix::net::UnixStream::pair()?;
        let ready = OwnedFd::from(ready);
        let mut fds: Vec<BorrowedFd<'_>> = listeners.iter().map(AsFd::as_fd).collect();
        fds.push(ready_writer.as_fd());
        let ready_fd = LISTEN_FDS_START as usize + listeners.len();
        let mut envp = Vec::new();
        for (name, value) in std::env::vars_os() {
            let ours = LISTEN_VARIABLES.iter().chain([&READY_FD_VAR]);
            if !ours.into_iter().any(|v| name == OsStr::new(v)) {
                let mut entry = name.into_encoded_bytes();
                entry.push(b'=');
                entry.extend_from_slice(value.as_bytes());
                envp.push(c_string(OsStr::from_bytes(&entry))?);
            }
        }
        envp.push(c_string(OsStr::new(&format!(
            "LISTEN_FDS={}",
            listeners.len()
        )))?);
        envp.push(c_string(OsStr::new(&format!("{READY_FD_VAR}={ready_fd}")))?);
        let owned: Vec<String> = listeners
            .iter()
            .enumerate()
            .filter(|(_, l)| l.socket_file().is_some())
            .map(|(i, _)| (LISTEN_FDS_START as usize + i).to_string())
            .collect();
        if !owned.is_empty() {
            let entry = format!("{SOCKET_FILES_VAR}={}", owned.join(","));
            envp.push(c_string(OsStr::new(&entry))?);
        }
        let pid = crate::sys::spawn_with_fds(&program, &argv, &envp, "LISTEN_PID", &fds)?;
        Ok(Successor { pid, ready })
    }

    /// The new copy's process id.
    pub fn pid(&self) -> u32 {
        self.pid.as_raw_nonzero().get() as u32
    }

    /// Waits, at most `timeout`, for the new copy to say it serves. On
    /// failure (it exited first, or the time ran out), it is killed and
    /// reaped, and the error says which.
    pub fn wait_ready(self, timeout: Duration) -> io::Result<()> {
        let outcome = self.read_ready(timeout);
        if outcome.is_err() {
            let _ = rustix::process::kill_process(self.pid, rustix::process::Signal::KILL);
            let _ = rustix::process::waitpid(Some(self.pid), rustix::process::WaitOptions::empty());
        }
        outcome
    }

    fn read_ready(&self, timeout: Duration) -> io::Result<()> {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the new copy was not ready within {timeout:?}"),
                ));
            }
            let wait = Timespec::try_from(left).map_err(io::Error::other)?;
            let mut fds = [PollFd::new(&self.ready, PollFlags::IN)];
            match poll(&mut fds, Some(&wait)) {
                Ok(0) | Err(rustix::io::Errno::INTR) => continue,
                Ok(_) => {}
                Err(e) => return Err(e.into()),
            }
            let mut byte = [0u8; 1];
            return match rustix::io::read(&self.ready, &mut byte) {
                Ok(1) => Ok(()),
                Ok(_) => Err(io::Error::other("the new copy exited before it was ready")),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => Err(e.into()),
            };
        }
    }
}

/// The path of this program's executable. When it was replaced on disk
/// since it started (an upgrade), `/proc/self/exe` names the old file with
/// ` (deleted)` after it: the new file at that path is the one to start.
fn program_path() -> io::Result<CString> {
    let exe = std::env::current_exe()?;
    let bytes = exe.as_os_str().as_bytes();
    let path = match bytes.strip_suffix(b" (deleted)") {
        Some(original) if std::path::Path::new(OsStr::from_bytes(original)).is_file() => original,
        _ => bytes,
    };
    c_string(OsStr::from_bytes(path))
}

fn c_string(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes())
        .map_err(|_| io::Error::other("a NUL byte in an argument or variable"))
}

/// Says that this process serves: writes the ready byte of a restart (see
/// [`Successor`]; when [`READY_FD_VAR`] names a descriptor) and, under
/// systemd (`NOTIFY_SOCKET` set: `Type=notify`), sends `MAINPID=` and
/// `READY=1` there, so that systemd follows the new process. Does nothing
/// without either. Call it once the server is made, before serving.
/// From then on, the Unix socket files a restart handed on
/// ([`SOCKET_FILES_VAR`]) are this process's to remove: a new copy that
/// stops before it said so leaves them to the old one, which goes on
/// serving.
pub fn notify_ready() -> io::Result<()> {
    static TAKEN: AtomicBool = AtomicBool::new(false);
    let ready_fd = std::env::var(READY_FD_VAR)
        .ok()
        .and_then(|fd| fd.trim().parse::<RawFd>().ok())
        .filter(|&fd| fd >= LISTEN_FDS_START);
    if let Some(fd) = ready_fd {
        crate::sys::unset_env_if_single_threaded(&[READY_FD_VAR]);
        let taken = crate::sys::take_inherited_fds(&TAKEN, fd..fd + 1, |_, _| Ok(()))?;
        for pipe in taken {
            rustix::io::write(&pipe, b"R")?;
        }
    }
    // The old process drains now: the socket files it handed on are ours.
    crate::net::said_ready();
    if let Some(path) = std::env::var_os("NOTIFY_SOCKET") {
        let message = format!("MAINPID={}\nREADY=1\n", std::process::id());
        send_notify(&path, message.as_bytes())?;
    }
    Ok(())
}

/// Sends one datagram to systemd's notify socket: a path, or an abstract
/// name written with a leading `@`.
fn send_notify(path: &OsStr, message: &[u8]) -> io::Result<()> {
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let socket = UnixDatagram::unbound()?;
    let bytes = path.as_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name)?
        }
        None => SocketAddr::from_pathname(std::path::Path::new(path))?,
    };
    socket.send_to_addr(message, &addr)?;
    Ok(())
}
