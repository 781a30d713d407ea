//! Forwarded client addresses: which proxies are trusted, and the header
//! through which they name the client.
//!
//! A reverse proxy that speaks HTTP (nginx's `proxy_pass`, HAProxy's
//! `mode http`) opens its own connection to the server, so the socket's
//! peer is the proxy. It names the client in a header: `X-Forwarded-For:
//! client, proxy1, proxy2` (the de facto standard), or RFC 7239's
//! `Forwarded: for=client, for=proxy1`. Each proxy appends the address it
//! received the request from, so the right end of the list is the most
//! trustworthy and the left end is whatever the client wrote.
//!
//! [`forwarded_client`] walks the list from the right, skipping the hops
//! that are themselves [`TrustedProxy`]s, and stops at the first address
//! that is not: the client as the outermost trusted proxy saw it. Only one
//! header is read ([`ForwardedHeader`]): nginx and HAProxy pass a client's
//! own `Forwarded` through untouched while they append to
//! `X-Forwarded-For`, so reading both would let a client choose.

use super::head::{is_tchar, trim};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A peer whose forwarded header (and PROXY protocol header) is believed:
/// a network of addresses, or a proxy on a Unix socket.
///
/// Parsed from `10.0.0.0/8`, `2001:db8::/32`, a single address (`127.0.0.1`
/// is `127.0.0.1/32`), or `unix`. Bits past the prefix are ignored
/// (`10.1.2.3/8` is `10.0.0.0/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustedProxy {
    /// The addresses whose first `prefix` bits are those of `address`. An
    /// IPv4 network also matches IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`),
    /// as an IPv4 client appears on a dual-stack listener.
    Network {
        /// The network's address (bits past the prefix are zero).
        address: IpAddr,
        /// The prefix length: at most 32 for IPv4, 128 for IPv6.
        prefix: u8,
    },
    /// A peer on a Unix domain socket (a proxy on the same host); it never
    /// matches an IP address.
    Unix,
}

impl TrustedProxy {
    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let TrustedProxy::Network { address, prefix } = *self else {
            return false;
        };
        let ip = match ip {
            IpAddr::V6(v6) if address.is_ipv4() => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            ip => ip,
        };
        mask(ip, prefix) == Some(address)
    }
}

/// `ip` with the bits past `prefix` cleared; `None` if `prefix` is too long.
fn mask(ip: IpAddr, prefix: u8) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(v4) if prefix <= 32 => {
            let bits = u32::from(v4) & u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            Some(IpAddr::V4(Ipv4Addr::from(bits)))
        }
        IpAddr::V6(v6) if prefix <= 128 => {
            let bits = u128::from(v6) & u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            Some(IpAddr::V6(Ipv6Addr::from(bits)))
        }
        _ => None,
    }
}

/// Why a [`TrustedProxy`] or a [`ForwardedHeader`] did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseForwardedError(&'static str);

impl fmt::Display for ParseForwardedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ParseForwardedError {}

impl FromStr for TrustedProxy {
    type Err = ParseForwardedError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const EXPECTED: ParseForwardedError = ParseForwardedError(
            "expected a network such as 10.0.0.0/8 or fd00::/8, an IP address, or `unix`",
        );
        if s == "unix" {
            return Ok(TrustedProxy::Unix);
        }
        let (address, prefix) = match s.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (s, None),
        };
        let address: IpAddr = address.parse().map_err(|_| EXPECTED)?;
        let prefix = match prefix {
            None if address.is_ipv4() => 32,
            None => 128,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().map_err(|_| EXPECTED)?
            }
            Some(_) => return Err(EXPECTED),
        };
        let address = mask(address, prefix).ok_or(ParseForwardedError(
            "the prefix is longer than the address (at most 32 for IPv4, 128 for IPv6)",
        ))?;
        Ok(TrustedProxy::Network { address, prefix })
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustedProxy::Network { address, prefix } => write!(f, "{address}/{prefix}"),
            TrustedProxy::Unix => f.write_str("unix"),
        }
    }
}

/// The header a trusted proxy names the client in. Only this one is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, …`: addresses separated by commas
    /// (an address may carry a port: `192.0.2.1:4711`, `[2001:db8::1]:4711`,
    /// which is ignored). What nginx (`$proxy_add_x_forwarded_for`) and
    /// HAProxy (`option forwardfor`) send. The default.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:4711"`: the
    /// `for` parameter of each element. An element without one, or with
    /// `for=unknown` or an obfuscated name (`for=_hidden`), does not name
    /// an address.
    Forwarded,
}

