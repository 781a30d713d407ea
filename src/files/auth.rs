//! HTTP Basic authentication (RFC 7617) for the files handler: the
//! [`Credentials`] it accepts, and the 401 that asks for them.
//!
//! A client that has no credentials gets `401 Unauthorized` with
//! `WWW-Authenticate: Basic realm="basehttp"`; a browser then asks its user
//! for a name and a password and sends them again with every request, as
//! `Authorization: Basic BASE64(USER:PASSWORD)`. Basic authentication sends
//! the password in clear text (base64 is an encoding, not a cipher): use it
//! over HTTPS, or on the loopback interface only.
//!
//! Checking takes the same time whoever asks: the candidate password is
//! hashed with SHA-256 and SHA-512 and compared, as a fixed-length digest
//! and without stopping at the first difference, with every user's digest
//! in turn, so neither whether the user exists nor how much of the
//! password matched shows in the time to answer (a lookup that stopped at
//! the user, or a comparison that stopped at the first wrong byte, would
//! tell an attacker which guesses come closer).

use crate::handler::{ErrorDetails, HandlerResult, Request};
use base64::Engine;
use http::StatusCode;
use sha2::{Digest, Sha256, Sha512};
use std::fmt;
use std::path::Path;

/// The challenge of every 401: the scheme and the protection space
/// (RFC 7617 §2).
pub const CHALLENGE: &str = "Basic realm=\"basehttp\"";

/// A digest as kept: SHA-512's 64 bytes, or SHA-256's 32 followed by zeros.
type Digest64 = [u8; 64];

/// The users and passwords a server accepts, for
/// [`SimpleHttpRequestHandler::auth`](super::SimpleHttpRequestHandler::auth)
/// (the binary's `--auth` and `--auth-file`).
///
/// A password is given in clear, or hashed as `sha256:HEX` or `sha512:HEX`
/// (the hex digest of the password's bytes, as `sha256sum` prints it). Only
/// digests are kept either way. A hash without salt keeps the password out
/// of sight (of `ps`, of a file others may read), but a weak password is
/// found from its digest as quickly as from itself.
///
/// ```
/// use basehttp::files::Credentials;
///
/// let mut credentials = Credentials::new();
/// credentials.add("alice", "wonderland")?;
/// // printf %s secret | sha256sum
/// credentials.add_line(
///     "bob:sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b",
/// )?;
/// assert!(credentials.verify(b"alice", b"wonderland"));
/// assert!(credentials.verify(b"bob", b"secret"));
/// assert!(!credentials.verify(b"bob", b"wonderland"));
/// assert!(!credentials.verify(b"carol", b"secret"));
/// # Ok::<(), basehttp::files::CredentialsError>(())
/// ```
#[derive(Clone, Default)]
pub struct Credentials {
    users: Vec<User>,
}

