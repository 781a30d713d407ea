//! `parse_qsl` on arbitrary bytes, against the `form_urlencoded` crate: with
//! blank values kept and invalid UTF-8 replaced, both must give the same
//! pairs. Under the strict UTF-8 policy the result must be the same pairs or
//! an invalid-UTF-8 error, never a panic.

#![no_main]

use basehttp::form::{FormConfig, FormError, Utf8Policy, parse_qsl};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lenient = FormConfig {
        keep_blank_values: true,
        max_num_fields: None,
        max_field_size: u64::MAX,
        ..FormConfig::default()
    };
    let ours = parse_qsl(data, &lenient).expect("lenient parsing never fails");
    let theirs: Vec<(String, String)> = form_urlencoded::parse(data)
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(ours, theirs);

    let strict = FormConfig {
        utf8: Utf8Policy::Strict,
        ..lenient.clone()
    };
    match parse_qsl(data, &strict) {
        Ok(pairs) => assert_eq!(pairs, ours),
        Err(FormError::InvalidUtf8 { .. }) => {}
        Err(e) => panic!("unexpected error {e}"),
    }

    // The default limits: at most 1000 fields, or a 413 error.
    match parse_qsl(data, &FormConfig::default()) {
        Ok(pairs) => assert!(pairs.len() <= 1000),
        Err(e) => assert_eq!(e.status().map(|s| s.as_u16()), Some(413)),
    }
});
