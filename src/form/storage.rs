//! [`FieldStorage`]: a whole form read at once, Python's `cgi.FieldStorage`.

use super::multipart::{MultipartReader, PartHeaders};
use super::{FormConfig, FormError, FormKind, Limit, parse_qsl, read_urlencoded};
use crate::handler::Request;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use tempfile::TempPath;

/// The value of a [`Field`]: text in memory, or an uploaded file on disk.
#[derive(Debug)]
pub enum FieldValue {
    /// A text field (a part without a file name, or a urlencoded pair).
    Text(String),
    /// A file field (a part with a `filename` parameter).
    File(UploadedFile),
}

/// An uploaded file, spilled to a temporary file that is removed when this
/// value is dropped (unless [`persist`](UploadedFile::persist)ed).
///
/// No file descriptor stays open: a form with a thousand files does not use
/// a thousand descriptors. [`open`](UploadedFile::open) reopens it for
/// reading.
#[derive(Debug)]
pub struct UploadedFile {
    path: TempPath,
    size: u64,
}

impl UploadedFile {
    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Where the temporary file is, under [`FormConfig::temp_dir`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the file for reading from its start.
    pub fn open(&self) -> io::Result<File> {
        File::open(&self.path)
    }

    /// Moves the file to `to` (on the same file system) and keeps it: it is
    /// no longer removed on drop.
    pub fn persist(self, to: impl AsRef<Path>) -> io::Result<()> {
        self.path.persist(to).map_err(|e| e.error)
    }
}

/// One field of a form, in the order the client sent it.
#[derive(Debug)]
pub struct Field {
    /// The part's headers (for a urlencoded field: just its name).
    part: PartHeaders,
    value: FieldValue,
}

impl Field {
    /// The field's name.
    pub fn name(&self) -> &str {
        self.part.name()
    }

    /// The client's name for an uploaded file (see
    /// [`PartHeaders::filename`] for the caveats); `None` for a text field.
    pub fn filename(&self) -> Option<&str> {
        self.part.filename()
    }

    /// The part's `Content-Type`, if it sent one.
    pub fn content_type(&self) -> Option<&str> {
        self.part.content_type()
    }

    /// The part's header lines (empty for a urlencoded field).
    pub fn headers(&self) -> &[(String, String)] {
        self.part.headers()
    }

    /// All of the part's parsed headers.
    pub fn part_headers(&self) -> &PartHeaders {
        &self.part
    }

    /// The value: text or file.
    pub fn value(&self) -> &FieldValue {
        &self.value
    }

    /// The text of a text field; `None` for a file.
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            FieldValue::Text(t) => Some(t),
            FieldValue::File(_) => None,
        }
    }

    /// The uploaded file of a file field; `None` for text.
    pub fn file(&self) -> Option<&UploadedFile> {
        match &self.value {
            FieldValue::File(f) => Some(f),
            FieldValue::Text(_) => None,
        }
    }

    /// Takes the value out of the field (to persist a file, say).
    pub fn into_value(self) -> FieldValue {
        self.value
    }

    /// Whether the field is a file upload.
    pub fn is_file(&self) -> bool {
        matches!(self.value, FieldValue::File(_))
    }

    /// The value's size in bytes: the text's length or the file's size.
    pub fn size(&self) -> u64 {
        match &self.value {
            FieldValue::Text(t) => t.len() as u64,
            FieldValue::File(f) => f.size,
        }
    }
}

/// A whole form, read eagerly: Python's `cgi.FieldStorage`, which the seed's
/// POST program uses.
///
/// Fields keep the order the client sent them in, and a repeated name gives
/// one [`Field`] per occurrence. Text fields are held in memory (bounded by
/// [`FormConfig::max_field_size`] each and [`FormConfig::max_memory_size`]
/// together); files are spilled to temporary files under
/// [`FormConfig::temp_dir`], bounded by [`FormConfig::max_file_size`], and
/// removed when the `FieldStorage` (or the [`UploadedFile`]) is dropped. On
/// any error — a limit, malformed input, a client that disconnects
/// mid-upload — every temporary file made so far is removed before the error
/// is returned.
///
/// To handle uploads of any size without touching the disk, stream them with
/// [`MultipartReader`] instead.
///
/// ```
/// use basehttp::form::{FieldStorage, FormConfig};
///
/// let form = FieldStorage::parse(
///     &b"tag=a&tag=b&name=dhellmann"[..],
///     "application/x-www-form-urlencoded",
///     &FormConfig::default(),
/// )?;
/// assert_eq!(form.keys().collect::<Vec<_>>(), ["tag", "name"]);
/// assert_eq!(form.getlist("tag"), ["a", "b"]);
/// assert_eq!(form.getvalue("name"), Some("dhellmann"));
/// assert_eq!(form.getvalue("missing"), None);
/// # Ok::<(), basehttp::form::FormError>(())
/// ```
#[derive(Debug, Default)]
pub struct FieldStorage {
    fields: Vec<Field>,
}

