//! Forms: query strings, `application/x-www-form-urlencoded` and
//! `multipart/form-data` bodies — the counterpart of Python's
//! `cgi.FieldStorage` and `urllib.parse.parse_qsl`.
//!
//! # How a browser sends a form
//!
//! An HTML `<form>` is sent in one of two encodings, named by the request's
//! `Content-Type`:
//!
//! - `application/x-www-form-urlencoded` (the default): the fields as
//!   `name=value` pairs joined by `&`, with spaces as `+` and other special
//!   bytes as `%XX` — the same syntax as a URL's query string
//!   (`?q=rust+http&page=2`), which is how a `GET` form is sent. See
//!   [`parse_qsl`].
//! - `multipart/form-data` (`enctype="multipart/form-data"`, needed for file
//!   fields): a *boundary* string chosen by the client separates the fields;
//!   each field is a *part* with its own small header section
//!   (`Content-Disposition: form-data; name="datafile"; filename="a.txt"`)
//!   and its raw bytes as body (RFC 7578, on RFC 2046's multipart syntax).
//!   See [`MultipartReader`], which streams each part in constant memory.
//!
//! [`FieldStorage`] reads either encoding eagerly, as Python's does: text
//! fields in memory, files spilled to temporary files that are removed when
//! the [`FieldStorage`] is dropped.
//!
//! # Limits
//!
//! A form comes from the network, so every size is bounded by a field of
//! [`FormConfig`], with a safe default: the body, the number of fields, a part's
//! header section, a text field, the text held in memory altogether, and
//! optionally each file. Going past one is a [`FormError::TooLarge`], which
//! [`FormError::respond`] answers with 413; malformed input is a 400.
//!
//! ```
//! use basehttp::form::{FieldStorage, FormConfig};
//!
//! let body = b"--XyZ\r\n\
//!     Content-Disposition: form-data; name=\"name\"\r\n\r\n\
//!     dhellmann\r\n\
//!     --XyZ\r\n\
//!     Content-Disposition: form-data; name=\"datafile\"; filename=\"notes.txt\"\r\n\
//!     Content-Type: text/plain\r\n\r\n\
//!     hello, world\r\n\
//!     --XyZ--\r\n";
//! let form = FieldStorage::parse(
//!     &body[..],
//!     "multipart/form-data; boundary=XyZ",
//!     &FormConfig::default(),
//! )?;
//! assert_eq!(form.getvalue("name"), Some("dhellmann"));
//! let upload = form.get("datafile").and_then(|f| f.file()).expect("a file field");
//! assert_eq!(upload.size(), 12);
//! assert_eq!(std::fs::read(upload.path())?, b"hello, world");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod multipart;
mod params;
mod storage;
mod urlencoded;

pub use multipart::{MultipartReader, Part, PartHeaders};
pub use storage::{Field, FieldStorage, FieldValue, UploadedFile};
pub use urlencoded::{parse_qsl, read_urlencoded};

use crate::handler::{HandlerResult, Request};
use http::StatusCode;
use std::borrow::Cow;
use std::fmt;
use std::io;
use std::path::PathBuf;

/// Default [`FormConfig::max_body_size`]: 64 MiB. Enough for photos and
/// documents; raise it for larger uploads (files never occupy memory).
pub const MAX_BODY_SIZE: u64 = 64 << 20;

/// Default [`FormConfig::max_num_fields`]: 1000 fields (or parts), as
/// Django's `DATA_UPLOAD_MAX_NUMBER_FIELDS`. Python's default is no limit,
/// which let a flood of tiny fields cost memory and time (bpo-34866).
pub const MAX_NUM_FIELDS: usize = 1000;

/// Default [`FormConfig::max_header_size`]: 8 KiB for one part's header
/// section, far above the two short lines a browser sends.
pub const MAX_HEADER_SIZE: usize = 8 << 10;

/// Default [`FormConfig::max_field_size`]: 1 MiB for one text field.
pub const MAX_FIELD_SIZE: u64 = 1 << 20;

/// Default [`FormConfig::max_memory_size`]: 16 MiB of text fields (or of a
/// urlencoded body) held in memory for one form.
pub const MAX_MEMORY_SIZE: u64 = 16 << 20;

/// How invalid UTF-8 in a field name, value or file name is handled: the
/// caller's choice, like the `errors` argument of Python's `parse_qsl`
/// (whose default is `'replace'`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Utf8Policy {
    /// Each invalid sequence becomes U+FFFD `�` (Python's
    /// `errors='replace'`). The default: a form is read whatever a client
    /// sends.
    #[default]
    Replace,
    /// Invalid UTF-8 is a [`FormError::InvalidUtf8`] (400), Python's
    /// `errors='strict'`.
    Strict,
}

