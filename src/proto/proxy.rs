//! The PROXY protocol header, versions 1 and 2: how a load balancer that
//! relays TCP connections (HAProxy's `send-proxy`, nginx's `proxy_protocol`,
//! cloud load balancers) tells the server whom it relays.
//!
//! The header is the first thing on the connection, before any TLS byte or
//! HTTP request, and is sent once per connection (the specification:
//! haproxy's `doc/proxy-protocol.txt`):
//!
//! - version 1 is one text line of at most [`MAX_V1_HEADER`] bytes,
//!   `PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n` (source address,
//!   destination address, source port, destination port), or
//!   `PROXY UNKNOWN…\r\n`;
//! - version 2 is binary: a 12-byte signature, a version and command byte,
//!   an address family and transport byte, a 16-bit length, then that many
//!   bytes of addresses and type-length-value extensions (TLVs), which this
//!   parser skips.
//!
//! [`parse_proxy_header`] looks at the bytes received so far and says
//! whether the header is complete, needs more bytes, or is not a valid
//! header. It reads nothing, so it serves non-blocking and blocking readers
//! alike, and it never asks for more than [`MAX_PROXY_HEADER`] bytes: a
//! reader may peek that many and know the answer.

use memchr::memchr;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Longest version 1 header, `\r\n` included: 107 bytes, as the
/// specification fixes it (section 2.1: `PROXY UNKNOWN` with two full IPv6
/// addresses and two 5-digit ports).
pub const MAX_V1_HEADER: usize = 107;

/// The 12 bytes that start a version 2 header (specification section 2.2).
/// They cannot start an HTTP request, a TLS record, or a version 1 header.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The fixed part of a version 2 header: the signature, the version and
/// command, the family and transport, and the 16-bit length.
const V2_FIXED: usize = 16;

/// Longest address block (addresses and TLVs) accepted after the fixed part
/// of a version 2 header: 2048 bytes. The specification allows 65535, but
/// the largest addresses (two Unix paths) take 216 bytes, and the TLVs that
/// HAProxy, nginx and the cloud load balancers send (ALPN, authority,
/// unique ID, TLS details, endpoint IDs) take tens to a few hundred; the
/// bound keeps what one connection makes the server buffer small. Longer:
/// [`ProxyError::TooLong`].
pub const MAX_V2_BLOCK: usize = 2048;

/// The most bytes [`parse_proxy_header`] needs to decide: a version 2
/// header with the longest address block accepted (longer than any version
/// 1 header).
pub const MAX_PROXY_HEADER: usize = V2_FIXED + MAX_V2_BLOCK;

const V1_PREFIX: &[u8] = b"PROXY ";

/// What a complete PROXY header says about the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyHeader {
    /// Version 2's `LOCAL` command: the proxy's own connection (a health
    /// check), not a relayed one. The socket's peer is the client.
    Local,
    /// Version 1's `UNKNOWN`, or version 2's `PROXY` command with an
    /// address family this server does not use (unspecified, Unix) or over
    /// UDP: the proxy relays, but cannot say whom. The socket's peer is the
    /// client.
    Unknown,
    /// A relayed TCP connection: `source` is the client as the proxy saw
    /// it, `destination` the address the client connected to.
    Proxied {
        /// The client's address and port.
        source: SocketAddr,
        /// The address and port the client connected to (the proxy's).
        destination: SocketAddr,
    },
}

impl ProxyHeader {
    /// The client's address, if the header carries one (`None` for
    /// [`Local`](ProxyHeader::Local) and [`Unknown`](ProxyHeader::Unknown):
    /// use the socket's peer).
    pub fn source(&self) -> Option<SocketAddr> {
        match self {
            ProxyHeader::Proxied { source, .. } => Some(*source),
            ProxyHeader::Local | ProxyHeader::Unknown => None,
        }
    }
}

