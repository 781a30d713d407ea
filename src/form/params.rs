//! Header values with parameters: `multipart/form-data; boundary=x` and
//! `form-data; name="a"; filename="b.txt"`.
//!
//! The grammar is RFC 9110 §5.6.6 (`token` or `quoted-string` values), with
//! two extensions that senders of file names use:
//!
//! - RFC 5987 / RFC 8187 extended values, `filename*=UTF-8''na%C3%AFve.txt`,
//!   which win over the plain parameter (RFC 6266 §4.3);
//! - RFC 2231 continuations, `filename*0*=UTF-8''…; filename*1*=…`, which
//!   Python's `email` package writes for long non-ASCII names.
//!
//! Quoted strings unescape `\"` and `\\` only, as Python's
//! `email.utils.unquote` does, so an old browser's unescaped Windows path
//! (`C:\dir\f.txt`) keeps its backslashes. Browsers write `"` in a name as
//! `%22` (HTML's form-data encoding); that is *not* decoded, as in Python
//! and Go: a name is given as sent.

use super::{FormError, Utf8Policy};
use percent_encoding::percent_decode;
use std::borrow::Cow;

/// A header value split into its lowercased main value and its parameters.
#[derive(Debug)]
pub(crate) struct HeaderParams {
    /// `multipart/form-data`, `form-data`: lowercased, trimmed.
    pub(crate) value: String,
    /// `(lowercased name, unquoted value bytes)` in order.
    params: Vec<(String, Vec<u8>)>,
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s
        && is_ows(*first)
    {
        s = rest;
    }
    while let [rest @ .., last] = s
        && is_ows(*last)
    {
        s = rest;
    }
    s
}

impl HeaderParams {
    /// Splits `input` at the semicolons that are not inside quoted strings.
    pub(crate) fn parse(input: &[u8]) -> Result<HeaderParams, FormError> {
        let main_end = input.iter().position(|&b| b == b';').unwrap_or(input.len());
        let value = String::from_utf8_lossy(trim(&input[..main_end])).to_ascii_lowercase();
        let mut params = Vec::new();
        let mut i = main_end;
        while i < input.len() {
            // input[i] is ';'.
            i += 1;
            while i < input.len() && is_ows(input[i]) {
                i += 1;
            }
            let name_start = i;
            while i < input.len() && input[i] != b'=' && input[i] != b';' {
                i += 1;
            }
            let name = trim(&input[name_start..i]);
            if i >= input.len() || input[i] == b';' {
                // A parameter without `=`: ignored, as by Python's email.
                continue;
            }
            i += 1; // '='
            while i < input.len() && is_ows(input[i]) {
                i += 1;
            }
            let mut val = Vec::new();
            if input.get(i) == Some(&b'"') {
                i += 1;
                let mut closed = false;
                while i < input.len() {
                    match input[i] {
                        b'"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        b'\\' if matches!(input.get(i + 1), Some(b'"' | b'\\')) => {
                            val.push(input[i + 1]);
                            i += 2;
                        }
                        b => {
                            val.push(b);
                            i += 1;
                        }
                    }
                }
                if !closed {
                    return Err(FormError::malformed(
                        "unterminated quoted string in a header",
                    ));
                }
                // Anything between the closing quote and the next ';' is
                // ignored.
                while i < input.len() && input[i] != b';' {
                    i += 1;
                }
            } else {
                let start = i;
                while i < input.len() && input[i] != b';' {
                    i += 1;
                }
                val.extend_from_slice(trim(&input[start..i]));
            }
            if !name.is_empty() {
                params.push((String::from_utf8_lossy(name).to_ascii_lowercase(), val));
            }
        }
        Ok(HeaderParams { value, params })
    }

    fn raw(&self, name: &str) -> Option<&[u8]> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The parameter `name` decoded to text: the extended form `name*` if
    /// present and decodable, else the RFC 2231 continuations `name*0…`,
    /// else the plain `name` (decoded as UTF-8 under `utf8`).
    pub(crate) fn get(&self, name: &str, utf8: Utf8Policy) -> Result<Option<String>, FormError> {
        let star = format!("{name}*");
        if let Some(ext) = self.raw(&star)
            && let Some(text) = decode_ext_value(ext, utf8)?
        {
            return Ok(Some(text));
        }
        if let Some(text) = self.continuation(name, utf8)? {
            return Ok(Some(text));
        }
        match self.raw(name) {
            Some(v) => Ok(Some(utf8.decode(Cow::Borrowed(v), "a header parameter")?)),
            None => Ok(None),
        }
    }

    /// RFC 2231 §3-4: `name*0`, `name*1`, … (plain) or `name*0*`, `name*1*`,
    /// … (percent-encoded, the first with `charset'language'`), joined in
    /// order of their numbers; numbering must start at 0 and have no gaps.
    fn continuation(&self, name: &str, utf8: Utf8Policy) -> Result<Option<String>, FormError> {
        let prefix = format!("{name}*");
        let mut segments: Vec<(u32, bool, &[u8])> = Vec::new();
        for (n, v) in &self.params {
            let Some(rest) = n.strip_prefix(&prefix) else {
                continue;
            };
            let (digits, encoded) = match rest.strip_suffix('*') {
                Some(d) => (d, true),
                None => (rest, false),
            };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            // RFC 2231: no leading zeros ("name*01" is not segment 1).
            if digits.len() > 1 && digits.starts_with('0') {
                continue;
            }
            let Ok(index) = digits.parse::<u32>() else {
                continue;
            };
            segments.push((index, encoded, v));
        }
        if segments.is_empty() {
            return Ok(None);
        }
        segments.sort_by_key(|s| s.0);
        if segments
            .iter()
            .enumerate()
            .any(|(i, s)| usize::try_from(s.0).ok() != Some(i))
        {
            return Err(FormError::malformed(
                "RFC 2231 parameter continuations are not numbered 0, 1, 2, ...",
            ));
        }
        let mut charset = Charset::Utf8;
        let mut bytes = Vec::new();
        for (index, encoded, value) in segments {
            if encoded {
                let mut value = value;
                if index == 0 {
                    let (cs, rest) = split_ext_value(value).ok_or_else(|| {
                        FormError::malformed("RFC 2231 value without charset'language'")
                    })?;
                    charset = match Charset::from_name(cs) {
                        Some(c) => c,
                        None => return Ok(None),
                    };
                    value = rest;
                }
                bytes.extend(percent_decode(value));
            } else {
                bytes.extend_from_slice(value);
            }
        }
        charset.decode(bytes, utf8).map(Some)
    }
}

