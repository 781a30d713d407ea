//! Log lines in Python's format, on standard error.

use crate::net::ClientAddress;
use std::cell::RefCell;
use std::fmt::{self, Write as _};

thread_local! {
    static LINE: RefCell<(String, String)> = const { RefCell::new((String::new(), String::new())) };
}

/// Writes `CLIENT_IP - - [dd/Mon/yyyy HH:MM:SS] MESSAGE\n` to standard error
/// (`unix` for the IP of a client on a Unix domain socket),
/// escaping control characters in the message as `\xNN` (as Python's
/// `log_message` does), in one write.
pub(crate) fn write_line(client: ClientAddress, message: fmt::Arguments<'_>) {
    LINE.with(|bufs| {
        let Ok(mut bufs) = bufs.try_borrow_mut() else {
            // Re-entered from inside a Display impl: format without the cache.
            let mut line = String::new();
            format_line(&mut line, &mut String::new(), client, message);
            crate::sys::write_stderr(line.as_bytes());
            return;
        };
        let (line, scratch) = &mut *bufs;
        format_line(line, scratch, client, message);
        crate::sys::write_stderr(line.as_bytes());
    });
}

fn format_line(
    line: &mut String,
    scratch: &mut String,
    client: ClientAddress,
    message: fmt::Arguments<'_>,
) {
    line.clear();
    scratch.clear();
    let _ = scratch.write_fmt(message);
    let _ = write!(
        line,
        "{} - - [{}] ",
        client.host(),
        crate::date::log_date_time_string()
    );
    escape_controls(scratch, line);
    line.push('\n');
}

/// Appends `s` to `out` with C0 controls, DEL and C1 controls as `\xNN`.
pub(crate) fn escape_controls(s: &str, out: &mut String) {
    for c in s.chars() {
        let n = c as u32;
        if n < 0x20 || (0x7f..0xa0).contains(&n) {
            let _ = write!(out, "\\x{n:02x}");
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped() {
        let mut out = String::new();
        super::escape_controls("a\nb\x1b[31m\u{85}é", &mut out);
        assert_eq!(out, "a\\x0ab\\x1b[31m\\x85é");
    }
}