/// The state of a PROXY header after the bytes received so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyParse {
    /// The header is complete: what it says, and its length in bytes (what
    /// follows belongs to TLS or HTTP).
    Complete(ProxyHeader, usize),
    /// Every byte so far fits a header that has not fully arrived: read more
    /// and parse again from the start.
    Partial,
}

/// Why bytes are not a PROXY header. The connection is closed unanswered:
/// a client that does not speak the protocol gets no HTTP response either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyError {
    /// The bytes start neither `PROXY ` nor the version 2 signature: the
    /// connection does not come from a proxy that sends the header.
    NotProxy,
    /// A version 1 line is malformed: an unknown protocol, a missing or
    /// extra field, a separator that is not one space, a byte that is not
    /// printable ASCII, or a line not ended by `\r\n`.
    V1Syntax,
    /// A version 1 address or port does not parse, or its family is not
    /// the one `TCP4`/`TCP6` announces.
    V1Address,
    /// No `\r\n` within [`MAX_V1_HEADER`] bytes.
    V1TooLong,
    /// The version 2 version nibble is not 2.
    V2Version,
    /// The version 2 command is neither `LOCAL` (0) nor `PROXY` (1).
    V2Command,
    /// The version 2 address family or transport is not one the
    /// specification defines.
    V2Family,
    /// The version 2 length is too short for the addresses of its family.
    V2Length,
    /// The version 2 address block is longer than [`MAX_V2_BLOCK`].
    TooLong,
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProxyError::NotProxy => "not a PROXY protocol header",
            ProxyError::V1Syntax => "malformed PROXY protocol v1 header",
            ProxyError::V1Address => "bad address in a PROXY protocol v1 header",
            ProxyError::V1TooLong => "PROXY protocol v1 header longer than 107 bytes",
            ProxyError::V2Version => "bad PROXY protocol v2 version",
            ProxyError::V2Command => "bad PROXY protocol v2 command",
            ProxyError::V2Family => "bad PROXY protocol v2 address family",
            ProxyError::V2Length => "PROXY protocol v2 length too short for its addresses",
            ProxyError::TooLong => "PROXY protocol v2 header longer than the server accepts",
        })
    }
}

impl std::error::Error for ProxyError {}

/// Parses the PROXY header at the start of `buf`, the bytes received so
/// far: [`ProxyParse::Partial`] while they are a prefix of a valid header
/// (an empty `buf` included), an error as soon as they cannot be one.
///
/// Stateless: call it again with all the bytes when more arrive. At most
/// [`MAX_PROXY_HEADER`] bytes are ever looked at, and with that many the
/// answer is never `Partial`.
pub fn parse_proxy_header(buf: &[u8]) -> Result<ProxyParse, ProxyError> {
    match buf.first() {
        None => Ok(ProxyParse::Partial),
        Some(b'P') => parse_v1(buf),
        Some(b'\r') => parse_v2(buf),
        Some(_) => Err(ProxyError::NotProxy),
    }
}

/// Whether `buf` is a prefix of `expected` or starts with all of it: the
/// bytes so far agree.
fn agrees(buf: &[u8], expected: &[u8]) -> bool {
    let n = buf.len().min(expected.len());
    buf[..n] == expected[..n]
}

