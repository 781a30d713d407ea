//! The crate's only `unsafe` code, each block with its reason.

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
