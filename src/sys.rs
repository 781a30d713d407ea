//! The crate's only `unsafe` code, each block with its reason, and the
//! small system helpers beside it.

/// Writes all of `line` to standard error with `write(2)` calls on fd 2.
///
/// `std::io::Stderr` takes a process-wide lock per write; log lines are
/// formatted whole beforehand and written in one call, so concurrent workers
/// need no lock (a write of up to `PIPE_BUF` bytes to a pipe is atomic).
pub(crate) fn write_stderr(mut line: &[u8]) {
    while !line.is_empty() {
        // SAFETY: `line` is a live, initialised slice and its length is passed
        // with it; fd 2 is only written, never closed or otherwise owned here.
        let n = unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return; // Logging must never take the server down.
        }
        if n == 0 {
            return;
        }
        line = &line[n as usize..];
    }
}

/// Which side of a `fork` we are on.
pub(crate) enum Forked {
    /// The new process.
    Child,
    /// The original process, with the child's process id.
    Parent(rustix::process::Pid),
}

/// Forks the process. The caller must have checked that the process is
/// single-threaded ([`thread_count`] is 1).
pub(crate) fn fork() -> std::io::Result<Forked> {
    // SAFETY: fork(2) is only unsafe when other threads exist: the child would
    // inherit locks (the allocator's, stdio's) held by threads that do not
    // exist in it. The only caller, the forking server's accept loop, checks
    // that the process has exactly one thread before it starts.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(std::io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => rustix::process::Pid::from_raw(pid)
            .map(Forked::Parent)
            .ok_or_else(|| std::io::Error::other("fork returned an invalid pid")),
    }
}

/// Ends a forked child at once: no destructors, no `atexit` handlers, and no
/// flushing of stdio buffers inherited from the parent (which would print
/// the parent's pending output twice).
pub(crate) fn exit_child(code: i32) -> ! {
    // SAFETY: _exit(2) only ends the process; it touches no memory of ours.
    unsafe { libc::_exit(code) }
}

/// The number of threads of this process, from `/proc/self/status`.
pub(crate) fn thread_count() -> std::io::Result<usize> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| std::io::Error::other("no thread count in /proc/self/status"))
}

/// The time of a system clock such as `CLOCK_REALTIME_COARSE`. (Through
/// libc, which valgrind understands, rather than rustix's own vDSO lookup,
/// which it does not.)
pub(crate) fn clock_time(clock: libc::clockid_t) -> Option<std::time::Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live local that clock_gettime(2) fills in; an invalid
    // clock id only makes the call fail with EINVAL.
    let r = unsafe { libc::clock_gettime(clock, &mut ts) };
    (r == 0).then(|| std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// Locks a mutex, carrying on if a panicking thread poisoned it: every value
/// guarded here stays consistent across a panic.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Takes ownership of descriptors `fds`, which the process
/// that started this one handed over (systemd's socket activation), after
/// `check` has accepted every one of them: if one is not open or `check`
/// refuses it, nothing is taken (nor closed) and the error is returned.
/// Runs once per `taken` flag (a `static` of the caller, one per range, so
/// that no two owners ever close a descriptor); later calls take nothing
/// and return an empty list.
pub(crate) fn take_inherited_fds(
    taken: &std::sync::atomic::AtomicBool,
    fds: std::ops::Range<std::os::fd::RawFd>,
    check: impl Fn(std::os::fd::RawFd, std::os::fd::BorrowedFd<'_>) -> std::io::Result<()>,
) -> std::io::Result<Vec<std::os::fd::OwnedFd>> {
    use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};
    if taken.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return Ok(Vec::new());
    }
    for fd in fds.clone() {
        // SAFETY: fcntl(F_GETFD) only reads the descriptor's flags; for a
        // descriptor that is not open it fails with EBADF, which is checked.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            let e = std::io::Error::last_os_error();
            return Err(std::io::Error::new(
                e.kind(),
                format!("descriptor {fd}: {e}"),
            ));
        }
        // SAFETY: `fd` is open (checked just above), and the borrow lives
        // only for this call of `check`, during which nothing here closes it.
        check(fd, unsafe { BorrowedFd::borrow_raw(fd) })?;
    }
    // SAFETY: every descriptor is open and was checked above; by the
    // socket-activation protocol they were handed to this process for its
    // own use (as sd_listen_fds(3) trusts them to be), and `taken` makes
    // this the only place that ever takes them: each gets one owner.
    Ok(fds.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }).collect())
}

