//! Content negotiation (RFC 9110 §12): reading what a client says it
//! accepts, `Accept` (media types) and `Accept-Encoding` (content codings),
//! each a list of names with an optional weight, `q`, from 0 to 1:
//!
//! ```text
//! Accept: text/html,application/xhtml+xml,*/*;q=0.8
//! Accept-Encoding: gzip, br;q=1.0, zstd;q=0.5, *;q=0
//! ```
//!
//! A weight of 0 means "not acceptable". Weights are read as thousandths
//! (§12.4.2 allows three decimals), so no floating point is involved; an
//! element whose weight does not parse is ignored, as if not listed.

/// A weight in thousandths: 1000 is `q=1`, 0 is "not acceptable".
pub(super) type Quality = u16;

/// The weight the lists in `values` give to `name` itself (compared without
/// regard to case), not through a wildcard; `None` if it is not named. If it
/// is named twice, the first counts.
pub(super) fn named_quality<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
    name: &str,
) -> Option<Quality> {
    values
        .into_iter()
        .flat_map(|value| value.split(|&b| b == b','))
        .filter_map(element)
        .find(|(token, _)| token.eq_ignore_ascii_case(name.as_bytes()))
        .and_then(|(_, q)| q)
}

/// One list element: its name and its weight (`None` if the weight does
/// not parse), or `None` for an empty element.
fn element(raw: &[u8]) -> Option<(&[u8], Option<Quality>)> {
    let mut params = raw.split(|&b| b == b';');
    let token = params.next().unwrap_or_default().trim_ascii();
    if token.is_empty() {
        return None;
    }
    let mut q = Some(1000);
    for param in params {
        let Some((key, value)) = split_once(param, b'=') else {
            continue;
        };
        if key.trim_ascii().eq_ignore_ascii_case(b"q") {
            q = parse_qvalue(value.trim_ascii());
        }
    }
    Some((token, q))
}

fn split_once(bytes: &[u8], at: u8) -> Option<(&[u8], &[u8])> {
    let i = bytes.iter().position(|&b| b == at)?;
    Some((&bytes[..i], &bytes[i + 1..]))
}

/// RFC 9110 §12.4.2: `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "."
/// 0*3("0") ] )`, in thousandths; anything else is `None`.
fn parse_qvalue(value: &[u8]) -> Option<Quality> {
    let (whole, fraction) = match split_once(value, b'.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (value, &b""[..]),
    };
    if fraction.len() > 3 || !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths: Quality = 0;
    for i in 0..3 {
        let digit = fraction.get(i).map_or(0, |d| Quality::from(d - b'0'));
        thousandths = thousandths * 10 + digit;
    }
    match whole {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Whether `Accept` asks for `media_type` by name, with a weight above 0
/// and not below that of `text/html` when both are named: the test for a
/// script's `Accept: application/json`, which a browser's
/// `text/html,…,*/*;q=0.8` never passes.
/// `accept` gives the values of the `Accept` fields, each time it is called.
pub(super) fn prefers<'a, I: Iterator<Item = &'a [u8]>>(
    accept: impl Fn() -> I,
    media_type: &str,
) -> bool {
    let wanted = named_quality(accept(), media_type).unwrap_or(0);
    let html = named_quality(accept(), "text/html").unwrap_or(0);
    wanted > 0 && wanted >= html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(header: &str, name: &str) -> Option<Quality> {
        named_quality([header.as_bytes()], name)
    }

    #[test]
    fn weights_table() {
        let cases: &[(&str, &str, Option<Quality>)] = &[
            ("gzip", "gzip", Some(1000)),
            ("GZIP", "gzip", Some(1000)),
            ("br;q=0.5", "br", Some(500)),
            ("br ; q=0.25 , gzip", "br", Some(250)),
            ("br;q=0", "br", Some(0)),
            ("br;q=0.000", "br", Some(0)),
            ("br;q=1", "br", Some(1000)),
            ("br;q=1.000", "br", Some(1000)),
            ("br;Q=0.1", "br", Some(100)),
            ("gzip, deflate", "br", None),
            ("*", "br", None),
            ("", "br", None),
            (",,, br", "br", Some(1000)),
            // Bogus weights: the element does not count.
            ("br;q=2", "br", None),
            ("br;q=1.5", "br", None),
            ("br;q=0.0001", "br", None),
            ("br;q=-1", "br", None),
            ("br;q=abc", "br", None),
            ("br;q=", "br", None),
            ("br;q=.5", "br", None),
            ("br;q=0.5x", "br", None),
            ("br;q=\u{e9}", "br", None),
            ("brotli", "br", None),
            ("text/html;level=1;q=0.7", "text/html", Some(700)),
        ];
        for (header, name, want) in cases {
            assert_eq!(q(header, name), *want, "{name} in {header:?}");
        }
    }

    #[test]
    fn json_is_preferred_only_when_asked_for() {
        let prefers_json = |h: &str| prefers(|| [h.as_bytes()].into_iter(), "application/json");
        assert!(prefers_json("application/json"));
        assert!(prefers_json("application/json, text/plain, */*"));
        assert!(prefers_json("text/html;q=0.5, application/json"));
        assert!(!prefers_json("text/html,application/xhtml+xml,*/*;q=0.8"));
        assert!(!prefers_json("*/*"));
        assert!(!prefers_json("application/*"));
        assert!(!prefers_json("application/json;q=0"));
        assert!(!prefers_json("text/html, application/json;q=0.9"));
    }
}