/// The charsets an RFC 5987 value may name that we decode.
#[derive(Clone, Copy)]
enum Charset {
    Utf8,
    Latin1,
}

impl Charset {
    fn from_name(name: &[u8]) -> Option<Charset> {
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        match name.as_str() {
            // RFC 8187 requires UTF-8 support; ASCII is a subset.
            "utf-8" | "utf8" | "us-ascii" | "" => Some(Charset::Utf8),
            "iso-8859-1" | "latin1" | "latin-1" => Some(Charset::Latin1),
            _ => None,
        }
    }

    fn decode(self, bytes: Vec<u8>, utf8: Utf8Policy) -> Result<String, FormError> {
        match self {
            Charset::Utf8 => utf8.decode(Cow::Owned(bytes), "an extended header parameter"),
            Charset::Latin1 => Ok(bytes.into_iter().map(char::from).collect()),
        }
    }
}

/// `charset'language'value` → (charset, value).
fn split_ext_value(v: &[u8]) -> Option<(&[u8], &[u8])> {
    let first = v.iter().position(|&b| b == b'\'')?;
    let second = first + 1 + v[first + 1..].iter().position(|&b| b == b'\'')?;
    Some((&v[..first], &v[second + 1..]))
}

/// Decodes an RFC 5987 `ext-value`; `None` for a charset we do not know (the
/// caller then falls back to the plain parameter).
fn decode_ext_value(v: &[u8], utf8: Utf8Policy) -> Result<Option<String>, FormError> {
    let (charset, value) = split_ext_value(v).ok_or_else(|| {
        FormError::malformed("extended header parameter without charset'language'")
    })?;
    let Some(charset) = Charset::from_name(charset) else {
        return Ok(None);
    };
    let bytes: Vec<u8> = percent_decode(value).collect();
    charset.decode(bytes, utf8).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(header: &str, name: &str) -> Option<String> {
        HeaderParams::parse(header.as_bytes())
            .unwrap()
            .get(name, Utf8Policy::Strict)
            .unwrap()
    }

    #[test]
    fn main_value_and_plain_parameters() {
        let p = HeaderParams::parse(b" Form-Data ; name=\"a\"; filename=b.txt ").unwrap();
        assert_eq!(p.value, "form-data");
        assert_eq!(
            p.get("name", Utf8Policy::Strict).unwrap().as_deref(),
            Some("a")
        );
        assert_eq!(
            p.get("filename", Utf8Policy::Strict).unwrap().as_deref(),
            Some("b.txt")
        );
        assert_eq!(p.get("other", Utf8Policy::Strict).unwrap(), None);
    }

    #[test]
    fn parameter_names_are_case_insensitive() {
        assert_eq!(param("form-data; NAME=\"x\"", "name").as_deref(), Some("x"));
    }

    #[test]
    fn quoted_strings() {
        let table = [
            (r#"form-data; name="a;b""#, "a;b"),
            (r#"form-data; name="say \"hi\"""#, "say \"hi\""),
            (r#"form-data; name="back\\slash""#, "back\\slash"),
            // An old browser's Windows path: lone backslashes stay.
            (r#"form-data; name="C:\dir\f.txt""#, "C:\\dir\\f.txt"),
            (r#"form-data; name="""#, ""),
            (r#"form-data; name="%22quoted%22""#, "%22quoted%22"),
            (
                "form-data; name=\"na\u{ef}ve r\u{e9}sum\u{e9}.txt\"",
                "na\u{ef}ve r\u{e9}sum\u{e9}.txt",
            ),
        ];
        for (header, expected) in table {
            assert_eq!(param(header, "name").as_deref(), Some(expected), "{header}");
        }
    }

    #[test]
    fn unterminated_quoted_string_is_malformed() {
        assert!(HeaderParams::parse(b"form-data; name=\"abc").is_err());
    }

    #[test]
    fn extended_value_wins_over_plain() {
        assert_eq!(
            param(
                "form-data; filename=\"fallback.txt\"; filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.txt",
                "filename"
            )
            .as_deref(),
            Some("na\u{ef}ve r\u{e9}sum\u{e9}.txt")
        );
        assert_eq!(
            param("form-data; filename*=iso-8859-1'en'%E9t%E9.txt", "filename").as_deref(),
            Some("\u{e9}t\u{e9}.txt")
        );
    }

    #[test]
    fn unknown_charset_falls_back_to_plain() {
        assert_eq!(
            param(
                "form-data; filename*=koi8-r''%C1; filename=\"plain.txt\"",
                "filename"
            )
            .as_deref(),
            Some("plain.txt")
        );
    }

    #[test]
    fn rfc2231_continuations() {
        assert_eq!(
            param(
                "form-data; filename*1*=%C3%A9sum%C3%A9.txt; filename*0*=utf-8''na%C3%AFve%20r",
                "filename"
            )
            .as_deref(),
            Some("na\u{ef}ve r\u{e9}sum\u{e9}.txt")
        );
        assert_eq!(
            param("x; title*0=\"part one \"; title*1=two", "title").as_deref(),
            Some("part one two")
        );
        // A gap in the numbering.
        let p = HeaderParams::parse(b"x; t*0=a; t*2=c").unwrap();
        assert!(p.get("t", Utf8Policy::Strict).is_err());
    }

    #[test]
    fn invalid_utf8_follows_the_policy() {
        let p = HeaderParams::parse(b"form-data; name=\"\xff\"").unwrap();
        assert!(matches!(
            p.get("name", Utf8Policy::Strict),
            Err(FormError::InvalidUtf8 { .. })
        ));
        assert_eq!(
            p.get("name", Utf8Policy::Replace).unwrap().as_deref(),
            Some("\u{fffd}")
        );
        let p = HeaderParams::parse(b"form-data; name*=utf-8''%FF").unwrap();
        assert!(p.get("name", Utf8Policy::Strict).is_err());
    }

    #[test]
    fn parameters_without_value_are_ignored() {
        assert_eq!(
            param("form-data; flag; name=a", "name").as_deref(),
            Some("a")
        );
    }
}