impl FieldStorage {
    /// Reads the form of a request, as Python's `FieldStorage(fp=self.rfile,
    /// headers=self.headers, environ={'REQUEST_METHOD': ...})` does: for
    /// `GET` and `HEAD`, the query string of the path; otherwise the body,
    /// encoded as its `Content-Type` says (a missing one is read as
    /// urlencoded, as Python does).
    ///
    /// A `Content-Length` over [`FormConfig::max_body_size`] is refused
    /// before a byte of the body is read (and before a client that sent
    /// `Expect: 100-continue` is invited to send it).
    pub fn from_request(r: &mut Request<'_>, config: &FormConfig) -> Result<Self, FormError> {
        if r.command == "GET" || r.command == "HEAD" {
            let query = r.path.split('#').next().unwrap_or("");
            let query = query.split_once('?').map_or("", |(_, q)| q);
            return Self::from_pairs(parse_qsl(query.as_bytes(), config)?);
        }
        if let (Some(len), Some(max)) = (r.rfile.content_length(), config.max_body_size)
            && len > max
        {
            return Err(FormError::too_large(Limit::Body, max));
        }
        let content_type = r
            .headers
            .get("Content-Type")
            .unwrap_or("application/x-www-form-urlencoded");
        Self::parse(&mut r.rfile, content_type, config)
    }

    /// Reads a form from `body`, encoded as `content_type` (the request's
    /// `Content-Type` value) says.
    pub fn parse<R: Read>(
        body: R,
        content_type: &str,
        config: &FormConfig,
    ) -> Result<Self, FormError> {
        match FormKind::from_content_type(content_type)? {
            FormKind::Urlencoded => Self::from_pairs(read_urlencoded(body, config)?),
            FormKind::Multipart { boundary } => Self::parse_multipart(body, &boundary, config),
        }
    }

    fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, FormError> {
        let fields = pairs
            .into_iter()
            .map(|(name, value)| Field {
                part: PartHeaders {
                    name,
                    filename: None,
                    content_type: None,
                    raw: Vec::new(),
                },
                value: FieldValue::Text(value),
            })
            .collect();
        Ok(FieldStorage { fields })
    }

    /// Reads a `multipart/form-data` body with the given boundary.
    pub fn parse_multipart<R: Read>(
        body: R,
        boundary: &str,
        config: &FormConfig,
    ) -> Result<Self, FormError> {
        let mut reader = MultipartReader::new(body, boundary, config)?;
        // Dropping `fields` on an early return removes its temporary files.
        let mut fields = Vec::new();
        let mut in_memory = 0u64;
        while let Some(mut part) = reader.next_part()? {
            let headers = part.headers().clone();
            let value = if headers.is_file() {
                let mut builder = tempfile::Builder::new();
                builder.prefix("basehttp-upload-");
                let mut temp = match &config.temp_dir {
                    Some(dir) => builder.tempfile_in(dir)?,
                    None => builder.tempfile()?,
                };
                // On error `temp` is dropped here, which removes its file.
                let size = part.copy_to(temp.as_file_mut(), config.max_file_size)?;
                FieldValue::File(UploadedFile {
                    path: temp.into_temp_path(),
                    size,
                })
            } else {
                let text = part.read_text(config.max_field_size)?;
                in_memory += text.len() as u64;
                if in_memory > config.max_memory_size {
                    return Err(FormError::too_large(Limit::Memory, config.max_memory_size));
                }
                FieldValue::Text(text)
            };
            fields.push(Field {
                part: headers,
                value,
            });
        }
        Ok(FieldStorage { fields })
    }

    /// Every field, in the order sent.
    pub fn iter(&self) -> std::slice::Iter<'_, Field> {
        self.fields.iter()
    }

    /// The number of fields (a repeated name counts each time).
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the form has no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The distinct field names, in the order each first appears (Python's
    /// `keys()`, but ordered).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .enumerate()
            .filter(|(i, f)| !self.fields[..*i].iter().any(|g| g.name() == f.name()))
            .map(|(_, f)| f.name())
    }

    /// Whether a field called `name` was sent (Python's `name in form`).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The first field called `name`.
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name() == name)
    }

    /// Every field called `name`, in order.
    pub fn get_all<'s, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s Field> + 'n
    where
        's: 'n,
    {
        self.fields.iter().filter(move |f| f.name() == name)
    }

    /// The text of the first text field called `name` (Python's
    /// `getfirst(name)`; files are skipped, read them with [`get`](Self::get)).
    pub fn getvalue(&self, name: &str) -> Option<&str> {
        self.get_all(name).find_map(Field::text)
    }

    /// The texts of every text field called `name`, in order (Python's
    /// `getlist(name)`).
    pub fn getlist(&self, name: &str) -> Vec<&str> {
        self.get_all(name).filter_map(Field::text).collect()
    }

    /// The fields, to take files out of them.
    pub fn into_fields(self) -> Vec<Field> {
        self.fields
    }
}