/// Version 1 (specification section 2.1):
/// `"PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF`, or
/// `"PROXY" SP "UNKNOWN" *(any byte but CR or LF) CRLF`.
fn parse_v1(buf: &[u8]) -> Result<ProxyParse, ProxyError> {
    if !agrees(buf, V1_PREFIX) {
        return Err(ProxyError::NotProxy);
    }
    let window = &buf[..buf.len().min(MAX_V1_HEADER)];
    let Some(lf) = memchr(b'\n', window) else {
        // Reject what can already be seen to be wrong: a byte no header
        // holds, or a CR that is not the line's end.
        let bad_byte = |&b: &u8| !(b == b' ' || b.is_ascii_graphic());
        let body = window.strip_suffix(b"\r").unwrap_or(window);
        if body.iter().any(bad_byte) {
            return Err(ProxyError::V1Syntax);
        }
        return if window.len() == MAX_V1_HEADER {
            Err(ProxyError::V1TooLong)
        } else {
            Ok(ProxyParse::Partial)
        };
    };
    let line = window[..lf]
        .strip_suffix(b"\r")
        .ok_or(ProxyError::V1Syntax)?;
    if line.len() < V1_PREFIX.len() || line.iter().any(|&b| !(b == b' ' || b.is_ascii_graphic())) {
        return Err(ProxyError::V1Syntax);
    }
    let rest = &line[V1_PREFIX.len()..];
    // UNKNOWN: "the receiver must ignore anything presented before the CRLF".
    if rest == b"UNKNOWN" || rest.starts_with(b"UNKNOWN ") {
        return Ok(ProxyParse::Complete(ProxyHeader::Unknown, lf + 1));
    }
    let mut fields = rest.split(|&b| b == b' ');
    let mut next = || fields.next().ok_or(ProxyError::V1Syntax);
    let (protocol, src, dst, sport, dport) = (next()?, next()?, next()?, next()?, next()?);
    if fields.next().is_some() {
        return Err(ProxyError::V1Syntax);
    }
    let v6 = match protocol {
        b"TCP4" => false,
        b"TCP6" => true,
        _ => return Err(ProxyError::V1Syntax),
    };
    let source = SocketAddr::new(v1_address(src, v6)?, v1_port(sport)?);
    let destination = SocketAddr::new(v1_address(dst, v6)?, v1_port(dport)?);
    Ok(ProxyParse::Complete(
        ProxyHeader::Proxied {
            source,
            destination,
        },
        lf + 1,
    ))
}

/// An address of a version 1 header: dotted-quad IPv4 for `TCP4`, IPv6
/// text for `TCP6`.
fn v1_address(field: &[u8], v6: bool) -> Result<IpAddr, ProxyError> {
    let text = std::str::from_utf8(field).map_err(|_| ProxyError::V1Address)?;
    let ip = if v6 {
        IpAddr::V6(text.parse().map_err(|_| ProxyError::V1Address)?)
    } else {
        IpAddr::V4(text.parse().map_err(|_| ProxyError::V1Address)?)
    };
    Ok(ip)
}

/// A port of a version 1 header: 1 to 5 decimal digits, at most 65535.
fn v1_port(field: &[u8]) -> Result<u16, ProxyError> {
    if field.is_empty() || field.len() > 5 || !field.iter().all(u8::is_ascii_digit) {
        return Err(ProxyError::V1Address);
    }
    let value = field
        .iter()
        .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
    u16::try_from(value).map_err(|_| ProxyError::V1Address)
}

