//! [`Headers`]: the request's header fields, a view over the request head.

use http::{HeaderMap, HeaderName, HeaderValue};
use std::fmt;

/// The request's header fields, in the order they were sent: a view over the
/// request head, with no copying. Names match case-insensitively.
#[derive(Clone, Copy)]
pub struct Headers<'a> {
    head: &'a [u8],
    spans: &'a [crate::proto::HeaderSpan],
}

impl<'a> Headers<'a> {
    pub(crate) fn new(head: &'a [u8], spans: &'a [crate::proto::HeaderSpan]) -> Self {
        Headers { head, spans }
    }

    /// The first value of the field `name`, if present and valid UTF-8 (see
    /// [`get_bytes`](Headers::get_bytes) for the raw bytes). Like Python's
    /// `self.headers.get(name)`.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.get_bytes(name)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first value of the field `name`, as the bytes sent.
    pub fn get_bytes(&self, name: &str) -> Option<&'a [u8]> {
        self.get_all(name).next()
    }

    /// Every value of the field `name`, in order.
    pub fn get_all<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + 'n
    where
        'a: 'n,
    {
        let head = self.head;
        self.spans
            .iter()
            .filter(move |s| s.name(head).eq_ignore_ascii_case(name.as_bytes()))
            .map(move |s| s.value(head))
    }

    /// Whether the field `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get_bytes(name).is_some()
    }

    /// Every field as `(name, value)`, in the order sent.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        let head = self.head;
        self.spans.iter().map(move |s| {
            // Names were checked to be tokens, which are ASCII.
            (
                std::str::from_utf8(s.name(head)).unwrap_or(""),
                s.value(head),
            )
        })
    }

    /// The number of header fields.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no header fields.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// A copy as an [`http::HeaderMap`], for code that speaks the `http`
    /// crate's types. Allocates; the view itself never does.
    pub fn to_header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.len());
        for (name, value) in self.iter() {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value),
            ) {
                map.append(n, v);
            }
        }
        map
    }
}

impl fmt::Debug for Headers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(n, v)| (n, String::from_utf8_lossy(v))))
            .finish()
    }
}

/// Python's `str(headers)`: each field as `Name: value` on its own line.
impl fmt::Display for Headers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, v) in self.iter() {
            writeln!(f, "{n}: {}", String::from_utf8_lossy(v))?;
        }
        Ok(())
    }
}
