//! Validators, conditional requests and ranges: what lets a client keep a
//! copy of a file and ask only for what it lacks.
//!
//! A response names the version of the file it carries with two
//! *validators* (RFC 9110 §8.8): `Last-Modified`, the file's modification
//! time to the second ([`Modified`]), and a strong `ETag` ([`ETag`]). A
//! client sends them back: `If-None-Match` and `If-Modified-Since` ask for
//! the file only if it changed, else an empty 304 ([`not_modified`], RFC
//! 9110 §13); `Range` asks for part of it (see `range`, §14), and
//! `If-Range` only while it is the version the client holds
//! ([`range_applies`], §13.1.5).

use super::cache::FileMeta;
use crate::handler::Request;
use rustix::fs::Stat;
use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

/// A file's modification time, in whole seconds as HTTP dates carry it,
/// clamped to what an IMF-fixdate can express (years 1970 to 9999).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Modified(pub(super) u64);

impl Modified {
    /// The last second an HTTP date can name: 9999-12-31 23:59:59.
    const MAX: u64 = 253_402_300_799;

    /// The modification time `stat` gives.
    pub(super) fn of(stat: &Stat) -> Self {
        Modified(u64::try_from(stat.st_mtime).unwrap_or(0).min(Self::MAX))
    }

    /// The time an HTTP date names, if it is one.
    pub(super) fn from_http_date(value: &str) -> Option<Self> {
        let time = httpdate::parse_http_date(value.trim()).ok()?;
        let secs = time.duration_since(UNIX_EPOCH).ok()?.as_secs();
        Some(Modified(secs))
    }

    /// The time as an HTTP date (IMF-fixdate).
    pub(super) fn http_date(self) -> httpdate::HttpDate {
        httpdate::HttpDate::from(UNIX_EPOCH + Duration::from_secs(self.0))
    }

    /// The time in RFC 3339, UTC: `2007-12-09T16:00:34Z`.
    pub(super) fn rfc3339(self) -> String {
        let (days, secs) = (self.0 / 86_400, self.0 % 86_400);
        let (year, month, day) = civil_from_days(days);
        let (hour, minute, second) = (secs / 3600, secs / 60 % 60, secs % 60);
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    }
}

/// The proleptic Gregorian date `days` after 1970-01-01: Howard Hinnant's
/// `civil_from_days` (eras of 400 years, years starting in March).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// A strong entity tag (RFC 9110 §8.8.3): the file's inode, size and
/// modification time to the nanosecond, in hex. It changes whenever the file
/// is replaced or written to.
pub(super) struct ETag {
    ino: u64,
    size: u64,
    secs: i64,
    nanos: u64,
}

impl ETag {
    /// The tag of the file `stat` describes.
    pub(super) fn of(stat: &Stat) -> Self {
        ETag {
            ino: stat.st_ino,
            size: u64::try_from(stat.st_size).unwrap_or(0),
            secs: stat.st_mtime,
            // Its type differs between targets (u64 here, i64 elsewhere).
            #[allow(clippy::useless_conversion)]
            nanos: u64::try_from(stat.st_mtime_nsec).unwrap_or(0),
        }
    }
}

/// Whether `tag` (with its quotes, perhaps with a `W/` prefix) is `ours`;
/// `weak` accepts the `W/` form (the weak comparison of `If-None-Match`,
/// RFC 9110 §8.8.3.2), otherwise it never matches (the strong comparison).
/// A weak tag of ours (a compressed response's) matches only in the weak
/// comparison.
fn etag_matches(ours: &str, tag: &[u8], weak: bool) -> bool {
    let ours = match ours.strip_prefix("W/") {
        Some(rest) if weak => rest,
        Some(_) => return false,
        None => ours,
    };
    let tag = match tag.strip_prefix(b"W/") {
        Some(rest) if weak => rest,
        Some(_) => return false,
        None => tag,
    };
    tag == ours.as_bytes()
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\"{:x}-{:x}-{:x}.{:x}\"",
            self.ino, self.size, self.secs, self.nanos
        )
    }
}

