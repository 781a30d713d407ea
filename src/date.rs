//! Dates for the `Date` header and for log lines, cached per thread and
//! refreshed once a second, so a request costs one clock read, no formatting.

use std::cell::RefCell;
use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

struct Cache {
    second: u64,
    http: String,
}

thread_local! {
    static CACHE: RefCell<Cache> = const { RefCell::new(Cache { second: u64::MAX, http: String::new() }) };
}

/// The current Unix time in whole seconds, from the coarse clock: the
/// kernel's last tick, a few milliseconds behind at most, read without the
/// time-stamp counter (it is asked once per response).
pub(crate) fn now_second() -> u64 {
    crate::sys::clock_time(libc::CLOCK_REALTIME_COARSE).map_or(0, |t| t.as_secs())
}

/// The current time as an IMF-fixdate (`Sun, 09 Dec 2007 16:00:34 GMT`),
/// lent to `f`.
pub(crate) fn with_http_date<R>(f: impl FnOnce(&str) -> R) -> R {
    let second = now_second();
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.second != second {
            // Into the same String: no allocation after the first second.
            c.http.clear();
            let date = httpdate::HttpDate::from(UNIX_EPOCH + Duration::from_secs(second));
            let _ = write!(c.http, "{date}");
            c.second = second;
        }
        f(&c.http)
    })
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The current UTC time as Python's `log_date_time_string`:
/// `09/Dec/2007 16:00:34`.
pub(crate) fn log_date_time_string() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_log_time(secs)
}

pub(crate) fn format_log_time(secs: u64) -> String {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{d:02}/{}/{y:04} {:02}:{:02}:{:02}",
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), by
/// Howard Hinnant's `civil_from_days` algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_times() {
        // The seed's transcript: Sun, 09 Dec 2007 16:00:34 GMT.
        assert_eq!(format_log_time(1_197_216_034), "09/Dec/2007 16:00:34");
        assert_eq!(format_log_time(0), "01/Jan/1970 00:00:00");
        assert_eq!(format_log_time(951_782_400), "29/Feb/2000 00:00:00");
    }

    #[test]
    fn http_date_has_the_fixed_length() {
        with_http_date(|d| {
            let s = d.to_string();
            assert_eq!(s.len(), 29);
            assert!(s.ends_with(" GMT"));
        });
    }
}
