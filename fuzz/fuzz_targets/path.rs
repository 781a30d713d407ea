//! The files handler's path translation (`parse_target`, Python's
//! `translate_path` made strict) on arbitrary request targets.
//!
//! The input is taken as UTF-8 (invalid bytes replaced), as the request
//! line is. Checks, besides "never panics":
//! - accepted or refused exactly as a model written from the module's docs
//!   says: the path ends at the first `?` or `#`, `http://` and `https://`
//!   (any case) are stripped with the authority, each segment is
//!   percent-decoded on its own; a segment decoding to `..` or containing a
//!   NUL, a `\` or a `/` refuses the target, and the reason given is one of
//!   the segment's faults; empty and `.` segments are dropped;
//! - an accepted path is relative, with no empty, `.` or `..` segment, no
//!   NUL and no `\`, so joined to the served directory it stays under it;
//! - the query is what RFC 3986 calls the query: after the first `?` and
//!   before a `#` (a `?` inside the fragment starts none);
//! - the cache key, the displayed path, a child's path and whether the
//!   path is hidden (a segment starting with `.`) agree with it;
//! - the URL path (links and `Location`) starts with exactly one `/`, has
//!   only unreserved bytes and `%XX` escapes, and translates back to the
//!   same path; the redirect to the directory (`url_path/?query`) translates
//!   back to the same path, with a trailing slash and the same query;
//! - percent-encoding every byte of the path and translating it again
//!   gives the same path (decoding round-trips);
//! - putting `http://host` in front of an origin-form target changes
//!   nothing.
#![no_main]

use basehttp::files::fuzzing::{Translated, path_translation};
use libfuzzer_sys::fuzz_target;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

/// `%XX` with two hex digits is the byte XX; any other `%` is itself.
fn decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let hex = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// The faults a decoded segment can have, as the module names them.
fn faults(segment: &[u8]) -> Vec<&'static str> {
    let mut f = Vec::new();
    if segment == b".." {
        f.push("DotDot");
    }
    if segment.contains(&0) {
        f.push("Nul");
    }
    if segment.contains(&b'\\') {
        f.push("Backslash");
    }
    if segment.contains(&b'/') {
        f.push("EncodedSlash");
    }
    f
}

/// What the docs promise for `target`: `Ok((rel, trailing_slash, query))`,
/// or `Err` with every fault a refusal may name (empty for "not a path").
fn model(target: &str) -> Result<(Vec<u8>, bool, Option<&str>), Vec<&'static str>> {
    let before_fragment = target.split_once('#').map_or(target, |(t, _)| t);
    let (path, query) = match before_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_fragment, None),
    };
    let mut path = path;
    for scheme in ["http://", "https://"] {
        if path.len() >= scheme.len()
            && path.as_bytes()[..scheme.len()].eq_ignore_ascii_case(scheme.as_bytes())
        {
            let rest = &path[scheme.len()..];
            path = rest.find('/').map_or("/", |i| &rest[i..]);
            break;
        }
    }
    let Some(path) = path.strip_prefix('/') else {
        return Err(Vec::new());
    };
    let mut all_faults = Vec::new();
    let mut segments = Vec::new();
    for raw in path.split('/') {
        let segment = decode(raw);
        all_faults.extend(faults(&segment));
        if !segment.is_empty() && segment != b"." {
            segments.push(segment);
        }
    }
    if !all_faults.is_empty() {
        return Err(all_faults);
    }
    let last = decode(path.rsplit('/').next().unwrap_or(""));
    let trailing_slash = last.is_empty() || last == b".";
    Ok((segments.join(&b'/'), trailing_slash, query))
}

