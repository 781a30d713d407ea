//! One part's header section, parsed: `Content-Disposition: form-data;
//! name="…"; filename="…"` (RFC 7578 §4.2), `Content-Type` (§4.4) and
//! every other line as sent. Pure parsing of a block the reader has already
//! found, with no I/O.

use crate::form::params::HeaderParams;
use crate::form::{FormError, Utf8Policy};
use memchr::memmem;

/// The header section of one part, parsed.
#[derive(Clone, Debug)]
pub struct PartHeaders {
    pub(crate) name: String,
    pub(crate) filename: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) raw: Vec<(String, String)>,
}

impl PartHeaders {
    /// The field's name, from `Content-Disposition: form-data; name="…"`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file name, if the part is a file: from `filename*` (RFC 5987,
    /// preferred) or `filename`. Present but empty when a browser submits a
    /// file field with no file chosen. It is what the client sent: never use
    /// it as a path without cleaning it (it may contain `/`, `..`, or an
    /// old browser's full Windows path).
    pub fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// The part's `Content-Type` as sent, if any (RFC 7578 §4.4: `text/plain`
    /// when absent).
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// Whether the part is a file upload: it has a `filename` parameter
    /// (Python's `field.filename is not None`).
    pub fn is_file(&self) -> bool {
        self.filename.is_some()
    }

    /// Every header line of the part as `(name, value)`, in order; values
    /// decoded as UTF-8 with replacement.
    pub fn headers(&self) -> &[(String, String)] {
        &self.raw
    }

    /// The first value of header `name`, matched case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.raw
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Parses a header section without its final empty line, whose lines
    /// end with `nl` (CRLF, or LF for a body that uses bare LF).
    pub(super) fn parse(
        block: &[u8],
        nl: &[u8],
        utf8: Utf8Policy,
    ) -> Result<PartHeaders, FormError> {
        let mut lines: Vec<(String, Vec<u8>)> = Vec::new();
        for line in split_lines(block, nl) {
            if line.is_empty() {
                continue;
            }
            if matches!(line[0], b' ' | b'\t') {
                // obs-fold (RFC 5322 §2.2.3): a continuation line.
                let Some((_, value)) = lines.last_mut() else {
                    return Err(FormError::malformed(
                        "part headers start with a continuation line",
                    ));
                };
                value.push(b' ');
                value.extend_from_slice(trim_ows(line));
                continue;
            }
            let colon = memchr::memchr(b':', line)
                .ok_or_else(|| FormError::malformed("part header line without a colon"))?;
            let name = &line[..colon];
            if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
                return Err(FormError::malformed("invalid part header name"));
            }
            let name = String::from_utf8_lossy(name).into_owned();
            lines.push((name, trim_ows(&line[colon + 1..]).to_vec()));
        }
        let disposition = lines
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-disposition"))
            .ok_or_else(|| FormError::malformed("part without a Content-Disposition header"))?;
        let params = HeaderParams::parse(&disposition.1)?;
        if params.value != "form-data" {
            return Err(FormError::malformed(
                "part's Content-Disposition is not form-data (RFC 7578 §4.2)",
            ));
        }
        let name = params
            .get("name", utf8)?
            .ok_or_else(|| FormError::malformed("part's Content-Disposition has no name"))?;
        let filename = params.get("filename", utf8)?;
        let content_type = lines
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned());
        let raw = lines
            .into_iter()
            .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        Ok(PartHeaders {
            name,
            filename,
            content_type,
            raw,
        })
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn split_lines<'a>(block: &'a [u8], nl: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(block);
    std::iter::from_fn(move || {
        let r = rest?;
        match memmem::find(r, nl) {
            Some(i) => {
                rest = Some(&r[i + nl.len()..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(block: &str) -> Result<PartHeaders, FormError> {
        PartHeaders::parse(block.as_bytes(), b"\r\n", Utf8Policy::default())
    }

    #[test]
    fn disposition_type_and_other_lines() {
        let h = parse(
            "content-disposition: form-data; name=\"f\";\r\n filename=\"a b.txt\"\r\n\
             Content-Type:  text/plain \r\nX-Extra: 1",
        )
        .unwrap();
        assert_eq!(h.name(), "f");
        assert_eq!(h.filename(), Some("a b.txt"));
        assert!(h.is_file());
        assert_eq!(h.content_type(), Some("text/plain"));
        assert_eq!(h.get("x-extra"), Some("1"));
        assert_eq!(h.headers().len(), 3);
    }

    #[test]
    fn lf_only_lines() {
        let block = b"Content-Disposition: form-data; name=a\nContent-Type: x/y";
        let h = PartHeaders::parse(block, b"\n", Utf8Policy::default()).unwrap();
        assert_eq!((h.name(), h.content_type()), ("a", Some("x/y")));
        assert!(!h.is_file());
    }

    #[test]
    fn malformed_sections() {
        for block in [
            "",
            " name=a",
            "Content-Type: text/plain",
            "Content-Disposition: attachment; name=a",
            "Content-Disposition: form-data",
            "Content-Disposition: form-data; name=a\r\nno colon",
            "Content-Disposition: form-data; name=a\r\nBad Name: x",
        ] {
            assert!(parse(block).is_err(), "{block:?}");
        }
    }
}