/// RFC 9110 §13.1.2 and §13.1.3, in the order §13.2.2 gives: whether a
/// `GET`/`HEAD` is answered 304. `If-None-Match`, when present, decides
/// alone; otherwise `If-Modified-Since` does.
pub(super) fn not_modified(r: &Request<'_>, meta: &FileMeta) -> bool {
    if r.headers.contains("If-None-Match") {
        return r.headers.get_all("If-None-Match").any(|value| {
            value
                .split(|&b| b == b',')
                .map(|t| t.trim_ascii())
                .any(|t| t == b"*" || etag_matches(&meta.etag, t, true))
        });
    }
    match r.headers.get("If-Modified-Since") {
        Some(value) => Modified::from_http_date(value).is_some_and(|since| meta.modified <= since),
        None => false,
    }
}

/// RFC 9110 §13.1.5: whether a `Range` is honoured. Without `If-Range`,
/// always; with it, only if it names the current version: our strong ETag
/// (strong comparison), or exactly our `Last-Modified`.
pub(super) fn range_applies(r: &Request<'_>, meta: &FileMeta) -> bool {
    let Some(value) = r.headers.get_bytes("If-Range") else {
        return true;
    };
    let value = value.trim_ascii();
    if value.starts_with(b"\"") || value.starts_with(b"W/") {
        etag_matches(&meta.etag, value, false)
    } else {
        std::str::from_utf8(value)
            .ok()
            .and_then(Modified::from_http_date)
            .is_some_and(|date| date == meta.modified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    /// A `SystemTime` as whole seconds since the epoch.
    fn secs(t: SystemTime) -> u64 {
        t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }

    #[test]
    fn etag_comparison() {
        let tag = ETag {
            ino: 0x1f,
            size: 13,
            secs: 0x60,
            nanos: 5,
        };
        let ours = tag.to_string();
        assert_eq!(ours, "\"1f-d-60.5\"");
        assert!(etag_matches(&ours, b"\"1f-d-60.5\"", false));
        assert!(etag_matches(&ours, b"W/\"1f-d-60.5\"", true));
        assert!(!etag_matches(&ours, b"W/\"1f-d-60.5\"", false));
        assert!(!etag_matches(&ours, b"\"1f-d-60.6\"", true));
        assert!(!etag_matches(&ours, b"1f-d-60.5", true));
        // A weak tag of ours: weak comparison only.
        let weak = format!("W/{ours}");
        assert!(etag_matches(&weak, b"W/\"1f-d-60.5\"", true));
        assert!(etag_matches(&weak, b"\"1f-d-60.5\"", true));
        assert!(!etag_matches(&weak, b"W/\"1f-d-60.5\"", false));
        assert!(!etag_matches(&weak, b"\"1f-d-60.5\"", false));
    }

    #[test]
    fn dates_are_clamped_to_what_http_can_say() {
        assert_eq!(secs(SystemTime::from(Modified(0).http_date())), 0);
        let late = Modified(Modified::MAX).http_date().to_string();
        assert_eq!(late, "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(
            Modified::from_http_date("Sun, 09 Dec 2007 16:00:34 GMT"),
            Some(Modified(1_197_216_034))
        );
        assert_eq!(Modified::from_http_date("yesterday"), None);
    }

    #[test]
    fn rfc3339_dates() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (1_197_216_034, "2007-12-09T16:00:34Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (951_868_799, "2000-02-29T23:59:59Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
            (Modified::MAX, "9999-12-31T23:59:59Z"),
        ];
        for (secs, want) in cases {
            assert_eq!(Modified(secs).rfc3339(), want);
        }
        // The same calendar as httpdate's, day by day over 400 years.
        for day in (0..146_097u64).step_by(7) {
            let m = Modified(day * 86_400 + 86_399);
            let http = m.http_date().to_string();
            let (y, mo, d) = civil_from_days(day);
            let months = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            let want = format!("{d:02} {} {y}", months[(mo - 1) as usize]);
            assert!(http.contains(&want), "{http} vs {want}");
        }
    }
}