/// Every byte as `%XX`.
fn encode_all(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

fn check_accepted(t: &Translated) {
    let rel = &t.rel[..];
    // A relative path made of plain names only.
    assert!(!rel.starts_with(b"/") && !rel.ends_with(b"/"), "{t:?}");
    if !rel.is_empty() {
        for segment in rel.split(|&b| b == b'/') {
            assert!(faults(segment).is_empty(), "{t:?}");
            assert!(!segment.is_empty() && segment != b".", "{t:?}");
        }
    }
    assert!(!rel.contains(&0) && !rel.contains(&b'\\'), "{t:?}");
    let as_path = Path::new(OsStr::from_bytes(rel));
    assert!(as_path.is_relative(), "{t:?}");
    assert!(
        as_path
            .components()
            .all(|c| matches!(c, Component::Normal(_))),
        "{t:?}"
    );
    assert!(Path::new("/srv").join(as_path).starts_with("/srv"), "{t:?}");

    // What the handler derives from it.
    let mut with_slash = rel.to_vec();
    with_slash.push(b'/');
    let key: &[u8] = if t.trailing_slash { &with_slash } else { rel };
    assert_eq!(t.cache_key, key, "{t:?}");
    let display = if rel.is_empty() {
        "/".to_string()
    } else {
        format!("/{}/", String::from_utf8_lossy(rel))
    };
    assert_eq!(t.display_path, display, "{t:?}");
    let child = if rel.is_empty() {
        b"x".to_vec()
    } else {
        [rel, b"/x"].concat()
    };
    assert_eq!(t.child_x, child, "{t:?}");

    // Hidden: a segment that starts with `.`, decoded (`/%2egit`).
    let hidden = rel.split(|&b| b == b'/').any(|s| s.first() == Some(&b'.'));
    assert_eq!(t.hidden, hidden, "{t:?}");

    // The URL path: one leading `/`, unreserved bytes and escapes only.
    let url = &t.url_path;
    assert!(url.starts_with('/') && !url.starts_with("//"), "{t:?}");
    assert_eq!(url == "/", rel.is_empty(), "{t:?}");
    let ub = url.as_bytes();
    let upper_hex = |b: u8| b.is_ascii_digit() || (b'A'..=b'F').contains(&b);
    let mut i = 0;
    while i < ub.len() {
        if ub[i] == b'%' {
            assert!(
                ub.len() > i + 2 && upper_hex(ub[i + 1]) && upper_hex(ub[i + 2]),
                "{url:?} byte {i}"
            );
            i += 3;
        } else {
            let b = ub[i];
            assert!(
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/'),
                "{url:?} byte {i}"
            );
            i += 1;
        }
    }
    let again = path_translation(url).expect("the URL path translates back");
    assert_eq!(again.rel, t.rel, "{url:?}");
    assert_eq!(again.query, None, "{url:?}");
    // The redirect to the directory.
    let mut location = url.clone();
    if !location.ends_with('/') {
        location.push('/');
    }
    if let Some(q) = &t.query {
        location.push('?');
        location.push_str(q);
    }
    assert!(!location.starts_with("//"));
    let there = path_translation(&location).expect("the redirect translates back");
    assert_eq!(there.rel, t.rel, "{location:?}");
    assert!(there.trailing_slash, "{location:?}");
    assert_eq!(there.query, t.query, "{location:?}");

    // Decoding round-trips.
    let encoded: String = if rel.is_empty() {
        "/".to_string()
    } else {
        rel.split(|&b| b == b'/')
            .map(|s| format!("/{}", encode_all(s)))
            .collect()
    };
    let decoded = path_translation(&encoded).expect("an encoded path translates");
    assert_eq!(decoded.rel, t.rel, "{encoded:?}");
}

fuzz_target!(|data: &[u8]| {
    let target = String::from_utf8_lossy(data);
    let target = &*target;
    let got = path_translation(target);
    match (&got, model(target)) {
        (Ok(t), Ok((rel, trailing_slash, query))) => {
            assert_eq!(t.rel, rel, "{target:?}");
            assert_eq!(t.trailing_slash, trailing_slash, "{target:?}");
            assert_eq!(t.query.as_deref(), query, "{target:?}");
            check_accepted(t);
        }
        (Err((name, message)), Err(faults)) => {
            assert!(!message.is_empty());
            if faults.is_empty() {
                assert_eq!(*name, "NotAPath", "{target:?}");
            } else {
                assert!(faults.contains(name), "{target:?}: {name}, not {faults:?}");
            }
        }
        (got, want) => panic!("{target:?}: got {got:?}, the docs say {want:?}"),
    }
    // The absolute form means the same as the origin form.
    if target.starts_with('/') {
        for prefix in ["http://example.com", "HTTPS://h:8000"] {
            let absolute = format!("{prefix}{target}");
            assert_eq!(path_translation(&absolute), got, "{absolute:?}");
        }
    }
});