impl Utf8Policy {
    /// Decodes `bytes` as UTF-8 under this policy; `what` names the bytes in
    /// the error.
    pub(crate) fn decode(self, bytes: Cow<'_, [u8]>, what: &str) -> Result<String, FormError> {
        match bytes {
            Cow::Borrowed(b) => match std::str::from_utf8(b) {
                Ok(s) => Ok(s.to_owned()),
                Err(_) => self.decode_invalid(b, what),
            },
            Cow::Owned(v) => match String::from_utf8(v) {
                Ok(s) => Ok(s),
                Err(e) => self.decode_invalid(e.as_bytes(), what),
            },
        }
    }

    fn decode_invalid(self, bytes: &[u8], what: &str) -> Result<String, FormError> {
        match self {
            Utf8Policy::Replace => Ok(String::from_utf8_lossy(bytes).into_owned()),
            Utf8Policy::Strict => Err(FormError::InvalidUtf8 {
                what: what.to_owned(),
            }),
        }
    }
}

/// The limits and choices of form parsing, as plain fields with safe
/// defaults ([`FormConfig::default`]).
///
/// Each limit bounds what it names and nothing else; the body as a whole is
/// also bounded by the server's own `ServerConfig::max_body_size` if set.
///
/// ```
/// use basehttp::form::FormConfig;
///
/// // The post example's limits: files up to 2 GiB, text fields up to 1 MiB,
/// // the whole body up to 4 GiB.
/// let config = FormConfig {
///     max_body_size: Some(4 << 30),
///     max_file_size: Some(2 << 30),
///     max_field_size: 1 << 20,
///     ..FormConfig::default()
/// };
/// # let _ = config;
/// ```
#[derive(Clone, Debug)]
pub struct FormConfig {
    /// Most bytes of the request body read, preamble and epilogue included.
    /// A larger `Content-Length` is refused before reading. `None` means no
    /// limit (then set [`max_file_size`](FormConfig::max_file_size), or
    /// uploads can fill the disk). Default [`MAX_BODY_SIZE`].
    pub max_body_size: Option<u64>,
    /// Most fields: `name=value` pairs of a urlencoded body or query string,
    /// or parts of a multipart body. Counted before a urlencoded body is
    /// decoded, so a flood is refused cheaply. `None` means no limit. Default
    /// [`MAX_NUM_FIELDS`].
    pub max_num_fields: Option<usize>,
    /// Most bytes of one part's header section (its `Content-Disposition`,
    /// `Content-Type`, … lines). Default [`MAX_HEADER_SIZE`]; never less
    /// than 1 KiB is used.
    pub max_header_size: usize,
    /// Most bytes of one text field's value (a part without a file name, or
    /// one urlencoded value), which is held in memory. Default
    /// [`MAX_FIELD_SIZE`].
    pub max_field_size: u64,
    /// Most bytes of text held in memory for one form: all text fields
    /// together, or a whole urlencoded body. Default [`MAX_MEMORY_SIZE`].
    pub max_memory_size: u64,
    /// Most bytes of one uploaded file (a part with a `filename`), which is
    /// streamed or spilled to disk, never held in memory. `None`, the
    /// default, leaves files bounded by `max_body_size` alone.
    pub max_file_size: Option<u64>,
    /// Keep fields whose value is empty (`a=&b=1` gives `("a", "")`), as
    /// Python's `keep_blank_values=True`; by default they are dropped, as in
    /// Python. Applies to urlencoded data only: a multipart part is always
    /// kept.
    pub keep_blank_values: bool,
    /// What to do with invalid UTF-8. Default [`Utf8Policy::Replace`].
    pub utf8: Utf8Policy,
    /// Where [`FieldStorage`] puts the temporary files of uploads. `None`,
    /// the default, uses the system's (`$TMPDIR` or `/tmp`).
    pub temp_dir: Option<PathBuf>,
}

impl Default for FormConfig {
    fn default() -> Self {
        FormConfig {
            max_body_size: Some(MAX_BODY_SIZE),
            max_num_fields: Some(MAX_NUM_FIELDS),
            max_header_size: MAX_HEADER_SIZE,
            max_field_size: MAX_FIELD_SIZE,
            max_memory_size: MAX_MEMORY_SIZE,
            max_file_size: None,
            keep_blank_values: false,
            utf8: Utf8Policy::Replace,
            temp_dir: None,
        }
    }
}

