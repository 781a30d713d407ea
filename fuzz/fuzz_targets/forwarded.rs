//! `forwarded_client` and `TrustedProxy` on arbitrary bytes.
//!
//! The first byte picks the header (`X-Forwarded-For` or `Forwarded`) and
//! which addresses count as trusted; the rest, split at LF, is the field
//! lines. Checks, besides "never panics":
//! - an IPv4 client found appears in the input's text (once the
//!   quoted-string escapes are taken out);
//! - trusting nothing, the answer depends on the last line only;
//! - a `TrustedProxy` that parses prints as text that parses back to it.
#![no_main]

use basehttp::proto::{ForwardedHeader, TrustedProxy, forwarded_client};
use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let header = if first & 1 == 0 {
        ForwardedHeader::XForwardedFor
    } else {
        ForwardedHeader::Forwarded
    };
    // Trusted: addresses whose last byte has the bits of `first >> 1` set.
    let mask = first >> 1;
    let trusted = |ip: IpAddr| {
        let last = match ip {
            IpAddr::V4(v4) => v4.octets()[3],
            IpAddr::V6(v6) => v6.octets()[15],
        };
        mask != 0 && last & mask == mask
    };
    let lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    if let Some(ip) = forwarded_client(header, lines.iter().rev().copied(), trusted) {
        let text = String::from_utf8_lossy(input).replace('\\', "");
        // IPv6 text has many spellings; IPv4 has one the parsers accept.
        assert!(
            ip.is_ipv6() || text.contains(&ip.to_string()),
            "{ip} not in the input"
        );
    }
    if let Some(last) = lines.last() {
        assert_eq!(
            forwarded_client(header, lines.iter().rev().copied(), |_| false),
            forwarded_client(header, [*last], |_| false),
        );
    }
    if let Ok(text) = std::str::from_utf8(input)
        && let Ok(proxy) = text.parse::<TrustedProxy>()
    {
        assert_eq!(proxy.to_string().parse::<TrustedProxy>(), Ok(proxy));
    }
});