/// Removes `names` from the environment, so that programs this one starts
/// do not see them, if the process has a single thread; returns whether it
/// did. (Changing the environment while another thread might read it is
/// undefined behaviour in C libraries, hence the check.)
pub(crate) fn unset_env_if_single_threaded(names: &[&str]) -> bool {
    if thread_count().ok() != Some(1) {
        return false;
    }
    for name in names {
        // SAFETY: modifying the environment is unsound only while another
        // thread may read it; this process has one thread (checked above),
        // and only this one, busy here, could start another.
        unsafe { std::env::remove_var(name) }
    }
    true
}

/// Starts `program` with `argv` and `envp` (each entry `NAME=VALUE`) plus
/// `pid_var=PID`, its own process id, and with `fds` at descriptors 3, 4,
/// …; returns its process id. Safe to call from a process with threads:
/// between `fork` and `execve` the child makes async-signal-safe calls
/// only (`dup2`, `getpid`, `execve`, `_exit`), and allocates nothing, the
/// `PID` digits being written into a buffer made before the fork.
pub(crate) fn spawn_with_fds(
    program: &std::ffi::CStr,
    argv: &[std::ffi::CString],
    envp: &[std::ffi::CString],
    pid_var: &str,
    fds: &[std::os::fd::BorrowedFd<'_>],
) -> std::io::Result<rustix::process::Pid> {
    use std::os::fd::AsRawFd;
    use std::ptr::null;
    const FIRST: i32 = 3;
    let count =
        i32::try_from(fds.len()).map_err(|_| std::io::Error::other("too many descriptors"))?;
    // Copies above every target, so that placing one never overwrites
    // another (an inherited socket may well be at 3 already). Close-on-exec:
    // they vanish in the new program, and here when this function returns.
    let copies = fds
        .iter()
        .map(|fd| rustix::io::fcntl_dupfd_cloexec(fd, FIRST + count))
        .collect::<Result<Vec<_>, _>>()?;
    let high: Vec<i32> = copies.iter().map(|fd| fd.as_raw_fd()).collect();
    // `pid_var=` and room for the digits of any pid (at most 10) and NUL.
    let mut pid_buf = format!("{pid_var}=").into_bytes();
    let digits_at = pid_buf.len();
    pid_buf.extend_from_slice(&[0; 11]);
    let pid_entry = pid_buf.as_mut_ptr();
    let argv_ptrs: Vec<*const libc::c_char> =
        argv.iter().map(|a| a.as_ptr()).chain([null()]).collect();
    let envp_ptrs: Vec<*const libc::c_char> = envp
        .iter()
        .map(|e| e.as_ptr())
        .chain([pid_entry.cast_const().cast(), null()])
        .collect();
    // (A signal that reaches the child before execve runs the parent's
    // handlers there, which only write to the signal pipe the two share: as
    // if the parent had been signalled. Only a process-group signal, which
    // reaches the parent too, can arrive in that window.)
    // SAFETY: the child of a process with threads may only make
    // async-signal-safe calls before execve: it makes dup2, getpid, execve
    // and _exit calls, reads memory made before the fork, and writes only
    // into `pid_entry`'s buffer, which it owns a copy of. Nothing allocates,
    // takes a lock or returns into Rust code of the parent.
    match unsafe { libc::fork() } {
        -1 => Err(std::io::Error::last_os_error()),
        // SAFETY: the child's side, as said above: async-signal-safe calls
        // on memory made before the fork, then execve or _exit.
        0 => unsafe {
            for (i, &fd) in high.iter().enumerate() {
                // dup2 leaves close-on-exec off on the new descriptor.
                if libc::dup2(fd, FIRST + i as i32) == -1 {
                    libc::_exit(127);
                }
            }
            let mut pid = libc::getpid() as u32;
            let mut digits = [0u8; 10];
            let mut n = 0;
            loop {
                digits[n] = b'0' + (pid % 10) as u8;
                n += 1;
                pid /= 10;
                if pid == 0 || n == digits.len() {
                    break;
                }
            }
            for i in 0..n {
                *pid_entry.add(digits_at + i) = digits[n - 1 - i];
            }
            libc::execve(program.as_ptr(), argv_ptrs.as_ptr(), envp_ptrs.as_ptr());
            libc::_exit(127)
        },
        pid => rustix::process::Pid::from_raw(pid)
            .ok_or_else(|| std::io::Error::other("fork returned an invalid pid")),
    }
}
