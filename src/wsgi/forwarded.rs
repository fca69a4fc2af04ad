//! What a trusted reverse proxy says about the original request: the client's address
//! (X-Forwarded-For, RFC 7239 `for=`), the scheme (X-Forwarded-Proto, X-Forwarded-Ssl, `proto=`)
//! and the host (X-Forwarded-Host, `host=`). Only peers in `--forwarded-allow-ips` are believed;
//! from anyone else these headers are plain request headers.

use std::net::IpAddr;

use http::HeaderMap;

/// One trusted network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`, from a dual-stack socket) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `--forwarded-allow-ips`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustedProxies {
    Any,
    List(Vec<Cidr>),
}

impl TrustedProxies {
    /// Parse entries such as `127.0.0.1`, `10.0.0.0/8`, `::1` or `*`; the bad entry on error.
    pub fn parse(items: &[String]) -> Result<Self, String> {
        let mut list = Vec::new();
        for item in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
            if item == "*" {
                return Ok(Self::Any);
            }
            let (addr, prefix) = match item.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (item, None),
            };
            let addr: IpAddr = addr.parse().map_err(|_| item.to_owned())?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| item.to_owned())?,
                None => max,
            };
            list.push(Cidr {
                addr: canonical(addr),
                prefix,
            });
        }
        Ok(Self::List(list))
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        match self {
            Self::Any => true,
            Self::List(list) => list.iter().any(|c| c.contains(ip)),
        }
    }

    /// The entries, for `--print-config`.
    pub fn describe(&self) -> Vec<String> {
        match self {
            Self::Any => vec!["*".to_owned()],
            Self::List(list) => list
                .iter()
                .map(|c| format!("{}/{}", c.addr, c.prefix))
                .collect(),
        }
    }
}

/// What the proxy reported.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Forwarded {
    pub client: Option<String>,
    pub scheme: Option<&'static str>,
    pub host: Option<String>,
}

/// The proxy headers disagree about the scheme (gunicorn's InvalidSchemeHeaders): refuse rather
/// than guess.
#[derive(Debug, PartialEq, Eq)]
pub struct ConflictingScheme;

fn values<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A `for=` node: strip quotes, brackets and port (`"[2001:db8::1]:4711"`, `192.0.2.1:80`).
fn node_ip(node: &str) -> Option<IpAddr> {
    let node = node.trim_matches('"');
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    node.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok())
}

fn scheme(value: &str) -> Option<&'static str> {
    match value.trim_matches('"').to_ascii_lowercase().as_str() {
        "https" | "wss" => Some("https"),
        "http" | "ws" => Some("http"),
        _ => None,
    }
}

/// Read the proxy headers. The client is the nearest address not itself a trusted proxy,
/// walking the chain from our side, so a client cannot forge its address by prepending one.
pub fn read(headers: &HeaderMap, trusted: &TrustedProxies) -> Result<Forwarded, ConflictingScheme> {
    let mut chain: Vec<IpAddr> = Vec::new();
    let mut proto = Vec::new();
    let mut host = None;
    // RFC 7239 first; X-Forwarded-* only when it is absent.
    for element in values(headers, "forwarded") {
        for pair in element.split(';') {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            match key.trim().to_ascii_lowercase().as_str() {
                "for" => chain.extend(node_ip(value.trim())),
                "proto" => proto.extend(scheme(value.trim())),
                "host" => host = Some(value.trim().trim_matches('"').to_owned()),
                _ => {}
            }
        }
    }
    if chain.is_empty() {
        chain.extend(values(headers, "x-forwarded-for").filter_map(node_ip));
    }
    proto.extend(values(headers, "x-forwarded-proto").filter_map(scheme));
    if let Some(ssl) = values(headers, "x-forwarded-ssl").last() {
        proto.push(if ssl.eq_ignore_ascii_case("on") {
            "https"
        } else {
            "http"
        });
    }
    if host.is_none() {
        host = values(headers, "x-forwarded-host")
            .last()
            .map(str::to_owned);
    }
    if proto.windows(2).any(|w| w[0] != w[1]) {
        return Err(ConflictingScheme);
    }
    let client = chain
        .iter()
        .rev()
        .find(|ip| !trusted.trusts(**ip))
        .or(chain.first())
        .map(|ip| canonical(*ip).to_string());
    Ok(Forwarded {
        client,
        scheme: proto.first().copied(),
        host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(items: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("valid")
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.parse().expect("value"),
            );
        }
        h
    }

    #[test]
    fn cidrs() {
        let t = trusted(&["127.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32"]);
        assert!(t.trusts("127.0.0.1".parse().expect("ip")));
        assert!(t.trusts("10.200.3.4".parse().expect("ip")));
        assert!(t.trusts("::ffff:10.0.0.1".parse().expect("ip")));
        assert!(t.trusts("2001:db8::5".parse().expect("ip")));
        assert!(!t.trusts("11.0.0.1".parse().expect("ip")));
        assert!(!t.trusts("::2".parse().expect("ip")));
        assert!(TrustedProxies::parse(&["10.0.0.0/33".to_owned()]).is_err());
        assert!(TrustedProxies::parse(&["nonsense".to_owned()]).is_err());
        assert_eq!(trusted(&["*"]), TrustedProxies::Any);
    }

    #[test]
    fn x_forwarded_headers() {
        let t = trusted(&["127.0.0.1", "10.0.0.0/8"]);
        let f = read(
            &headers(&[
                ("x-forwarded-for", "203.0.113.9, 10.1.1.1"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "example.com"),
            ]),
            &t,
        )
        .expect("consistent");
        assert_eq!(f.client.as_deref(), Some("203.0.113.9"));
        assert_eq!(f.scheme, Some("https"));
        assert_eq!(f.host.as_deref(), Some("example.com"));
    }

    #[test]
    fn a_forged_leftmost_address_is_not_believed() {
        let t = trusted(&["127.0.0.1"]);
        // The client sent "1.1.1.1" itself; the proxy appended the real peer 198.51.100.7.
        let f = read(
            &headers(&[("x-forwarded-for", "1.1.1.1, 198.51.100.7")]),
            &t,
        )
        .expect("ok");
        assert_eq!(f.client.as_deref(), Some("198.51.100.7"));
    }

    #[test]
    fn rfc7239_forwarded() {
        let t = trusted(&["127.0.0.1"]);
        let f = read(
            &headers(&[(
                "forwarded",
                "for=\"[2001:db8::1]:4711\";proto=https;host=shop.example",
            )]),
            &t,
        )
        .expect("ok");
        assert_eq!(f.client.as_deref(), Some("2001:db8::1"));
        assert_eq!(f.scheme, Some("https"));
        assert_eq!(f.host.as_deref(), Some("shop.example"));
    }

    #[test]
    fn conflicting_scheme_headers_are_refused() {
        let t = trusted(&["*"]);
        let h = headers(&[("x-forwarded-proto", "https"), ("x-forwarded-ssl", "off")]);
        assert_eq!(read(&h, &t), Err(ConflictingScheme));
    }
}