#[derive(Clone)]
struct User {
    /// SHA-256 of the name, so names too compare in constant time.
    name: [u8; 32],
    algorithm: Algorithm,
    password: Digest64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    fn hex_digits(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

/// Why a user or a password was not accepted. No message ever shows a
/// password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialsError {
    /// `USER:PASSWORD` with no `:`.
    NoColon,
    /// An empty user name.
    EmptyUser,
    /// `sha256:` or `sha512:` not followed by the digest's hex digits (64
    /// or 128).
    BadHash {
        /// `sha256` or `sha512`.
        algorithm: &'static str,
        /// How many hex digits it takes.
        digits: usize,
    },
    /// The same user twice.
    Duplicate(String),
    /// An error on a line of a credentials file (lines count from 1).
    Line {
        /// The line's number.
        number: usize,
        /// What is wrong with it.
        error: Box<CredentialsError>,
    },
    /// The credentials file could not be read.
    Read(String),
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialsError::NoColon => f.write_str("expected USER:PASSWORD"),
            CredentialsError::EmptyUser => f.write_str("the user name is empty"),
            CredentialsError::BadHash { algorithm, digits } => write!(
                f,
                "a password given as {algorithm}: must be {digits} hex digits \
                 (a password that itself starts with {algorithm}: must be given hashed)"
            ),
            CredentialsError::Duplicate(user) => write!(f, "user {user:?} is given twice"),
            CredentialsError::Line { number, error } => write!(f, "line {number}: {error}"),
            CredentialsError::Read(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for CredentialsError {}

impl fmt::Debug for Credentials {
    /// The number of users only: never names or digests.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("users", &self.users.len())
            .finish()
    }
}

impl Credentials {
    /// No users: a server with these accepts nobody.
    pub fn new() -> Self {
        Credentials::default()
    }

    /// Accepts `user` with `password`: in clear, or `sha256:HEX` or
    /// `sha512:HEX`. The user name may not be empty nor given twice.
    pub fn add(&mut self, user: &str, password: &str) -> Result<(), CredentialsError> {
        if user.is_empty() {
            return Err(CredentialsError::EmptyUser);
        }
        let name = sha256(user.as_bytes());
        if self.users.iter().any(|u| u.name == name) {
            return Err(CredentialsError::Duplicate(user.to_string()));
        }
        let (algorithm, password) = stored_password(password)?;
        self.users.push(User {
            name,
            algorithm,
            password,
        });
        Ok(())
    }

    /// Accepts `USER:PASSWORD`, split at the first `:` (a user name cannot
    /// hold one; a password can): the binary's `--auth`.
    pub fn add_line(&mut self, line: &str) -> Result<(), CredentialsError> {
        let (user, password) = line.split_once(':').ok_or(CredentialsError::NoColon)?;
        self.add(user, password)
    }

    /// Accepts every user of a file, one `USER:PASSWORD` per line (the
    /// binary's `--auth-file`); empty lines and lines starting with `#`
    /// are skipped, and a line may end with CR LF.
    pub fn add_file(&mut self, path: &Path) -> Result<(), CredentialsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CredentialsError::Read(format!("{}: {e}", path.display())))?;
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            self.add_line(line)
                .map_err(|error| CredentialsError::Line {
                    number: i + 1,
                    error: Box::new(error),
                })?;
        }
        Ok(())
    }

    /// How many users are accepted.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether no user is accepted.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Whether `user` with `password` is accepted. Takes the same time for
    /// a known user with a wrong password, a nearly right one and an
    /// unknown user: the candidate is hashed both ways and compared with
    /// every user's digests, each comparison over all its bytes.
    pub fn verify(&self, user: &[u8], password: &[u8]) -> bool {
        let name = sha256(user);
        let mut short = [0; 64];
        short[..32].copy_from_slice(&sha256(password));
        let long: Digest64 = Sha512::digest(password).into();
        let mut accepted = false;
        for u in &self.users {
            let candidate = match u.algorithm {
                Algorithm::Sha256 => &short,
                Algorithm::Sha512 => &long,
            };
            // `&` and `|`, not `&&` and `||`: no comparison is skipped.
            accepted |= constant_time_eq(&u.name, &name) & constant_time_eq(candidate, &u.password);
        }
        accepted
    }

    /// Whether an `Authorization` header's value holds accepted Basic
    /// credentials (RFC 7617 §2: `Basic ` and the base64 of
    /// `USER:PASSWORD`; the scheme's case does not matter).
    pub fn verify_authorization(&self, authorization: &[u8]) -> bool {
        let Some((scheme, token)) = authorization.split_first_chunk::<6>() else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case(b"basic ") {
            return false;
        }
        let token = token.trim_ascii();
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(token) else {
            return false;
        };
        match decoded.iter().position(|&b| b == b':') {
            Some(colon) => self.verify(&decoded[..colon], &decoded[colon + 1..]),
            None => false,
        }
    }
}

/// The digest kept for a password given in clear or hashed.
fn stored_password(password: &str) -> Result<(Algorithm, Digest64), CredentialsError> {
    for (prefix, algorithm, name) in [
        ("sha256:", Algorithm::Sha256, "sha256"),
        ("sha512:", Algorithm::Sha512, "sha512"),
    ] {
        if let Some(hex) = password.strip_prefix(prefix) {
            let bad = CredentialsError::BadHash {
                algorithm: name,
                digits: algorithm.hex_digits(),
            };
            if hex.len() != algorithm.hex_digits() {
                return Err(bad);
            }
            let mut digest = [0; 64];
            for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
                *byte = match (hex_value(pair[0]), hex_value(pair[1])) {
                    (Some(high), Some(low)) => high << 4 | low,
                    _ => return Err(bad),
                };
            }
            return Ok((algorithm, digest));
        }
    }
    let mut digest = [0; 64];
    digest[..32].copy_from_slice(&sha256(password.as_bytes()));
    Ok((Algorithm::Sha256, digest))
}

fn hex_value(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|v| v as u8)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Whether `a` and `b` are equal, looking at every byte whatever the
/// first difference: the time tells nothing of where they differ.
/// `black_box` keeps the compiler from turning the fold into an early
/// exit.
fn constant_time_eq<const N: usize>(a: &[u8; N], b: &[u8; N]) -> bool {
    let mut difference = 0u8;
    for (x, y) in a.iter().zip(b) {
        difference |= std::hint::black_box(x ^ y);
    }
    std::hint::black_box(difference) == 0
}

/// Answers 401 with the Basic challenge. The page says only that
/// credentials are needed, never which part was wrong. The connection
/// stays open, so the client's retry with credentials can use it.
pub(super) fn challenge(r: &mut Request<'_>) -> HandlerResult {
    r.send_error_details(
        StatusCode::UNAUTHORIZED,
        ErrorDetails {
            headers: &[("WWW-Authenticate", CHALLENGE)],
            keep_alive: true,
            ..ErrorDetails::default()
        },
    )?;
    Ok(())
}

