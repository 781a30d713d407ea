//! Restarts that drop nothing (`SIGUSR2`, INTERFACE.md): the binary starts
//! a new copy of itself that inherits the listening sockets; once the copy
//! serves, the old one finishes its requests in flight and exits 0, and no
//! connection attempt meanwhile is refused or left unanswered. Under
//! systemd, each process reports `MAINPID=` and `READY=1` on
//! `NOTIFY_SOCKET`, which the test listens on (and learns the new PID from).

mod common;
#[path = "common/process.rs"]
mod process;

use process::{Process, TIMEOUT, basehttp};
use rustix::process::{Pid, PidfdFlags, Signal, kill_process, pidfd_open};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

/// Kills the new copy (by its PID; a process the test started, through the
/// binary) if the test ends early, so that a failure leaves nothing running.
/// Disarmed once the copy has exited (its PID may then be another's).
struct KillOnDrop(Option<Pid>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = kill_process(pid, Signal::KILL);
        }
    }
}

/// The size of the download kept in flight across the restart.
const BIG: usize = 32 << 20;

/// The PID in a notify message `MAINPID=PID\nREADY=1\n`.
fn notified_pid(socket: &UnixDatagram) -> u32 {
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).expect("a notify message");
    let message = std::str::from_utf8(&buf[..n]).expect("UTF-8");
    let pid = message
        .lines()
        .find_map(|l| l.strip_prefix("MAINPID="))
        .unwrap_or_else(|| panic!("no MAINPID in {message:?}"));
    assert!(message.lines().any(|l| l == "READY=1"), "{message:?}");
    pid.parse().expect("a PID")
}

/// One request on a new connection: whether it was answered in full.
fn one_request(addr: SocketAddr) -> Result<(), String> {
    request_on(TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?)
}

/// `GET /hello.txt` on the new connection `s`: whether it was answered in
/// full.
fn request_on(mut s: impl Read + Write) -> Result<(), String> {
    s.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)
        .map_err(|e| format!("read: {e}"))?;
    let answer = String::from_utf8_lossy(&answer);
    if answer.starts_with("HTTP/1.1 200 ") && answer.ends_with("Hello, World!") {
        Ok(())
    } else {
        Err(format!("answer: {answer:?}"))
    }
}

/// The binary serving `site` on 127.0.0.1 with `NOTIFY_SOCKET` set to a
/// socket the test reads (kept in the returned directory), after its first
/// notify message, which must name it.
fn start_notified(site: &std::path::Path) -> (Process, UnixDatagram, tempfile::TempDir) {
    let notify_dir = tempfile::tempdir().unwrap();
    let notify_path = notify_dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(TIMEOUT)).unwrap();
    let server = Process::start(
        basehttp()
            .args(["-q", "-b", "127.0.0.1", "0"])
            .env("NOTIFY_SOCKET", &notify_path)
            .current_dir(site),
    );
    assert_eq!(notified_pid(&notify), server.id());
    (server, notify, notify_dir)
}

#[test]
fn sigusr2_hands_the_sockets_to_a_new_copy_and_drops_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "Hello, World!").unwrap();
    std::fs::write(dir.path().join("big"), vec![b'x'; BIG]).unwrap();
    let (mut old, notify, _notify_dir) = start_notified(dir.path());
    let addr = old.addr();

    // An idle keep-alive connection, and a new one that has sent nothing
    // yet (queued before the download's, so accepted by the old process
    // once the download is answered).
    let mut idle = common::Client::connect(addr);
    assert_eq!(idle.get("/hello.txt").status, 200);
    let mut fresh = common::Client::connect(addr);

    // A download in flight across the restart: the head read, the body not.
    let mut download = TcpStream::connect(addr).unwrap();
    download
        .write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 1024];
    let got = download.read(&mut first).unwrap();
    assert!(first[..got].starts_with(b"HTTP/1.1 200 "));

    // New connections all along, until the old process has exited.
    let done = Arc::new(AtomicBool::new(false));
    let prober = {
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let (mut answered, mut failures) = (0, Vec::new());
            while !done.load(Ordering::SeqCst) {
                match one_request(addr) {
                    Ok(()) => answered += 1,
                    Err(e) => failures.push(e),
                }
            }
            (answered, failures)
        })
    };

    old.signal(Signal::USR2);
    // The new copy announces itself on the same standard output.
    let line = old.wait_for_stdout(|l| Some(l.to_owned()));
    assert_eq!(line.as_deref(), Some(old.line.as_str()));
    let new_pid = notified_pid(&notify);
    assert_ne!(new_pid, old.id());
    let new_pid = Pid::from_raw(new_pid as i32).expect("a PID");
    let new = pidfd_open(new_pid, PidfdFlags::empty()).expect("the new copy runs");
    let mut stop_new_copy = KillOnDrop(Some(new_pid));

    // The old process drains: the idle connection is closed between
    // requests (end of file, no reset), and the new one gets its request
    // answered, with `Connection: close`.
    assert_eq!(idle.read_to_end().expect("a clean close"), b"");
    let answer = fresh.get("/hello.txt");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("Connection"), Some("close"));

    // The download in flight completes, then the old process exits 0.
    let mut rest = Vec::new();
    download.read_to_end(&mut rest).unwrap();
    let mut response = first[..got].to_vec();
    response.extend_from_slice(&rest);
    let body_at = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    assert_eq!(response.len() - body_at, BIG);
    let status = old.wait_exit();
    assert_eq!(status.code(), Some(0));
    done.store(true, Ordering::SeqCst);
    let (answered, failures) = prober.join().unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    assert!(answered > 0);

    // The new copy serves, alone now, and stops as usual.
    assert_eq!(one_request(addr), Ok(()));
    kill_process(new_pid, Signal::TERM).unwrap();
    wait_gone(&new);
    stop_new_copy.0 = None;
}

