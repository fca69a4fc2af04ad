//! The PROXY protocol header (HAProxy's v1 text and v2 binary forms) that a load balancer may
//! put before the first request of a connection to say who the real client is
//! (`--proxy-protocol`). Pure parsing; the guard decides when to look and whom to believe.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The v2 signature.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
const V1_PREFIX: &[u8] = b"PROXY ";
/// The longest v1 line, CRLF included (the specification's limit).
const V1_MAX: usize = 107;

/// What the start of a connection holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Not enough bytes yet to tell.
    Incomplete,
    /// No PROXY header: plain HTTP.
    NotProxy,
    /// A header of `len` bytes; the client's address unless the proxy gave none (LOCAL,
    /// UNKNOWN).
    Header {
        len: usize,
        source: Option<SocketAddr>,
    },
    Invalid(&'static str),
}

/// Look at the first bytes of a connection.
pub fn parse(buf: &[u8]) -> Parsed {
    if buf.starts_with(V2_SIGNATURE) {
        return parse_v2(buf);
    }
    if buf.starts_with(V1_PREFIX) {
        return parse_v1(buf);
    }
    let prefix_of = |sig: &[u8]| buf.len() < sig.len() && sig.starts_with(buf);
    if prefix_of(V2_SIGNATURE) || prefix_of(V1_PREFIX) {
        return Parsed::Incomplete;
    }
    Parsed::NotProxy
}

fn port(s: &str) -> Option<u16> {
    (!s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn parse_v1(buf: &[u8]) -> Parsed {
    let Some(end) = buf.windows(2).take(V1_MAX - 1).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX {
            Parsed::Invalid("PROXY v1 line too long")
        } else {
            Parsed::Incomplete
        };
    };
    let Ok(line) = std::str::from_utf8(&buf[..end]) else {
        return Parsed::Invalid("PROXY v1 line is not text");
    };
    let parts: Vec<&str> = line.split(' ').collect();
    let len = end + 2;
    match parts.as_slice() {
        ["PROXY", "UNKNOWN", ..] => Parsed::Header { len, source: None },
        ["PROXY", family @ ("TCP4" | "TCP6"), src, dst, sport, dport] => {
            let v4 = *family == "TCP4";
            let ip = |s: &str| -> Option<IpAddr> {
                if v4 {
                    s.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
                } else {
                    s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
                }
            };
            match (ip(src), ip(dst), port(sport), port(dport)) {
                (Some(src), Some(_), Some(sport), Some(_)) => Parsed::Header {
                    len,
                    source: Some(SocketAddr::new(src, sport)),
                },
                _ => Parsed::Invalid("bad address or port in the PROXY v1 line"),
            }
        }
        _ => Parsed::Invalid("malformed PROXY v1 line"),
    }
}

fn parse_v2(buf: &[u8]) -> Parsed {
    let [ver_cmd, family, hi, lo] = match buf.get(12..16) {
        Some(&[a, b, c, d]) => [a, b, c, d],
        _ => return Parsed::Incomplete,
    };
    if ver_cmd >> 4 != 2 {
        return Parsed::Invalid("unsupported PROXY protocol version");
    }
    let len = 16 + usize::from(u16::from_be_bytes([hi, lo]));
    let Some(body) = buf.get(16..len) else {
        return Parsed::Incomplete;
    };
    let source = match (ver_cmd & 0x0f, family >> 4) {
        // LOCAL: the proxy's own connection (health checks); keep the real peer.
        (0, _) => None,
        (1, 1) => match body.get(..12) {
            Some(a) => Some(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])),
                u16::from_be_bytes([a[8], a[9]]),
            )),
            None => return Parsed::Invalid("short PROXY v2 IPv4 addresses"),
        },
        (1, 2) => match body.get(..36) {
            Some(a) => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(&a[..16]);
                Some(SocketAddr::new(
                    IpAddr::V6(Ipv6Addr::from(octets)),
                    u16::from_be_bytes([a[32], a[33]]),
                ))
            }
            None => return Parsed::Invalid("short PROXY v2 IPv6 addresses"),
        },
        (1, _) => None,
        _ => return Parsed::Invalid("unknown PROXY v2 command"),
    };
    Parsed::Header { len, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1() {
        let line = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n";
        assert_eq!(
            parse(line),
            Parsed::Header {
                len: 47,
                source: Some("192.168.0.1:56324".parse().expect("addr"))
            }
        );
        assert_eq!(parse(b"PROX"), Parsed::Incomplete);
        assert_eq!(parse(b"PROXY TCP4 1.2.3.4"), Parsed::Incomplete);
        assert!(matches!(
            parse(b"PROXY TCP4 not-an-ip 1.2.3.4 1 2\r\n"),
            Parsed::Invalid(_)
        ));
        assert!(matches!(
            parse(b"PROXY TCP4 1.2.3.4 1.2.3.5 65iii 100000\r\n"),
            Parsed::Invalid(_)
        ));
        assert!(matches!(
            parse(b"PROXY TCP6 1.2.3.4 1.2.3.5 1 2\r\n"),
            Parsed::Invalid(_)
        ));
        assert_eq!(
            parse(b"PROXY UNKNOWN\r\n"),
            Parsed::Header {
                len: 15,
                source: None
            }
        );
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Parsed::NotProxy);
    }

    #[test]
    fn v2() {
        let mut v4 = V2_SIGNATURE.to_vec();
        v4.extend_from_slice(&[
            0x21, 0x11, 0x00, 0x0c, 192, 168, 1, 10, 192, 168, 1, 1, 0x30, 0x39, 0x01, 0xbb,
        ]);
        v4.extend_from_slice(b"GET");
        assert_eq!(
            parse(&v4),
            Parsed::Header {
                len: 28,
                source: Some("192.168.1.10:12345".parse().expect("addr"))
            }
        );
        assert_eq!(parse(&v4[..20]), Parsed::Incomplete);
        assert_eq!(parse(&V2_SIGNATURE[..5]), Parsed::Incomplete);
        let mut local = V2_SIGNATURE.to_vec();
        local.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]);
        assert_eq!(
            parse(&local),
            Parsed::Header {
                len: 16,
                source: None
            }
        );
        let mut bad = V2_SIGNATURE.to_vec();
        bad.extend_from_slice(&[0x11, 0x11, 0x00, 0x00]);
        assert!(matches!(parse(&bad), Parsed::Invalid(_)));
    }
}
