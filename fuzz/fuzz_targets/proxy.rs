//! `parse_proxy_header` on arbitrary bytes.
//!
//! The first byte sets the size of the pieces the rest arrives in, as reads
//! from a socket would deliver it. Checks, besides "never panics":
//! - parsing piece by piece (the whole input so far each time, as the
//!   server does) has the same outcome as parsing all at once;
//! - once an answer is not `Partial`, more bytes never change it;
//! - a complete header's length is within the input and the bounds, and no
//!   input of `MAX_PROXY_HEADER` bytes or more is still `Partial`.
#![no_main]

use basehttp::proto::{
    MAX_PROXY_HEADER, MAX_V1_HEADER, ProxyParse, V2_SIGNATURE, parse_proxy_header,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let whole = parse_proxy_header(input);
    if input.len() >= MAX_PROXY_HEADER {
        assert_ne!(whole, Ok(ProxyParse::Partial));
    }
    if let Ok(ProxyParse::Complete(_, n)) = whole {
        assert!(n <= input.len() && n <= MAX_PROXY_HEADER);
        if input.starts_with(b"P") {
            assert!(n <= MAX_V1_HEADER && input[..n].ends_with(b"\r\n"));
        } else {
            assert!(input.starts_with(&V2_SIGNATURE));
        }
    }
    let piece = usize::from(first) + 1;
    let mut len = 0;
    loop {
        len = (len + piece).min(input.len());
        let part = parse_proxy_header(&input[..len]);
        if part != Ok(ProxyParse::Partial) || len == input.len() {
            assert_eq!(part, whole, "after {len} of {} bytes", input.len());
            return;
        }
    }
});