/// Starts a copy of the binary, then replaces it on disk by a shell
/// script `script` (a restart starts the file now at the binary's path, as
/// for an upgrade); SIGUSR2; checks that the old process logs one line
/// saying the restart failed, goes on serving, and stops as usual.
fn restart_into(script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "Hello, World!").unwrap();
    let bin = tempfile::tempdir().unwrap();
    let exe = bin.path().join("basehttp");
    std::fs::copy(env!("CARGO_BIN_EXE_basehttp"), &exe).unwrap();
    let mut old = Process::start(
        std::process::Command::new(&exe)
            .args(["-b", "127.0.0.1", "0"])
            .current_dir(dir.path()),
    );
    let replacement = bin.path().join("replacement");
    std::fs::write(&replacement, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&replacement, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&replacement, &exe).unwrap();

    old.signal(Signal::USR2);
    let line = old.wait_for_log("restart failed", TIMEOUT);
    assert!(line.contains("still serving"), "{line}");
    assert_eq!(one_request(old.addr()), Ok(()));
    let exited = old.terminate();
    assert_eq!(exited.status.code(), Some(0), "{exited:?}");
    assert!(exited.stdout.is_empty(), "{exited:?}");
    let failures = exited
        .stderr
        .lines()
        .filter(|l| l.contains("restart failed"))
        .count();
    assert_eq!(failures, 1, "{exited:?}");
}

#[test]
fn a_new_copy_that_fails_leaves_the_old_one_serving() {
    restart_into("exit 1");
}

/// Takes the 10 seconds the new copy is given.
#[test]
fn a_new_copy_never_ready_is_killed_and_the_old_one_serves_on() {
    // (Killed by the old process, by its PID, after 10 s.)
    restart_into("exec sleep 60");
}

/// Waits (bounded) for the process of `pidfd`, not a child of the test,
/// to exit.
fn wait_gone(pidfd: &std::os::fd::OwnedFd) {
    let mut fds = [rustix::event::PollFd::new(
        pidfd,
        rustix::event::PollFlags::IN,
    )];
    let timeout = rustix::event::Timespec::try_from(TIMEOUT).unwrap();
    let ready = rustix::event::poll(&mut fds, Some(&timeout)).unwrap();
    assert_eq!(ready, 1, "the process did not exit");
}

#[test]
fn a_restarted_copy_restarts_again() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "Hello, World!").unwrap();
    let (mut first, notify, _notify_dir) = start_notified(dir.path());
    let addr = first.addr();
    let mut current = Pid::from_raw(first.id() as i32).expect("a PID");
    let mut guard = KillOnDrop(None);
    for round in 0..3 {
        let pidfd = pidfd_open(current, PidfdFlags::empty()).expect("running");
        kill_process(current, Signal::USR2).unwrap();
        let line = first.wait_for_stdout(|l| Some(l.to_owned()));
        assert_eq!(line.as_deref(), Some(first.line.as_str()), "round {round}");
        let next = Pid::from_raw(notified_pid(&notify) as i32).expect("a PID");
        assert_ne!(next, current);
        guard.0 = Some(next);
        if round == 0 {
            assert_eq!(first.wait_exit().code(), Some(0));
        } else {
            wait_gone(&pidfd);
        }
        current = next;
        assert_eq!(one_request(addr), Ok(()), "round {round}");
    }
    let pidfd = pidfd_open(current, PidfdFlags::empty()).expect("running");
    kill_process(current, Signal::TERM).unwrap();
    wait_gone(&pidfd);
    guard.0 = None;
}

/// After a restart on the Unix socket at `path` whose old process is gone:
/// the file is still there and the new copy (`new`, killed by `stop` if
/// this fails) serves on it; stopped with SIGTERM, the new copy removes it.
fn the_new_copy_owns_the_socket_file(
    path: &std::path::Path,
    new: &std::os::fd::OwnedFd,
    stop: &mut KillOnDrop,
) {
    assert!(
        path.exists(),
        "the old process removed the socket file it handed on"
    );
    assert_eq!(one_unix_request(path), Ok(()));
    let new_pid = stop.0.expect("the new copy");
    kill_process(new_pid, Signal::TERM).unwrap();
    wait_gone(new);
    stop.0 = None;
    assert!(!path.exists(), "the new copy left the socket file behind");
}

/// One request on a new connection to the Unix socket at `path`: whether
/// it was answered in full.
fn one_unix_request(path: &std::path::Path) -> Result<(), String> {
    request_on(UnixStream::connect(path).map_err(|e| format!("connect: {e}"))?)
}

