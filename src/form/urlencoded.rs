//! Query strings and `application/x-www-form-urlencoded` bodies: Python's
//! `urllib.parse.parse_qsl`.
//!
//! The syntax (WHATWG URL Standard, "application/x-www-form-urlencoded
//! parsing"): pairs separated by `&`, name and value separated by the first
//! `=`, `+` standing for a space, and `%XX` for any byte. A `%` not followed
//! by two hex digits stays as it is. The decoded bytes are UTF-8.

use super::{FormConfig, FormError, Limit};
use percent_encoding::percent_decode;
use std::borrow::Cow;
use std::io::Read;

/// Parses a query string or urlencoded body into `(name, value)` pairs, in
/// order, as Python's `parse_qsl` does:
///
/// - `+` is a space and `%XX` a byte; the bytes are decoded as UTF-8 under
///   [`FormConfig::utf8`] (replacement by default, or an error);
/// - a pair with an empty value (`a=` or just `a`) is dropped unless
///   [`FormConfig::keep_blank_values`], and empty segments (`a=1&&b=2`)
///   always are;
/// - more than [`FormConfig::max_num_fields`] pairs is an error (413) found
///   before anything is decoded; a value longer than
///   [`FormConfig::max_field_size`] is one too.
///
/// A leading `?` is not stripped: pass the part after it.
///
/// ```
/// use basehttp::form::{parse_qsl, FormConfig, Utf8Policy};
///
/// let config = FormConfig::default();
/// assert_eq!(
///     parse_qsl(b"q=rust+http&lang=en&q=%E2%9C%93&empty=", &config)?,
///     [("q", "rust http"), ("lang", "en"), ("q", "\u{2713}")]
///         .map(|(n, v)| (n.to_string(), v.to_string())),
/// );
///
/// let keep = FormConfig { keep_blank_values: true, ..FormConfig::default() };
/// assert_eq!(parse_qsl(b"a=&b", &keep)?.len(), 2);
///
/// let strict = FormConfig { utf8: Utf8Policy::Strict, ..FormConfig::default() };
/// assert!(parse_qsl(b"bad=%FF", &strict).is_err());
/// assert_eq!(parse_qsl(b"bad=%FF", &config)?[0].1, "\u{fffd}");
/// # Ok::<(), basehttp::form::FormError>(())
/// ```
pub fn parse_qsl(input: &[u8], config: &FormConfig) -> Result<Vec<(String, String)>, FormError> {
    let segments = || input.split(|&b| b == b'&').filter(|s| !s.is_empty());
    if let Some(max) = config.max_num_fields {
        // Counted before any decoding or allocation per field, so a flood of
        // tiny fields costs one pass over the bytes (bpo-34866).
        if segments().count() > max {
            return Err(FormError::too_large(Limit::NumFields, max as u64));
        }
    }
    let mut pairs = Vec::new();
    for segment in segments() {
        let (name, value) = match memchr::memchr(b'=', segment) {
            Some(i) => (&segment[..i], &segment[i + 1..]),
            None => (segment, &b""[..]),
        };
        if value.is_empty() && !config.keep_blank_values {
            continue;
        }
        let name = decode(name);
        let value = decode(value);
        if value.len() as u64 > config.max_field_size {
            return Err(FormError::too_large(Limit::Field, config.max_field_size));
        }
        let name = config.utf8.decode(name, "a field name")?;
        let value = config.utf8.decode(value, "a field value")?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// `+` to space, then percent-decoding; borrows when there is neither.
fn decode(raw: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr(b'+', raw).is_some() {
        let spaced: Vec<u8> = raw
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        Cow::Owned(Cow::<[u8]>::from(percent_decode(&spaced)).into_owned())
    } else {
        percent_decode(raw).into()
    }
}

/// Reads a whole urlencoded body from `body` and parses it with
/// [`parse_qsl`]. The body is held in memory, so it may be at most
/// [`FormConfig::max_memory_size`] bytes (and
/// [`FormConfig::max_body_size`]); past either: 413, found without reading
/// further than one byte over.
///
/// ```
/// use basehttp::form::{read_urlencoded, FormConfig};
///
/// let pairs = read_urlencoded(&b"name=dhellmann&foo=bar"[..], &FormConfig::default())?;
/// assert_eq!(pairs[1], ("foo".to_string(), "bar".to_string()));
/// # Ok::<(), basehttp::form::FormError>(())
/// ```
pub fn read_urlencoded<R: Read>(
    body: R,
    config: &FormConfig,
) -> Result<Vec<(String, String)>, FormError> {
    let (max, limit) = match config.max_body_size {
        Some(b) if b < config.max_memory_size => (b, Limit::Body),
        _ => (config.max_memory_size, Limit::Memory),
    };
    let mut data = Vec::new();
    body.take(max.saturating_add(1)).read_to_end(&mut data)?;
    if data.len() as u64 > max {
        return Err(FormError::too_large(limit, max));
    }
    parse_qsl(&data, config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::Utf8Policy;

    /// Raw input and the pairs expected from it.
    type Case<'a> = (&'a [u8], &'a [(&'a str, &'a str)]);

    fn pairs(input: &[u8], config: &FormConfig) -> Vec<(String, String)> {
        parse_qsl(input, config).unwrap()
    }

    fn owned(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn table_like_pythons_parse_qsl() {
        // Each row checked against Python 3.11's
        // urllib.parse.parse_qsl(input) with the defaults.
        let table: &[Case<'_>] = &[
            (b"", &[]),
            (b"&", &[]),
            (b"&&", &[]),
            (b"=", &[]),
            (b"=a", &[("", "a")]),
            (b"a", &[]),
            (b"a=", &[]),
            (b"a=1", &[("a", "1")]),
            (b"a=1&", &[("a", "1")]),
            (b"&a=1", &[("a", "1")]),
            (b"a=1&a=2", &[("a", "1"), ("a", "2")]),
            (b"a=1&&b=2", &[("a", "1"), ("b", "2")]),
            (b"a=b=c", &[("a", "b=c")]),
            (b"a+b=c+d", &[("a b", "c d")]),
            (b"a%20b=c%2Bd", &[("a b", "c+d")]),
            (b"a=%", &[("a", "%")]),
            (b"a=%4", &[("a", "%4")]),
            (b"a=%zz", &[("a", "%zz")]),
            (b"a=%41%42", &[("a", "AB")]),
            (b"a=%e2%9c%93", &[("a", "\u{2713}")]),
            (b"a=1;b=2", &[("a", "1;b=2")]),
            (b"a=%FF", &[("a", "\u{fffd}")]),
            (b"\xc3\xa9=\xc3\xa9", &[("\u{e9}", "\u{e9}")]),
        ];
        let config = FormConfig::default();
        for (input, expected) in table {
            assert_eq!(
                pairs(input, &config),
                owned(expected),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn keep_blank_values() {
        let config = FormConfig {
            keep_blank_values: true,
            ..FormConfig::default()
        };
        let table: &[Case<'_>] = &[
            (b"a", &[("a", "")]),
            (b"a=", &[("a", "")]),
            (b"a=&b", &[("a", ""), ("b", "")]),
            (b"=", &[("", "")]),
            (b"&&", &[]),
        ];
        for (input, expected) in table {
            assert_eq!(pairs(input, &config), owned(expected));
        }
    }

    #[test]
    fn strict_utf8_is_an_error() {
        let config = FormConfig {
            utf8: Utf8Policy::Strict,
            ..FormConfig::default()
        };
        for bad in [&b"a=%FF"[..], b"%C3=1", b"a=\xff", b"a=%e2%9c"] {
            let err = parse_qsl(bad, &config).unwrap_err();
            assert!(
                matches!(err, FormError::InvalidUtf8 { .. }),
                "{bad:?}: {err}"
            );
            assert_eq!(err.status(), Some(http::StatusCode::BAD_REQUEST));
        }
        assert_eq!(pairs(b"a=%e2%9c%93", &config), owned(&[("a", "\u{2713}")]));
    }

    #[test]
    fn max_num_fields() {
        let config = FormConfig {
            max_num_fields: Some(3),
            ..FormConfig::default()
        };
        assert_eq!(pairs(b"a=1&b=2&c=3", &config).len(), 3);
        // Empty segments do not count.
        assert_eq!(pairs(b"a=1&&b=2&&c=3&", &config).len(), 3);
        let err = parse_qsl(b"a=1&b=2&c=3&d=4", &config).unwrap_err();
        assert!(matches!(
            err,
            FormError::TooLarge {
                limit: Limit::NumFields,
                max: 3
            }
        ));
        // Blank fields count even though they are dropped: the limit bounds
        // the work, not the result.
        assert!(parse_qsl(b"a&b&c&d", &config).is_err());
        let unlimited = FormConfig {
            max_num_fields: None,
            ..FormConfig::default()
        };
        let many = "a=1&".repeat(5000);
        assert_eq!(pairs(many.as_bytes(), &unlimited).len(), 5000);
    }

    #[test]
    fn max_field_size_counts_decoded_bytes() {
        let config = FormConfig {
            max_field_size: 3,
            ..FormConfig::default()
        };
        assert_eq!(pairs(b"a=%41%42%43", &config), owned(&[("a", "ABC")]));
        assert!(matches!(
            parse_qsl(b"a=abcd", &config),
            Err(FormError::TooLarge {
                limit: Limit::Field,
                ..
            })
        ));
    }

    #[test]
    fn read_urlencoded_limits_memory() {
        let config = FormConfig {
            max_memory_size: 8,
            ..FormConfig::default()
        };
        assert_eq!(read_urlencoded(&b"a=1&b=22"[..], &config).unwrap().len(), 2);
        assert!(matches!(
            read_urlencoded(&b"a=1&b=222"[..], &config),
            Err(FormError::TooLarge {
                limit: Limit::Memory,
                max: 8
            })
        ));
        let body_limit = FormConfig {
            max_body_size: Some(4),
            ..FormConfig::default()
        };
        assert!(matches!(
            read_urlencoded(&b"a=123"[..], &body_limit),
            Err(FormError::TooLarge {
                limit: Limit::Body,
                max: 4
            })
        ));
    }
}
