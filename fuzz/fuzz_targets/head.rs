//! The request-head scanner and parser on arbitrary bytes.
//!
//! Checks, besides "never panics": scanning the input in two pieces (split
//! where the first byte says) finds the same head as scanning it at once; a
//! head's extent lies inside the input; every parsed header span lies inside
//! the head; and the parsed request line is a prefix of the head.
#![no_main]

use basehttp::proto::{HeadScanner, Limits, parse_head};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, input)) = data.split_first() else { return };
    let limits = Limits { max_request_line: 512, max_header_line: 256, max_headers: 16, max_head: 2048 };
    let whole = HeadScanner::new().scan(input, &limits);
    let mut scanner = HeadScanner::new();
    let cut = usize::from(split) * input.len() / 256;
    let pieces = match scanner.scan(&input[..cut], &limits) {
        Ok(None) => scanner.scan(input, &limits),
        other => other,
    };
    match (&whole, &pieces) {
        // A limit can be crossed earlier when fewer bytes are seen, but a
        // complete head must be found identically either way.
        (Ok(Some(a)), Ok(Some(b))) => assert_eq!(a, b),
        (Ok(Some(_)), other) | (other, Ok(Some(_))) => panic!("split changed the outcome: {whole:?} vs {other:?}"),
        _ => {}
    }
    if let Ok(Some((start, end))) = whole {
        assert!(start <= end && end <= input.len());
        let head = &input[start..end];
        let mut spans = Vec::new();
        if let Ok(parsed) = parse_head(head, &mut spans, &limits) {
            assert!(head.starts_with(parsed.request_line.as_bytes()));
            for span in &spans {
                assert!((span.name.0 + span.name.1) as usize <= head.len());
                assert!((span.value.0 + span.value.1) as usize <= head.len());
                assert!(!span.name(head).is_empty());
            }
        }
    }
});