/// A restart on a Unix socket: nothing is dropped, the old process leaves
/// the socket file to the new copy, which serves on it and removes it when
/// it stops.
#[test]
fn sigusr2_on_a_unix_socket_hands_its_file_to_the_new_copy() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "Hello, World!").unwrap();
    let sockets = tempfile::tempdir().unwrap();
    let path = sockets.path().join("basehttp.sock");
    let notify_dir = tempfile::tempdir().unwrap();
    let notify_path = notify_dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut old = Process::spawn(
        basehttp()
            .arg("-q")
            .arg("-b")
            .arg(format!("unix:{}", path.display()))
            .env("NOTIFY_SOCKET", &notify_path)
            .current_dir(dir.path()),
    );
    let line = format!("Serving HTTP on unix:{} ...", path.display());
    assert_eq!(
        old.wait_for_stdout(|l| Some(l.to_owned())),
        Some(line.clone())
    );
    assert_eq!(notified_pid(&notify), old.id());

    // New connections all along, until the old process has exited.
    let done = Arc::new(AtomicBool::new(false));
    let prober = {
        let (done, path) = (Arc::clone(&done), path.clone());
        thread::spawn(move || {
            let (mut answered, mut failures) = (0, Vec::new());
            while !done.load(Ordering::SeqCst) {
                match one_unix_request(&path) {
                    Ok(()) => answered += 1,
                    Err(e) => failures.push(e),
                }
            }
            (answered, failures)
        })
    };

    old.signal(Signal::USR2);
    assert_eq!(old.wait_for_stdout(|l| Some(l.to_owned())), Some(line));
    let new_pid = notified_pid(&notify);
    assert_ne!(new_pid, old.id());
    let new_pid = Pid::from_raw(new_pid as i32).expect("a PID");
    let new = pidfd_open(new_pid, PidfdFlags::empty()).expect("the new copy runs");
    let mut stop_new_copy = KillOnDrop(Some(new_pid));
    // (Its outputs stay open: the new copy shares them.)
    assert_eq!(old.wait_exit().code(), Some(0));
    done.store(true, Ordering::SeqCst);
    let (answered, failures) = prober.join().unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    assert!(answered > 0);

    the_new_copy_owns_the_socket_file(&path, &new, &mut stop_new_copy);
}

/// nginx's habit: `SIGUSR2`, then stop the old process at once (here with
/// SIGTERM) while the new copy is still starting. The old one still hands
/// the socket over once the copy is ready, and leaves it the socket file.
/// The new copy is held at its start (the binary on disk replaced by a
/// script that waits for the test's word) so that SIGTERM comes first.
#[test]
fn stopping_the_old_process_during_a_restart_leaves_the_new_copy_its_socket_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "Hello, World!").unwrap();
    let sockets = tempfile::tempdir().unwrap();
    let path = sockets.path().join("basehttp.sock");
    let bin = tempfile::tempdir().unwrap();
    let exe = bin.path().join("basehttp");
    std::fs::copy(env!("CARGO_BIN_EXE_basehttp"), &exe).unwrap();
    let mut old = Process::spawn(
        std::process::Command::new(&exe)
            .arg("-q")
            .arg("-b")
            .arg(format!("unix:{}", path.display()))
            .current_dir(dir.path()),
    );
    let line = format!("Serving HTTP on unix:{} ...", path.display());
    assert_eq!(
        old.wait_for_stdout(|l| Some(l.to_owned())),
        Some(line.clone())
    );
    // The next start: says its PID, waits for `go`, then runs the binary
    // (same PID, so LISTEN_PID still names it).
    let started = bin.path().join("started");
    let go = bin.path().join("go");
    let script = format!(
        "#!/bin/sh\necho $$ > '{started}.tmp' && mv '{started}.tmp' '{started}'\n\
         while [ ! -e '{go}' ]; do sleep 0.01; done\nexec '{real}' \"$@\"\n",
        started = started.display(),
        go = go.display(),
        real = env!("CARGO_BIN_EXE_basehttp"),
    );
    let replacement = bin.path().join("replacement");
    std::fs::write(&replacement, script).unwrap();
    std::fs::set_permissions(&replacement, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&replacement, &exe).unwrap();

    old.signal(Signal::USR2);
    common::eventually("the new copy starts", TIMEOUT, || started.exists());
    let new_pid: i32 = std::fs::read_to_string(&started)
        .unwrap()
        .trim()
        .parse()
        .expect("a PID");
    let new_pid = Pid::from_raw(new_pid).expect("a PID");
    let new = pidfd_open(new_pid, PidfdFlags::empty()).expect("the new copy runs");
    let mut stop_new_copy = KillOnDrop(Some(new_pid));
    old.signal(Signal::TERM);
    std::fs::write(&go, "").unwrap();
    assert_eq!(old.wait_for_stdout(|l| Some(l.to_owned())), Some(line));
    assert_eq!(old.wait_exit().code(), Some(0));

    the_new_copy_owns_the_socket_file(&path, &new, &mut stop_new_copy);
}