impl ForwardedHeader {
    /// The field name, as sent: `X-Forwarded-For` or `Forwarded`.
    pub fn name(self) -> &'static str {
        match self {
            ForwardedHeader::XForwardedFor => "X-Forwarded-For",
            ForwardedHeader::Forwarded => "Forwarded",
        }
    }
}

impl FromStr for ForwardedHeader {
    type Err = ParseForwardedError;

    /// `x-forwarded-for` or `forwarded`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("x-forwarded-for") {
            Ok(ForwardedHeader::XForwardedFor)
        } else if s.eq_ignore_ascii_case("forwarded") {
            Ok(ForwardedHeader::Forwarded)
        } else {
            Err(ParseForwardedError("expected x-forwarded-for or forwarded"))
        }
    }
}

/// The client's address according to a forwarded header whose field lines
/// are `lines`, given **last line first** (the order of trust): the
/// right-most address that `trusted` does not accept, skipping trusted
/// hops; the left-most address if every one is trusted.
///
/// `None` when the header names nobody (absent or empty), or when the walk
/// meets an entry that is not an address (`unknown`, an obfuscated name, a
/// malformed entry or line) before an untrusted one: the caller then uses
/// the peer's own address, as it would without the header.
pub fn forwarded_client<'a>(
    header: ForwardedHeader,
    lines: impl IntoIterator<Item = &'a [u8]>,
    trusted: impl Fn(IpAddr) -> bool,
) -> Option<IpAddr> {
    let mut leftmost = None;
    let mut entries = Vec::new();
    for line in lines {
        entries.clear();
        match header {
            ForwardedHeader::XForwardedFor => {
                entries.extend(line.split(|&b| b == b',').map(x_forwarded_for_entry));
            }
            ForwardedHeader::Forwarded => forwarded_elements(line, &mut entries)?,
        }
        for entry in entries.iter().rev() {
            let ip = (*entry)?;
            if !trusted(ip) {
                return Some(ip);
            }
            leftmost = Some(ip);
        }
    }
    leftmost
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port.
fn x_forwarded_for_entry(entry: &[u8]) -> Option<IpAddr> {
    let entry = std::str::from_utf8(trim(entry)).ok()?;
    // A bare IPv6 address holds colons of its own: try it whole first.
    entry.parse().ok().or_else(|| node(entry))
}

/// A node with an optional port, as RFC 7239 §6 writes it: `192.0.2.1`,
/// `192.0.2.1:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711`. `unknown` and
/// obfuscated names (`_hidden`) are not addresses.
fn node(text: &str) -> Option<IpAddr> {
    let (address, port) = match text.strip_prefix('[') {
        Some(rest) => {
            let (v6, after) = rest.split_once(']')?;
            (IpAddr::V6(v6.parse().ok()?), after)
        }
        None => {
            let (v4, after) = text.find(':').map_or((text, ""), |i| text.split_at(i));
            (IpAddr::V4(v4.parse().ok()?), after)
        }
    };
    match port.strip_prefix(':') {
        None if port.is_empty() => Some(address),
        // node-port = port / obfport (RFC 7239 §6.3)
        Some(p) if valid_port(p) => Some(address),
        _ => None,
    }
}

/// `node-port` of RFC 7239 §6: 5 digits at most, or an obfuscated port.
fn valid_port(p: &str) -> bool {
    let digits = p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok();
    let obfuscated = p.len() > 1
        && p.starts_with('_')
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    digits || obfuscated
}

/// The `for` address of each element of one `Forwarded` field line, left
/// to right (RFC 7239 §4):
/// `forwarded-element *( OWS "," OWS forwarded-element )`, each element
/// `[pair] *(";" [pair])`, each pair `token "=" (token / quoted-string)`.
/// An element without `for`, or whose `for` is not an address, is `None`;
/// a line that breaks the grammar (or repeats `for` in an element) is
/// `None` as a whole.
fn forwarded_elements(line: &[u8], out: &mut Vec<Option<IpAddr>>) -> Option<()> {
    let mut i = 0;
    // The current element's `for`: not seen, or seen with its address.
    let mut for_value: Option<Option<IpAddr>> = None;
    let mut value = Vec::new();
    let skip_ows = |i: &mut usize| {
        while line.get(*i).is_some_and(|&b| b == b' ' || b == b'\t') {
            *i += 1;
        }
    };
    loop {
        skip_ows(&mut i);
        match line.get(i) {
            None => {
                out.push(for_value.flatten());
                return Some(());
            }
            Some(b',') => {
                out.push(for_value.take().flatten());
                i += 1;
                continue;
            }
            Some(b';') => {
                i += 1;
                continue;
            }
            Some(_) => {}
        }
        let name_start = i;
        while line.get(i).copied().is_some_and(is_tchar) {
            i += 1;
        }
        let name = &line[name_start..i];
        if name.is_empty() || line.get(i) != Some(&b'=') {
            return None;
        }
        i += 1;
        value.clear();
        if line.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match *line.get(i)? {
                    b'"' => break,
                    b'\\' => {
                        i += 1;
                        value.push(*line.get(i)?);
                    }
                    b => value.push(b),
                }
                i += 1;
            }
            i += 1;
        } else {
            let start = i;
            while line.get(i).copied().is_some_and(is_tchar) {
                i += 1;
            }
            if i == start {
                return None;
            }
            value.extend_from_slice(&line[start..i]);
        }
        if name.eq_ignore_ascii_case(b"for") {
            // "Each parameter MUST NOT occur more than once per
            // forwarded-element" (RFC 7239 §4).
            if for_value.is_some() {
                return None;
            }
            for_value = Some(std::str::from_utf8(&value).ok().and_then(node));
        }
        skip_ows(&mut i);
        if !matches!(line.get(i), None | Some(b',') | Some(b';')) {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn net(s: &str) -> TrustedProxy {
        s.parse().unwrap()
    }

    #[test]
    fn trusted_proxies_parse() {
        let cases = [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("10.1.2.3/8", "10.0.0.0/8"),
            ("127.0.0.1", "127.0.0.1/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("::1", "::1/128"),
            ("2001:db8:ff::/32", "2001:db8::/32"),
            ("::/0", "::/0"),
            ("unix", "unix"),
        ];
        for (text, shown) in cases {
            assert_eq!(net(text).to_string(), shown, "{text}");
        }
        for bad in [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "/8",
            "10.0.0.0/+8",
            "10.0.0.0/08x",
            "unix/8",
            "UNIX",
            "localhost",
            "[::1]",
            "10.0.0.0/8/8",
            "10.0.0.0 /8",
            "10.0.0.0/0008",
        ] {
            assert!(bad.parse::<TrustedProxy>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn networks_contain_their_addresses_and_ipv4_matches_mapped_peers() {
        let cases: &[(&str, &str, bool)] = &[
            ("10.0.0.0/8", "10.255.1.2", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("10.0.0.0/8", "::ffff:10.1.1.1", true),
            ("10.0.0.0/8", "::ffff:11.1.1.1", false),
            ("10.0.0.0/8", "::10.1.1.1", false),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("0.0.0.0/0", "203.0.113.9", true),
            ("0.0.0.0/0", "2001:db8::1", false),
            ("2001:db8::/32", "2001:db8:1::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("::/0", "10.0.0.1", false),
            ("::1", "::1", true),
            ("unix", "127.0.0.1", false),
        ];
        for &(network, address, want) in cases {
            assert_eq!(
                net(network).contains(ip(address)),
                want,
                "{network} ∋ {address}"
            );
        }
    }

    #[test]
    fn forwarded_header_names() {
        for (text, want) in [
            ("x-forwarded-for", ForwardedHeader::XForwardedFor),
            ("X-Forwarded-For", ForwardedHeader::XForwardedFor),
            ("forwarded", ForwardedHeader::Forwarded),
            ("FORWARDED", ForwardedHeader::Forwarded),
        ] {
            assert_eq!(text.parse(), Ok(want));
        }
        for bad in ["", "x-real-ip", "forwarded-for", " forwarded"] {
            assert!(bad.parse::<ForwardedHeader>().is_err(), "{bad:?}");
        }
    }

    /// The walk with 10.0.0.0/8 and ::1 trusted.
    fn walk(header: ForwardedHeader, lines: &[&str]) -> Option<IpAddr> {
        let trusted = [net("10.0.0.0/8"), net("::1")];
        forwarded_client(header, lines.iter().rev().map(|l| l.as_bytes()), |ip| {
            trusted.iter().any(|t| t.contains(ip))
        })
    }

    #[test]
    fn x_forwarded_for_is_walked_right_to_left_over_every_line() {
        let cases: &[(&[&str], Option<&str>)] = &[
            (&["192.0.2.1"], Some("192.0.2.1")),
            (&["192.0.2.1, 10.0.0.2"], Some("192.0.2.1")),
            (&["forged, 192.0.2.1, 10.0.0.2,10.0.0.3"], Some("192.0.2.1")),
            (&["203.0.113.5", "192.0.2.1, 10.0.0.2"], Some("192.0.2.1")),
            (&["203.0.113.5", "10.0.0.2"], Some("203.0.113.5")),
            (&["10.0.0.9, 10.0.0.2"], Some("10.0.0.9")),
            (&["2001:db8::7, ::1"], Some("2001:db8::7")),
            (&["[2001:db8::7]:4711"], Some("2001:db8::7")),
            (&["[2001:db8::7]"], Some("2001:db8::7")),
            (&["192.0.2.1:4711 , 10.0.0.1"], Some("192.0.2.1")),
            (&[" \t192.0.2.1\t"], Some("192.0.2.1")),
            // Nothing named.
            (&[], None),
            // An entry that is not an address ends the walk.
            (&["192.0.2.1, unknown"], None),
            (&["192.0.2.1, , 10.0.0.1"], None),
            (&["192.0.2.1, 10.0.0.1 10.0.0.2"], None),
            (&["192.0.2.1", ""], None),
            (&["192.0.2.1:99999"], None),
            (&["2001:db8::7:4711x"], None),
            // Left of an untrusted address, nothing matters.
            (&["junk, 192.0.2.1"], Some("192.0.2.1")),
        ];
        for (lines, want) in cases {
            let want = want.map(ip);
            assert_eq!(
                walk(ForwardedHeader::XForwardedFor, lines),
                want,
                "{lines:?}"
            );
        }
    }

    /// RFC 7239's examples (§4, §7.1) and the rules around them.
    #[test]
    fn forwarded_is_walked_right_to_left_over_every_line() {
        let cases: &[(&[&str], Option<&str>)] = &[
            (&["for=\"_gazonk\""], None),
            (
                &["For=\"[2001:db8:cafe::17]:4711\""],
                Some("2001:db8:cafe::17"),
            ),
            (
                &["for=192.0.2.60;proto=http;by=203.0.113.43"],
                Some("192.0.2.60"),
            ),
            (
                &["for=192.0.2.43, for=198.51.100.17"],
                Some("198.51.100.17"),
            ),
            (&["for=192.0.2.43, for=10.0.0.17"], Some("192.0.2.43")),
            (
                &["for=192.0.2.43", "for=10.0.0.1;proto=https"],
                Some("192.0.2.43"),
            ),
            (&["for=192.0.2.43,for=\"[::1]\""], Some("192.0.2.43")),
            (&["for=\"192.0.2.43:4711\" ; by=x"], Some("192.0.2.43")),
            (
                &["proto=https;for=192.0.2.1;host=\"a,b;c\""],
                Some("192.0.2.1"),
            ),
            (&["for=\"\\192.0.2.1\""], Some("192.0.2.1")),
            (&["for=192.0.2.1;;"], Some("192.0.2.1")),
            (&["for=10.0.0.1, for=10.0.0.2"], Some("10.0.0.1")),
            // Not an address, no `for`, or broken syntax: the peer.
            (&["for=unknown, for=10.0.0.1"], None),
            (&["by=10.0.0.1"], None),
            (&["for=192.0.2.1, by=10.0.0.1"], None),
            (&["for=192.0.2.1;for=192.0.2.2"], None),
            (&["for=\"192.0.2.1"], None),
            (&["for=[2001:db8::1]"], None),
            (&["for 192.0.2.1"], None),
            (&["for=192.0.2.1 x"], None),
            (&["=192.0.2.1"], None),
            (&["for="], None),
            (&["for=192.0.2.43", "garbage"], None),
        ];
        for (lines, want) in cases {
            let want = want.map(ip);
            assert_eq!(walk(ForwardedHeader::Forwarded, lines), want, "{lines:?}");
        }
    }
}