/// Version 2 (specification section 2.2).
fn parse_v2(buf: &[u8]) -> Result<ProxyParse, ProxyError> {
    if !agrees(buf, &V2_SIGNATURE) {
        return Err(ProxyError::NotProxy);
    }
    // The 13th byte: the version (high nibble, 2) and the command (low
    // nibble: 0 LOCAL, 1 PROXY).
    let local = match buf.get(12) {
        None => return Ok(ProxyParse::Partial),
        Some(b) if b >> 4 != 2 => return Err(ProxyError::V2Version),
        Some(0x20) => true,
        Some(0x21) => false,
        Some(_) => return Err(ProxyError::V2Command),
    };
    // The 14th: the address family (high nibble: 0 UNSPEC, 1 INET,
    // 2 INET6, 3 UNIX) and the transport (low: 0 UNSPEC, 1 STREAM,
    // 2 DGRAM). "Other values ... must be rejected as invalid."
    let Some(&family) = buf.get(13) else {
        return Ok(ProxyParse::Partial);
    };
    if family >> 4 > 3 || family & 0x0f > 2 {
        return Err(ProxyError::V2Family);
    }
    let Some(length) = buf.get(14..16) else {
        return Ok(ProxyParse::Partial);
    };
    let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
    if length > MAX_V2_BLOCK {
        return Err(ProxyError::TooLong);
    }
    // The addresses' size for each family (TCP and UDP alike).
    let needed = match family >> 4 {
        1 => 12,  // two IPv4 addresses and two ports
        2 => 36,  // two IPv6 addresses and two ports
        3 => 216, // two 108-byte Unix paths
        _ => 0,
    };
    // LOCAL: "the receiver must ... discard the protocol block including
    // the family, which is ignored".
    if !local && length < needed {
        return Err(ProxyError::V2Length);
    }
    let total = V2_FIXED + length;
    let Some(block) = buf.get(V2_FIXED..total) else {
        return Ok(ProxyParse::Partial);
    };
    let header = match family {
        _ if local => ProxyHeader::Local,
        0x11 => {
            let ip = |at: usize| {
                IpAddr::V4(Ipv4Addr::new(
                    block[at],
                    block[at + 1],
                    block[at + 2],
                    block[at + 3],
                ))
            };
            ProxyHeader::Proxied {
                source: SocketAddr::new(ip(0), port(block, 8)),
                destination: SocketAddr::new(ip(4), port(block, 10)),
            }
        }
        0x21 => {
            let ip = |at: usize| {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(&block[at..at + 16]);
                IpAddr::V6(Ipv6Addr::from(octets))
            };
            ProxyHeader::Proxied {
                source: SocketAddr::new(ip(0), port(block, 32)),
                destination: SocketAddr::new(ip(16), port(block, 34)),
            }
        }
        _ => ProxyHeader::Unknown,
    };
    // The rest of the block, TLVs, is skipped.
    Ok(ProxyParse::Complete(header, total))
}