/// Which limit of [`FormConfig`] a [`FormError::TooLarge`] ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// [`FormConfig::max_body_size`].
    Body,
    /// [`FormConfig::max_num_fields`].
    NumFields,
    /// [`FormConfig::max_header_size`].
    PartHeader,
    /// [`FormConfig::max_field_size`].
    Field,
    /// [`FormConfig::max_memory_size`].
    Memory,
    /// [`FormConfig::max_file_size`].
    File,
}

impl Limit {
    fn describe(self) -> &'static str {
        match self {
            Limit::Body => "form body larger than",
            Limit::NumFields => "more form fields than",
            Limit::PartHeader => "multipart part headers larger than",
            Limit::Field => "form field value larger than",
            Limit::Memory => "form text fields larger in total than",
            Limit::File => "uploaded file larger than",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Limit::NumFields => "",
            _ => " bytes",
        }
    }
}

/// Why a form could not be read. [`status`](FormError::status) says how to
/// answer the client; [`respond`](FormError::respond) does it.
#[derive(Debug)]
#[non_exhaustive]
pub enum FormError {
    /// A limit of [`FormConfig`] was exceeded: answer 413 Content Too Large.
    TooLarge {
        /// Which limit.
        limit: Limit,
        /// Its value.
        max: u64,
    },
    /// The body breaks the syntax of its encoding (say, a multipart body
    /// that ends before its final boundary): answer 400.
    Malformed(Cow<'static, str>),
    /// Invalid UTF-8 under [`Utf8Policy::Strict`]: answer 400.
    InvalidUtf8 {
        /// What held it: `field name`, `value of field "x"`, …
        what: String,
    },
    /// The `Content-Type` is not a form encoding: answer 415.
    UnsupportedMediaType(String),
    /// Reading the body (or writing a temporary file) failed: the client
    /// disconnected or stalled, the server's own body limit was hit, or the
    /// disk is full. No answer can be chosen here: return the error from the
    /// handler and the server answers (400, 408, 413, 500) or closes.
    Io(io::Error),
}

impl FormError {
    pub(crate) fn malformed(message: &'static str) -> FormError {
        FormError::Malformed(Cow::Borrowed(message))
    }

    pub(crate) fn too_large(limit: Limit, max: u64) -> FormError {
        FormError::TooLarge { limit, max }
    }

    /// The status to answer with: 413 for a limit, 400 for malformed input,
    /// 415 for a body that is not a form; `None` for an I/O error, where the
    /// server decides (see [`FormError::Io`]).
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            FormError::TooLarge { .. } => Some(StatusCode::PAYLOAD_TOO_LARGE),
            FormError::Malformed(_) | FormError::InvalidUtf8 { .. } => {
                Some(StatusCode::BAD_REQUEST)
            }
            FormError::UnsupportedMediaType(_) => Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            FormError::Io(_) => None,
        }
    }

    /// Answers the request with this error: `send_error` with
    /// [`status`](FormError::status) and this error's message, or, for an
    /// I/O error, returns it so the server answers or closes the connection.
    ///
    /// ```no_run
    /// use basehttp::form::{FieldStorage, FormConfig};
    /// use basehttp::{HandlerResult, Request};
    ///
    /// fn do_post(r: &mut Request<'_>) -> HandlerResult {
    ///     let form = match FieldStorage::from_request(r, &FormConfig::default()) {
    ///         Ok(form) => form,
    ///         Err(e) => return e.respond(r),
    ///     };
    ///     // ... use the form ...
    /// #   let _ = form;
    ///     Ok(())
    /// }
    /// ```
    pub fn respond(self, r: &mut Request<'_>) -> HandlerResult {
        match self.status() {
            Some(code) => {
                r.send_error_message(code, Some(&self.to_string()), None)?;
                Ok(())
            }
            None => Err(Box::new(self)),
        }
    }
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormError::TooLarge { limit, max } => {
                write!(f, "{} {max}{}", limit.describe(), limit.unit())
            }
            FormError::Malformed(m) => write!(f, "malformed form data: {m}"),
            FormError::InvalidUtf8 { what } => write!(f, "invalid UTF-8 in {what}"),
            FormError::UnsupportedMediaType(t) => write!(
                f,
                "unsupported Content-Type {t:?}: expected \
                 application/x-www-form-urlencoded or multipart/form-data"
            ),
            FormError::Io(e) => write!(f, "reading the form failed: {e}"),
        }
    }
}

impl std::error::Error for FormError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FormError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// A form error read through [`std::io::Read`] (a [`Part`]) travels inside an
/// `io::Error`; this takes it out again.
impl From<io::Error> for FormError {
    fn from(e: io::Error) -> FormError {
        if e.get_ref().is_some_and(|inner| inner.is::<FormError>()) {
            match e.into_inner().map(|inner| inner.downcast::<FormError>()) {
                Some(Ok(form)) => *form,
                // Unreachable: checked just above.
                _ => FormError::malformed("unexpected error"),
            }
        } else {
            FormError::Io(e)
        }
    }
}

