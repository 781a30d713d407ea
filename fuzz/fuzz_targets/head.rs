//! `HeadScanner` and `parse_head` on arbitrary bytes.
//!
//! The first byte picks the limits (`Limits::default()`, or small ones the
//! fuzzer can reach in a few hundred bytes) and the size of the pieces the
//! rest is fed in, as reads from a socket would deliver it. Checks, besides
//! "never panics":
//! - scanning piece by piece has the same outcome as scanning all at once:
//!   the same head, both incomplete, or both an error;
//! - a head found has `start <= end <= len` and ends with an empty line;
//! - the parsed request line starts the head, and every header span lies
//!   inside the head, after the previous one, with a token for a name and
//!   no NUL, CR or LF in the value.
#![no_main]

use basehttp::proto::{HeadScanner, Limits, ProtoError, is_token, parse_head};
use libfuzzer_sys::fuzz_target;

type Scan = Result<Option<(usize, usize)>, ProtoError>;

/// Scans `input` as it arrives `piece` bytes at a time.
fn scan_in_pieces(input: &[u8], piece: usize, limits: &Limits) -> Scan {
    let mut scanner = HeadScanner::new();
    let mut len = 0;
    loop {
        len = (len + piece).min(input.len());
        match scanner.scan(&input[..len], limits)? {
            None if len < input.len() => {}
            found => return Ok(found),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let limits = if first & 0x80 == 0 {
        Limits::default()
    } else {
        Limits {
            max_request_line: 64,
            max_header_line: 48,
            max_headers: 8,
            max_head: 400,
        }
    };
    let whole = HeadScanner::new().scan(input, &limits);
    let pieces = scan_in_pieces(input, usize::from(first & 0x3f) + 1, &limits);
    // Which limit an oversized head trips first may depend on where it was
    // cut, so errors are compared by presence only.
    assert_eq!(
        whole.ok(),
        pieces.ok(),
        "whole: {whole:?}, pieces: {pieces:?}"
    );

    let Ok(Some((start, end))) = whole else {
        return;
    };
    assert!(start <= end && end <= input.len());
    let head = &input[start..end];
    assert!(head.ends_with(b"\n\n") || head.ends_with(b"\n\r\n"));
    let mut spans = Vec::new();
    let Ok(request) = parse_head(head, &mut spans, &limits) else {
        return;
    };
    assert!(head.starts_with(request.request_line.as_bytes()));
    assert!(spans.len() <= limits.max_headers);
    let mut prev_end = request.request_line.len();
    for span in &spans {
        let (name, value) = (span.name.0 as usize, span.value.0 as usize);
        assert!(prev_end < name, "{span:?} overlaps what precedes it");
        assert!(name + span.name.1 as usize <= value, "{span:?}");
        assert!(value + span.value.1 as usize <= head.len(), "{span:?}");
        assert!(is_token(span.name(head)));
        assert!(
            !span
                .value(head)
                .iter()
                .any(|&b| matches!(b, 0 | b'\r' | b'\n'))
        );
        prev_end = value + span.value.1 as usize;
    }
});