/// The big-endian port at `at` in a version 2 address block.
fn port(block: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([block[at], block[at + 1]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn proxied(source: &str, destination: &str) -> ProxyHeader {
        ProxyHeader::Proxied {
            source: addr(source),
            destination: addr(destination),
        }
    }

    /// A version 2 header: the signature, then `rest`.
    fn v2(rest: &[u8]) -> Vec<u8> {
        let mut h = V2_SIGNATURE.to_vec();
        h.extend_from_slice(rest);
        h
    }

    /// Parses `raw` and, for a complete header, checks that every shorter
    /// prefix is partial and that bytes after it are left alone.
    fn parse_checked(raw: &[u8]) -> Result<ProxyParse, ProxyError> {
        let result = parse_proxy_header(raw);
        if let Ok(ProxyParse::Complete(header, n)) = result {
            assert_eq!(n, raw.len(), "{raw:?}: the whole input is the header");
            for cut in 0..raw.len() {
                assert_eq!(
                    parse_proxy_header(&raw[..cut]),
                    Ok(ProxyParse::Partial),
                    "prefix of {cut} bytes of {raw:?}"
                );
            }
            let mut more = raw.to_vec();
            more.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
            assert_eq!(
                parse_proxy_header(&more),
                Ok(ProxyParse::Complete(header, n))
            );
        }
        result
    }

    /// The specification's version 1 examples (section 2.1), and a few of
    /// our own.
    #[test]
    fn v1_headers() {
        let cases: &[(&[u8], ProxyHeader)] = &[
            // "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
            (
                b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
                proxied("192.168.0.1:56324", "192.168.0.11:443"),
            ),
            // The longest TCP4 line (56 bytes).
            (
                b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
                proxied("255.255.255.255:65535", "255.255.255.255:65535"),
            ),
            // The longest TCP6 line (104 bytes).
            (
                b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff \
                  ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
                proxied(
                    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
                    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
                ),
            ),
            // The shortest header (15 bytes).
            (b"PROXY UNKNOWN\r\n", ProxyHeader::Unknown),
            // The longest header (107 bytes): UNKNOWN ignores the rest.
            (
                b"PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff \
                  ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
                ProxyHeader::Unknown,
            ),
            (
                b"PROXY TCP6 2001:db8::1 ::1 1 8080\r\n",
                proxied("[2001:db8::1]:1", "[::1]:8080"),
            ),
            (
                b"PROXY TCP6 ::ffff:127.0.0.1 ::1 0 0\r\n",
                proxied("[::ffff:127.0.0.1]:0", "[::1]:0"),
            ),
            (
                b"PROXY TCP4 127.0.0.2 127.0.0.1 00080 8000\r\n",
                proxied("127.0.0.2:80", "127.0.0.1:8000"),
            ),
        ];
        assert_eq!(cases[4].0.len(), MAX_V1_HEADER);
        for (raw, want) in cases {
            assert_eq!(
                parse_checked(raw),
                Ok(ProxyParse::Complete(*want, raw.len())),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn malformed_v1_headers() {
        use ProxyError::*;
        let cases: &[(&[u8], ProxyError)] = &[
            (b"GET / HTTP/1.1\r\n", NotProxy),
            (b"PROXZ", NotProxy),
            (b"proxy TCP4", NotProxy),
            (b"PROXY\r\n", NotProxy),
            (b"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", V1Syntax),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", V1Syntax),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", V1Syntax),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", V1Syntax),
            (b"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", V1Syntax),
            (b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", V1Syntax),
            (b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", V1Syntax),
            (b"PROXY \r\n", V1Syntax),
            (b"PROXY UNKNOWNX\r\n", V1Syntax),
            (b"PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", V1Syntax),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", V1Syntax),
            (b"PROXY TCP4 \xff", V1Syntax),
            (b"PROXY TCP4 ::1 ::1 1 2\r\n", V1Address),
            (b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", V1Address),
            (b"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", V1Address),
            (b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", V1Address),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", V1Address),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", V1Address),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", V1Address),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 100000\r\n", V1Address),
            (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n", V1Address),
        ];
        for (raw, want) in cases {
            assert_eq!(
                parse_checked(raw),
                Err(*want),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
        // No line end within 107 bytes: too long, even as UNKNOWN.
        let mut long = b"PROXY UNKNOWN ".to_vec();
        long.resize(MAX_V1_HEADER - 1, b'a');
        assert_eq!(parse_proxy_header(&long), Ok(ProxyParse::Partial));
        long.push(b'a');
        assert_eq!(parse_proxy_header(&long), Err(V1TooLong));
        long.extend_from_slice(b"\r\n");
        assert_eq!(parse_proxy_header(&long), Err(V1TooLong));
    }

    /// Version 2 headers built from the specification's layout (section
    /// 2.2), byte by byte.
    #[test]
    fn v2_headers() {
        let cases: &[(Vec<u8>, ProxyHeader)] = &[
            // PROXY, TCP over IPv4, 12 bytes: 192.168.0.1:56324 → 192.168.0.11:443.
            (
                v2(&[
                    0x21, 0x11, 0x00, 0x0c, 192, 168, 0, 1, 192, 168, 0, 11, 0xdc, 0x04, 0x01, 0xbb,
                ]),
                proxied("192.168.0.1:56324", "192.168.0.11:443"),
            ),
            // PROXY, TCP over IPv6, 36 bytes: [2001:db8::1]:1 → [::1]:8080.
            (
                v2(&[
                    0x21, 0x21, 0x00, 0x24, // addresses
                    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, //
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, // ports
                    0x00, 0x01, 0x1f, 0x90,
                ]),
                proxied("[2001:db8::1]:1", "[::1]:8080"),
            ),
            // LOCAL with no addresses: a health check.
            (v2(&[0x20, 0x00, 0x00, 0x00]), ProxyHeader::Local),
            // LOCAL ignores the family and whatever block it has.
            (v2(&[0x20, 0x11, 0x00, 0x03, 1, 2, 3]), ProxyHeader::Local),
            // PROXY, UNSPEC: no addresses to use.
            (v2(&[0x21, 0x00, 0x00, 0x00]), ProxyHeader::Unknown),
            // PROXY, UDP over IPv4: not a TCP client.
            (
                v2(&[0x21, 0x12, 0x00, 0x0c, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2]),
                ProxyHeader::Unknown,
            ),
            // PROXY with IPv4 addresses and two TLVs (PP2_TYPE_ALPN "h2",
            // PP2_TYPE_NOOP of 3 bytes), which are skipped.
            (
                v2(&[
                    0x21, 0x11, 0x00, 0x17, 127, 0, 0, 2, 127, 0, 0, 1, 0x30, 0x39, 0x1f, 0x40,
                    0x01, 0x00, 0x02, b'h', b'2', 0x04, 0x00, 0x03, 0, 0, 0,
                ]),
                proxied("127.0.0.2:12345", "127.0.0.1:8000"),
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(
                parse_checked(raw),
                Ok(ProxyParse::Complete(*want, raw.len())),
                "{raw:x?}"
            );
        }
        // PROXY over AF_UNIX: two 108-byte paths, treated as unknown.
        let mut unix = v2(&[0x21, 0x31, 0x00, 0xd8]);
        unix.extend_from_slice(&[0; 216]);
        assert_eq!(
            parse_checked(&unix),
            Ok(ProxyParse::Complete(ProxyHeader::Unknown, unix.len()))
        );
        // The longest block accepted.
        let mut longest = v2(&[0x21, 0x11, 0x08, 0x00]);
        longest.resize(MAX_PROXY_HEADER, 0);
        assert_eq!(
            parse_proxy_header(&longest),
            Ok(ProxyParse::Complete(
                proxied("0.0.0.0:0", "0.0.0.0:0"),
                MAX_PROXY_HEADER
            ))
        );
    }

    #[test]
    fn malformed_v2_headers() {
        use ProxyError::*;
        let cases: &[(Vec<u8>, ProxyError)] = &[
            (b"\r\n\r\n\0\r\nQUIT\r".to_vec(), NotProxy),
            (b"\r\nGET".to_vec(), NotProxy),
            (v2(&[0x11]), V2Version),
            (v2(&[0x31]), V2Version),
            (v2(&[0x22]), V2Command),
            (v2(&[0x2f]), V2Command),
            (v2(&[0x21, 0x41]), V2Family),
            (v2(&[0x21, 0x13]), V2Family),
            (v2(&[0x20, 0x03]), V2Family),
            (v2(&[0x21, 0x11, 0x00, 0x0b]), V2Length),
            (v2(&[0x21, 0x21, 0x00, 0x0c]), V2Length),
            (v2(&[0x21, 0x31, 0x00, 0x24]), V2Length),
            (v2(&[0x21, 0x11, 0x08, 0x01]), TooLong),
            (v2(&[0x20, 0x00, 0xff, 0xff]), TooLong),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_checked(raw), Err(*want), "{raw:x?}");
        }
    }

    #[test]
    fn other_protocols_are_not_proxy_headers() {
        for raw in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"\x16\x03\x01\x02\x00", // a TLS ClientHello
            b"\n",
            b"\0",
            b" PROXY",
        ] {
            assert_eq!(parse_proxy_header(raw), Err(ProxyError::NotProxy));
        }
    }

    #[test]
    fn the_first_bytes_of_either_version_are_partial() {
        for raw in [&b""[..], b"P", b"PROXY", b"PROXY ", b"\r", b"\r\n\r\n\0"] {
            assert_eq!(parse_proxy_header(raw), Ok(ProxyParse::Partial), "{raw:?}");
        }
        assert_eq!(parse_proxy_header(&V2_SIGNATURE), Ok(ProxyParse::Partial));
    }
}