/// A form error given to a caller of [`std::io::Read`]: an I/O error stays
/// itself; the others become `InvalidData` errors carrying the form error.
impl From<FormError> for io::Error {
    fn from(e: FormError) -> io::Error {
        match e {
            FormError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

/// The two form encodings, as told by a `Content-Type` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormKind {
    /// `application/x-www-form-urlencoded`.
    Urlencoded,
    /// `multipart/form-data`, with its boundary.
    Multipart {
        /// The `boundary` parameter, unquoted.
        boundary: String,
    },
}

impl FormKind {
    /// Reads a request's `Content-Type` value: which encoding, and for
    /// multipart the boundary (1 to 70 characters, RFC 2046 §5.1.1).
    ///
    /// ```
    /// use basehttp::form::FormKind;
    ///
    /// assert_eq!(
    ///     FormKind::from_content_type("multipart/form-data; boundary=\"a b\"")?,
    ///     FormKind::Multipart { boundary: "a b".into() },
    /// );
    /// assert_eq!(
    ///     FormKind::from_content_type("application/x-www-form-urlencoded; charset=UTF-8")?,
    ///     FormKind::Urlencoded,
    /// );
    /// assert!(FormKind::from_content_type("text/plain").is_err());
    /// # Ok::<(), basehttp::form::FormError>(())
    /// ```
    pub fn from_content_type(content_type: &str) -> Result<FormKind, FormError> {
        let parsed = params::HeaderParams::parse(content_type.as_bytes())?;
        match parsed.value.as_str() {
            "application/x-www-form-urlencoded" => Ok(FormKind::Urlencoded),
            "multipart/form-data" => {
                let boundary = parsed.get("boundary", Utf8Policy::Strict)?.ok_or_else(|| {
                    FormError::malformed("multipart/form-data without a boundary parameter")
                })?;
                multipart::check_boundary(boundary.as_bytes())?;
                Ok(FormKind::Multipart { boundary })
            }
            _ => Err(FormError::UnsupportedMediaType(content_type.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(
            FormError::too_large(Limit::Body, 1).status(),
            Some(StatusCode::PAYLOAD_TOO_LARGE)
        );
        assert_eq!(
            FormError::malformed("x").status(),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            FormError::UnsupportedMediaType("text/plain".into()).status(),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(
            FormError::Io(io::ErrorKind::UnexpectedEof.into()).status(),
            None
        );
    }

    #[test]
    fn messages_name_the_limit() {
        assert_eq!(
            FormError::too_large(Limit::File, 10).to_string(),
            "uploaded file larger than 10 bytes"
        );
        assert_eq!(
            FormError::too_large(Limit::NumFields, 1000).to_string(),
            "more form fields than 1000"
        );
    }

    #[test]
    fn form_errors_survive_a_trip_through_io_error() {
        let io: io::Error = FormError::too_large(Limit::Field, 5).into();
        assert_eq!(io.kind(), io::ErrorKind::InvalidData);
        let back = FormError::from(io);
        assert!(matches!(
            back,
            FormError::TooLarge {
                limit: Limit::Field,
                max: 5
            }
        ));
        let plain = FormError::from(io::Error::from(io::ErrorKind::UnexpectedEof));
        assert!(matches!(plain, FormError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof));
    }

    #[test]
    fn content_types() {
        let table: &[(&str, Option<FormKind>)] = &[
            (
                "application/x-www-form-urlencoded",
                Some(FormKind::Urlencoded),
            ),
            (
                "Application/X-WWW-Form-Urlencoded ; charset=utf-8",
                Some(FormKind::Urlencoded),
            ),
            (
                "multipart/form-data; boundary=----WebKitFormBoundaryx",
                Some(FormKind::Multipart {
                    boundary: "----WebKitFormBoundaryx".into(),
                }),
            ),
            (
                "multipart/form-data;boundary=\"q\\\"x\"",
                Some(FormKind::Multipart {
                    boundary: "q\"x".into(),
                }),
            ),
            ("multipart/form-data", None),
            ("multipart/form-data; boundary=\"\"", None),
            ("text/plain", None),
            ("", None),
        ];
        for (input, expected) in table {
            let got = FormKind::from_content_type(input).ok();
            assert_eq!(&got, expected, "{input:?}");
        }
        let long = format!("multipart/form-data; boundary={}", "b".repeat(71));
        assert!(FormKind::from_content_type(&long).is_err());
    }
}