impl<'a> IntoIterator for &'a FieldStorage {
    type Item = &'a Field;
    type IntoIter = std::slice::Iter<'a, Field>;

    fn into_iter(self) -> Self::IntoIter {
        self.fields.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &Path) -> FormConfig {
        FormConfig {
            temp_dir: Some(dir.to_path_buf()),
            ..FormConfig::default()
        }
    }

    fn entries(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    const BODY: &[u8] = b"--B\r\n\
        Content-Disposition: form-data; name=\"a\"\r\n\r\n\
        1\r\n\
        --B\r\n\
        Content-Disposition: form-data; name=\"f\"; filename=\"one.txt\"\r\n\
        Content-Type: text/plain\r\n\r\n\
        first file\r\n\
        --B\r\n\
        Content-Disposition: form-data; name=\"a\"\r\n\r\n\
        2\r\n\
        --B\r\n\
        Content-Disposition: form-data; name=\"f\"; filename=\"\"\r\n\
        Content-Type: application/octet-stream\r\n\r\n\
        \r\n\
        --B--\r\n";

    #[test]
    fn multipart_fields_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let form = FieldStorage::parse(
            BODY,
            "multipart/form-data; boundary=B",
            &config_in(dir.path()),
        )
        .unwrap();
        let names: Vec<_> = form.iter().map(Field::name).collect();
        assert_eq!(names, ["a", "f", "a", "f"]);
        assert_eq!(form.keys().collect::<Vec<_>>(), ["a", "f"]);
        assert_eq!(form.getlist("a"), ["1", "2"]);
        assert_eq!(form.getvalue("f"), None);
        let files: Vec<_> = form.get_all("f").collect();
        assert_eq!(files[0].filename(), Some("one.txt"));
        assert_eq!(files[0].content_type(), Some("text/plain"));
        let upload = files[0].file().unwrap();
        assert_eq!(upload.size(), 10);
        let mut text = String::new();
        upload.open().unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "first file");
        assert_eq!(files[1].filename(), Some(""));
        assert_eq!(files[1].size(), 0);
        assert_eq!(entries(dir.path()), 2);
        drop(form);
        assert_eq!(entries(dir.path()), 0, "temporary files removed on drop");
    }

    #[test]
    fn persisted_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        let form = FieldStorage::parse(
            BODY,
            "multipart/form-data; boundary=B",
            &config_in(dir.path()),
        )
        .unwrap();
        let keep = dir.path().join("kept.txt");
        for field in form.into_fields() {
            if field.filename() == Some("one.txt")
                && let FieldValue::File(f) = field.into_value()
            {
                f.persist(&keep).unwrap();
            }
        }
        assert_eq!(std::fs::read(&keep).unwrap(), b"first file");
        assert_eq!(entries(dir.path()), 1);
    }

    #[test]
    fn every_error_removes_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let truncated = &BODY[..BODY.len() - 8];
        let cases: Vec<(&[u8], FormConfig)> = vec![
            (truncated, config_in(dir.path())),
            (
                BODY,
                FormConfig {
                    max_file_size: Some(5),
                    ..config_in(dir.path())
                },
            ),
            (
                BODY,
                FormConfig {
                    max_num_fields: Some(3),
                    ..config_in(dir.path())
                },
            ),
            (
                BODY,
                FormConfig {
                    max_body_size: Some(BODY.len() as u64 - 3),
                    ..config_in(dir.path())
                },
            ),
            (
                BODY,
                FormConfig {
                    max_memory_size: 1,
                    ..config_in(dir.path())
                },
            ),
        ];
        for (body, config) in cases {
            let err =
                FieldStorage::parse(body, "multipart/form-data; boundary=B", &config).unwrap_err();
            assert!(err.status().is_some(), "{err}");
            assert_eq!(entries(dir.path()), 0, "after {err}");
        }
    }

    #[test]
    fn disconnect_mid_upload_removes_temporary_files() {
        struct Breaks<'a>(&'a [u8]);
        impl Read for Breaks<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "client closed",
                    ));
                }
                let n = out.len().min(self.0.len()).min(7);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let err = FieldStorage::parse(
            Breaks(&BODY[..90]),
            "multipart/form-data; boundary=B",
            &config_in(dir.path()),
        )
        .unwrap_err();
        assert!(matches!(&err, FormError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof));
        assert_eq!(entries(dir.path()), 0);
    }

    #[test]
    fn unsupported_content_type() {
        let err = FieldStorage::parse(&b"x"[..], "text/plain", &FormConfig::default()).unwrap_err();
        assert_eq!(err.status(), Some(http::StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
}