impl super::SimpleHttpRequestHandler {
    /// Requires HTTP Basic authentication with one of `credentials` for
    /// every request (the binary's `--auth` and `--auth-file`; feature
    /// `auth`). Default: none required. A request without accepted
    /// credentials gets `401 Unauthorized` with `WWW-Authenticate: Basic
    /// realm="basehttp"` ([`CHALLENGE`]), and its page does not say whether
    /// the user or the password was wrong; the time to answer does not tell
    /// either (see [`Credentials::verify`]). A CORS preflight is answered
    /// before credentials are checked (browsers send none with it).
    ///
    /// Basic authentication sends passwords in clear text: serve over
    /// HTTPS, or on the loopback interface. Log lines show the request
    /// line, never the `Authorization` header.
    ///
    /// ```
    /// use basehttp::SimpleHttpRequestHandler;
    /// use basehttp::files::Credentials;
    ///
    /// let mut credentials = Credentials::new();
    /// credentials.add_line("alice:wonderland")?;
    /// let handler = SimpleHttpRequestHandler::new(std::env::temp_dir())?
    ///     .auth(credentials)
    ///     .public_read(true);
    /// # let _ = handler;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn auth(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// With [`auth`](Self::auth): whether `GET` and `HEAD` need no
    /// credentials, while every other method (uploads, the listing's upload
    /// form) still does (the binary's `--public-read`). Default `false`.
    /// Without `auth` it changes nothing.
    pub fn public_read(mut self, public: bool) -> Self {
        self.public_read = public;
        self
    }

    /// Whether the request may go on: no credentials required, a public
    /// read, or accepted credentials.
    pub(super) fn authorized(&self, r: &Request<'_>) -> bool {
        let Some(credentials) = &self.credentials else {
            return true;
        };
        if self.public_read && matches!(r.command, "GET" | "HEAD") {
            return true;
        }
        r.headers
            .get_bytes("Authorization")
            .is_some_and(|h| credentials.verify_authorization(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn clear_and_hashed_passwords_are_accepted_and_nothing_else() {
        let mut c = Credentials::new();
        c.add("alice", "wonder:land").unwrap();
        c.add("bob", &format!("sha256:{}", hex(&sha256(b"s3cret"))))
            .unwrap();
        let long = Sha512::digest(b"long one");
        c.add("carol", &format!("sha512:{}", hex(&long).to_uppercase()))
            .unwrap();
        assert!(c.verify(b"alice", b"wonder:land"));
        assert!(c.verify(b"bob", b"s3cret"));
        assert!(c.verify(b"carol", b"long one"));
        for (user, password) in [
            (&b"alice"[..], &b"wonder"[..]),
            (b"alice", b""),
            (b"bob", b"s3cre"),
            (b"bob", b"wonder:land"),
            (b"carol", b"s3cret"),
            (b"dave", b"s3cret"),
            (b"", b""),
            (b"Alice", b"wonder:land"),
        ] {
            assert!(!c.verify(user, password), "{user:?}");
        }
    }

    #[test]
    fn bad_entries_are_refused_without_showing_the_password() {
        let mut c = Credentials::new();
        assert_eq!(c.add_line("nocolon"), Err(CredentialsError::NoColon));
        assert_eq!(c.add_line(":pw"), Err(CredentialsError::EmptyUser));
        for bad in [
            "sha256:abc",
            &format!("sha256:{}", "g".repeat(64)),
            "sha512:00",
        ] {
            let e = c.add("u", bad).unwrap_err();
            assert!(matches!(e, CredentialsError::BadHash { .. }), "{bad}");
            assert!(!e.to_string().contains(bad), "{e}");
        }
        c.add("u", "pw").unwrap();
        assert_eq!(
            c.add("u", "other"),
            Err(CredentialsError::Duplicate("u".into()))
        );
        assert_eq!(format!("{c:?}"), "Credentials { users: 1 }");
    }

    #[test]
    fn authorization_headers() {
        let mut c = Credentials::new();
        c.add("user", "pass:word").unwrap();
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let good = format!("Basic {}", b64("user:pass:word"));
        assert!(c.verify_authorization(good.as_bytes()));
        assert!(c.verify_authorization(format!("basic  {} ", b64("user:pass:word")).as_bytes()));
        for bad in [
            format!("Basic {}", b64("user:pass")),
            format!("Basic {}", b64("userpass:word")),
            format!("Basic {}", b64("user")),
            format!("Bearer {}", b64("user:pass:word")),
            "Basic !!!".to_string(),
            "Basic".to_string(),
            String::new(),
        ] {
            assert!(!c.verify_authorization(bad.as_bytes()), "{bad}");
        }
    }
}
