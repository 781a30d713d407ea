//! Headers the files handler adds to every response: CORS (`--cors`) and
//! the user's own (`-H`), and the CORS preflight.
//!
//! CORS lets a web page from another origin read what the server answers.
//! A browser sends a simple `GET` at once and shows its response to the
//! page only if it says `Access-Control-Allow-Origin: *`; before any other
//! request (another method, or headers such as `Range` or
//! `Authorization`) it first asks with a *preflight*: an `OPTIONS` request
//! with `Access-Control-Request-Method`. The answer here allows `GET` and
//! `HEAD` only, so no other site's page can write, and never sends
//! `Access-Control-Allow-Credentials`: with the origin `*`, browsers then
//! never attach a visitor's cookies or cached passwords to a cross-site
//! request (Fetch standard, "CORS check").

use crate::handler::{HandlerResult, Request};
use crate::proto::encode;
use http::StatusCode;
use std::fmt;
use std::io;

/// Headers that frame a response body or govern the connection: the server
/// sets them for each response, so a header of one's own may not be one of
/// them (RFC 9112 §6, §9.6; RFC 9110 §6.6.2, §7.8).
pub const FRAMING_HEADERS: [&str; 5] = [
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
    "Trailer",
    "Upgrade",
];

/// The methods a preflight allows: reads only.
const ALLOWED_METHODS: &str = "GET, HEAD";

/// The request headers a preflight allows beyond the CORS-safelisted ones:
/// those a reader of files sends (ranges, validators, credentials given
/// explicitly by the page).
const ALLOWED_HEADERS: &str =
    "Authorization, Range, If-Range, If-Match, If-None-Match, If-Modified-Since";

/// Response headers a page may read beyond the CORS-safelisted ones: what
/// a range or conditional request needs.
const EXPOSED_HEADERS: &str = "Accept-Ranges, Content-Range, ETag";

/// How long (seconds) a browser may reuse a preflight's answer.
const PREFLIGHT_MAX_AGE: &str = "600";

/// Why a header cannot be added to every response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// One of [`FRAMING_HEADERS`]: the server sets it for each response.
    Framing(String),
    /// A name that is not a token (RFC 9110 §5.1), or a value with CR, LF
    /// or NUL, which could split the response.
    Invalid {
        /// The header's name, as given.
        name: String,
        /// What is wrong with it.
        what: String,
    },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Framing(name) => write!(
                f,
                "header {name:?}: the server frames each response itself \
                 (Content-Length, Transfer-Encoding, Connection, Trailer and Upgrade are refused)"
            ),
            HeaderError::Invalid { name, what } => write!(f, "header {name:?}: {what}"),
        }
    }
}

impl std::error::Error for HeaderError {}

/// Checks a header to add to every response.
pub(super) fn check(name: &str, value: &str) -> Result<(), HeaderError> {
    if FRAMING_HEADERS
        .iter()
        .any(|framing| framing.eq_ignore_ascii_case(name))
    {
        return Err(HeaderError::Framing(name.to_string()));
    }
    encode::check_header(name, value.as_bytes()).map_err(|e| HeaderError::Invalid {
        name: name.to_string(),
        what: e.to_string(),
    })
}

/// Sends the headers every response carries: CORS's if `cors`, then
/// `own`, in order.
pub(super) fn send_all(
    r: &mut Request<'_>,
    cors: bool,
    own: &[(String, String)],
) -> io::Result<()> {
    if cors {
        r.send_header("Access-Control-Allow-Origin", "*")?;
        r.send_header("Access-Control-Expose-Headers", EXPOSED_HEADERS)?;
    }
    for (name, value) in own {
        r.send_header(name, value)?;
    }
    Ok(())
}

/// Whether the request is a CORS preflight: `OPTIONS` with
/// `Access-Control-Request-Method` (Fetch standard, "CORS-preflight
/// request").
pub(super) fn is_preflight(r: &Request<'_>) -> bool {
    r.command == "OPTIONS" && r.headers.contains("Access-Control-Request-Method")
}

/// Answers a preflight: 204, allowing `GET` and `HEAD` whatever was asked
/// (a browser then refuses any other method itself), and never
/// `Access-Control-Allow-Credentials`. It needs no credentials: browsers
/// never send them with a preflight.
pub(super) fn preflight(r: &mut Request<'_>) -> HandlerResult {
    r.send_response(StatusCode::NO_CONTENT)?;
    r.send_header("Access-Control-Allow-Methods", ALLOWED_METHODS)?;
    r.send_header("Access-Control-Allow-Headers", ALLOWED_HEADERS)?;
    r.send_header("Access-Control-Max-Age", PREFLIGHT_MAX_AGE)?;
    r.end_headers()?;
    Ok(())
}

impl super::SimpleHttpRequestHandler {
    /// Whether other sites' pages may read what this server answers (the
    /// binary's `--cors`). Default `false`. With it, every response carries
    /// `Access-Control-Allow-Origin: *` (and exposes `Accept-Ranges`,
    /// `Content-Range` and `ETag` to the page), and a preflight (`OPTIONS`
    /// with `Access-Control-Request-Method`) is answered `204 No Content`
    /// allowing `GET` and `HEAD` only, before any credentials are checked.
    /// `Access-Control-Allow-Credentials` is never sent, so browsers never
    /// attach a visitor's cookies or cached passwords to those requests.
    pub fn cors(mut self, cors: bool) -> Self {
        self.cors = cors;
        self
    }

    /// Adds the header `name: value` to every response, error pages and
    /// redirects included, after any earlier one (the binary's `-H`). The
    /// header is added, not substituted: one the handler also sends (say
    /// `Content-Type`) then appears twice.
    ///
    /// Refused: a name that is not a token, a value with CR, LF or NUL, and
    /// the [`FRAMING_HEADERS`], which the server sets for each response.
    ///
    /// ```
    /// use basehttp::SimpleHttpRequestHandler;
    ///
    /// let dir = std::env::temp_dir();
    /// let handler = SimpleHttpRequestHandler::new(&dir)?
    ///     .header("Cache-Control", "no-store")?
    ///     .header("X-Frame-Options", "DENY")?;
    /// assert!(SimpleHttpRequestHandler::new(&dir)?.header("Content-Length", "0").is_err());
    /// # let _ = handler;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, HeaderError> {
        check(name, value)?;
        self.headers.push((name.to_string(), value.to_string()));
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_bad_names_and_line_breaks_are_refused() {
        for name in FRAMING_HEADERS {
            assert_eq!(check(name, "1"), Err(HeaderError::Framing(name.into())));
        }
        assert!(matches!(
            check("content-length", "1"),
            Err(HeaderError::Framing(_))
        ));
        for (name, value) in [
            ("", "x"),
            ("Bad Name", "x"),
            ("Bad:Name", "x"),
            ("X-Ok", "a\r\nSet-Cookie: x=1"),
            ("X-Ok", "a\nb"),
            ("X-Ok", "a\0b"),
        ] {
            assert!(
                matches!(check(name, value), Err(HeaderError::Invalid { .. })),
                "{name:?}: {value:?}"
            );
        }
        assert_eq!(check("Cache-Control", "no-store"), Ok(()));
        assert_eq!(check("X-Empty", ""), Ok(()));
    }
}
