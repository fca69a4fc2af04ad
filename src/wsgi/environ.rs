//! The CGI part of a PEP 3333 environ, built from a parsed request head. Pure Rust, no Python:
//! values are `String`s holding the latin-1 decoding of the request bytes ("native strings"),
//! and `python::convert` turns them into a dict and adds the `wsgi.*` objects.

use std::borrow::Cow;
use std::net::SocketAddr;

use http::request::Parts;
use http::{HeaderMap, Version};

use super::forwarded::{self, TrustedProxies};

/// Where a request arrived: filled in by the server for each connection.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// The peer; `None` on a Unix socket.
    pub remote: Option<SocketAddr>,
    /// Our side of the connection; `None` on a Unix socket.
    pub local: Option<SocketAddr>,
    /// `http` or `https`.
    pub scheme: &'static str,
}

/// The fixed CGI keys `build` may use besides the headers' (`HEADER_KEYS`).
const CGI_KEYS: &[&str] = &[
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "REQUEST_URI",
    "RAW_URI",
    "SERVER_PROTOCOL",
    "SERVER_NAME",
    "SERVER_PORT",
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "wsgi.url_scheme",
];

/// Every fixed key `build` may use, so the Python side can create their string objects once:
/// the CGI keys and those of the common request headers.
pub fn fixed_keys() -> impl Iterator<Item = &'static str> {
    CGI_KEYS
        .iter()
        .copied()
        .chain(HEADER_KEYS.iter().map(|(_, key)| *key))
}

/// The environ key of each common request header (lower-case name, as hyper gives it): not
/// built, and made into a Python string once, instead of per request.
const HEADER_KEYS: &[(&str, &str)] = &[
    ("content-type", "CONTENT_TYPE"),
    ("content-length", "CONTENT_LENGTH"),
    ("host", "HTTP_HOST"),
    ("accept", "HTTP_ACCEPT"),
    ("accept-encoding", "HTTP_ACCEPT_ENCODING"),
    ("accept-language", "HTTP_ACCEPT_LANGUAGE"),
    ("authorization", "HTTP_AUTHORIZATION"),
    ("cache-control", "HTTP_CACHE_CONTROL"),
    ("connection", "HTTP_CONNECTION"),
    ("cookie", "HTTP_COOKIE"),
    ("if-modified-since", "HTTP_IF_MODIFIED_SINCE"),
    ("if-none-match", "HTTP_IF_NONE_MATCH"),
    ("origin", "HTTP_ORIGIN"),
    ("referer", "HTTP_REFERER"),
    ("user-agent", "HTTP_USER_AGENT"),
    ("x-forwarded-for", "HTTP_X_FORWARDED_FOR"),
    ("x-forwarded-proto", "HTTP_X_FORWARDED_PROTO"),
    ("x-requested-with", "HTTP_X_REQUESTED_WITH"),
];

/// The environ's string variables, in insertion order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Environ {
    pub vars: Vec<(Cow<'static, str>, String)>,
}

impl Environ {
    fn push(&mut self, key: impl Into<Cow<'static, str>>, value: String) {
        self.vars.push((key.into(), value));
    }

    /// The value of `key`, for tests and logging.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request gets no environ (and never reaches the app).
#[derive(Debug, PartialEq, Eq)]
pub enum EnvironError {
    /// The path lies outside `--mount`: 404.
    NotMounted,
    /// A trusted proxy's headers disagree about the scheme: 400.
    ConflictingScheme,
}

/// Decode bytes as latin-1: each byte becomes the code point of the same value (PEP 3333
/// "native strings").
pub fn latin1(bytes: &[u8]) -> String {
    // ASCII (nearly every header and path) is the same in latin-1 and UTF-8: one copy, instead
    // of a char at a time.
    if bytes.is_ascii()
        && let Ok(text) = std::str::from_utf8(bytes)
    {
        return text.to_owned();
    }
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Percent-decode a path. Invalid escapes stay as they are, as `urllib.parse.unquote` leaves them.
pub fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let byte = raw[i];
        if byte == b'%'
            && let (Some(hi), Some(lo)) = (
                raw.get(i + 1).and_then(|c| hex(*c)),
                raw.get(i + 2).and_then(|c| hex(*c)),
            )
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(byte);
        i += 1;
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// A request target as the client sent it, when the HTTP layer had to percent-encode some of
/// its bytes for hyper: QUERY_STRING, REQUEST_URI and RAW_URI come from it (as gunicorn gives
/// them), carried as a request extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTarget(pub Box<[u8]>);

/// The path and query of a target (an absolute-form one loses its scheme and authority).
fn origin_form(target: &[u8]) -> &[u8] {
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    let Some(rest) = [&b"http://"[..], b"https://"]
        .iter()
        .find(|scheme| lower.starts_with(scheme))
        .map(|scheme| &target[scheme.len()..])
    else {
        return target;
    };
    rest.iter()
        .position(|&b| b == b'/' || b == b'?')
        .map_or(&b"/"[..], |i| &rest[i..])
}

/// How a worker builds environs: the normalised `--mount` prefix and the trusted proxies.
#[derive(Debug, Clone)]
pub struct EnvironRules {
    pub mount: Option<String>,
    pub trusted: TrustedProxies,
}

/// Build the environ for one request.
pub fn build(
    parts: &Parts,
    conn: &ConnInfo,
    rules: &EnvironRules,
) -> Result<Environ, EnvironError> {
    let mut env = Environ {
        vars: Vec::with_capacity(24 + parts.headers.len()),
    };
    let raw_path = parts.uri.path().as_bytes();
    let path = latin1(&percent_decode(raw_path));
    let (script_name, path_info) =
        split_mount(&path, rules.mount.as_deref()).ok_or(EnvironError::NotMounted)?;
    // A Unix-socket peer is on this machine, as a local proxy is: trusted like 127.0.0.1.
    let trusted = conn.remote.is_none_or(|r| rules.trusted.trusts(r.ip()));
    let proxy = if trusted {
        forwarded::read(&parts.headers, &rules.trusted)
            .map_err(|_| EnvironError::ConflictingScheme)?
    } else {
        forwarded::Forwarded::default()
    };
    let (query, request_uri): (Cow<str>, String) = match parts.extensions.get::<RawTarget>() {
        Some(RawTarget(raw)) => {
            let raw = origin_form(raw);
            let query = raw.iter().position(|&b| b == b'?').map(|i| &raw[i + 1..]);
            (Cow::Owned(latin1(query.unwrap_or_default())), latin1(raw))
        }
        None => (
            Cow::Borrowed(parts.uri.query().unwrap_or("")),
            match parts.uri.path_and_query() {
                Some(pq) => pq.as_str().to_owned(),
                None => parts.uri.to_string(),
            },
        ),
    };

    env.push("REQUEST_METHOD", parts.method.as_str().to_owned());
    env.push("SCRIPT_NAME", script_name.to_owned());
    env.push("PATH_INFO", path_info.to_owned());
    env.push("QUERY_STRING", query.into_owned());
    env.push("REQUEST_URI", request_uri.clone());
    env.push("RAW_URI", request_uri);
    env.push("SERVER_PROTOCOL", protocol(parts.version).to_owned());
    let scheme = proxy.scheme.unwrap_or(conn.scheme);
    let host = match &proxy.host {
        Some(h) => Some(h.clone()),
        None => parts
            .headers
            .get(http::header::HOST)
            .map(|h| latin1(h.as_bytes())),
    };
    let (server_name, server_port) = server_name_port(host.as_deref(), conn.local, scheme);
    env.push("SERVER_NAME", server_name);
    env.push("SERVER_PORT", server_port);
    env.push(
        "REMOTE_ADDR",
        proxy
            .client
            .unwrap_or_else(|| conn.remote.map_or_else(String::new, |a| a.ip().to_string())),
    );
    env.push(
        "REMOTE_PORT",
        conn.remote
            .map_or_else(String::new, |a| a.port().to_string()),
    );
    push_headers(&mut env, &parts.headers);
    if let Some(host) = proxy.host {
        match env.vars.iter_mut().find(|(k, _)| k == "HTTP_HOST") {
            Some((_, value)) => *value = host,
            None => env.push("HTTP_HOST", host),
        }
    }
    env.push("wsgi.url_scheme", scheme.to_owned());
    Ok(env)
}

/// Split a decoded path into SCRIPT_NAME and PATH_INFO under `mount` (WSGIScriptAlias rules: the
/// prefix must match whole path segments).
fn split_mount<'a>(path: &'a str, mount: Option<&'a str>) -> Option<(&'a str, &'a str)> {
    let Some(prefix) = mount else {
        return Some(("", path));
    };
    match path.strip_prefix(prefix) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => Some((prefix, rest)),
        _ => None,
    }
}

/// `HTTP/1.1` and so on, as SERVER_PROTOCOL spells it.
pub fn protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

/// SERVER_NAME and SERVER_PORT: from the Host header when there is one (as gunicorn does), else
/// from the address the connection arrived on.
fn server_name_port(
    host: Option<&str>,
    local: Option<std::net::SocketAddr>,
    scheme: &str,
) -> (String, String) {
    let default_port = if scheme == "https" { "443" } else { "80" };
    if let Some(host) = host.filter(|h| !h.is_empty()) {
        // `[::1]:8000`, `example.com:8000`, `example.com`
        let (name, port) = match host.rfind(':') {
            Some(i) if !host[i..].contains(']') => (&host[..i], &host[i + 1..]),
            _ => (host, default_port),
        };
        return (name.to_owned(), port.to_owned());
    }
    match local {
        Some(addr) => (addr.ip().to_string(), addr.port().to_string()),
        None => ("localhost".to_owned(), default_port.to_owned()),
    }
}

/// CONTENT_TYPE, CONTENT_LENGTH and the HTTP_* variables. Repeated headers are joined with ','
/// (Cookie with "; ", RFC 6265 §5.4). Names holding '_' are dropped: once '-' becomes '_' they
/// would be indistinguishable from a real header (`X_Forwarded_For` spoofing
/// `X-Forwarded-For`), which is why nginx and gunicorn drop them too.
fn push_headers(env: &mut Environ, headers: &HeaderMap) {
    for name in headers.keys() {
        let name_str = name.as_str();
        if name_str.contains('_') {
            continue;
        }
        let key: Cow<'static, str> = match HEADER_KEYS.iter().find(|(h, _)| *h == name_str) {
            Some((_, key)) => Cow::Borrowed(key),
            None => {
                let mut key = String::with_capacity(5 + name_str.len());
                key.push_str("HTTP_");
                key.extend(name_str.chars().map(|c| {
                    if c == '-' {
                        '_'
                    } else {
                        c.to_ascii_uppercase()
                    }
                }));
                Cow::Owned(key)
            }
        };
        let separator: &[u8] = if name == http::header::COOKIE {
            b"; "
        } else {
            b","
        };
        let mut values = headers.get_all(name).iter();
        let first = values.next().map_or(&b""[..], |v| v.as_bytes());
        let value = match values.next() {
            // One field line (nearly always): no joined copy.
            None => latin1(first),
            Some(second) => {
                let mut joined = first.to_vec();
                for v in std::iter::once(second).chain(values) {
                    joined.extend_from_slice(separator);
                    joined.extend_from_slice(v.as_bytes());
                }
                latin1(&joined)
            }
        };
        env.push(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(req: http::request::Builder) -> Parts {
        req.body(()).expect("valid test request").into_parts().0
    }

    fn rules(mount: Option<&str>) -> EnvironRules {
        EnvironRules {
            mount: mount.map(str::to_owned),
            trusted: TrustedProxies::parse(&["127.0.0.1".to_owned()]).expect("valid"),
        }
    }

    fn conn() -> ConnInfo {
        ConnInfo {
            remote: Some("10.1.2.3:5555".parse().expect("addr")),
            local: Some("127.0.0.1:8000".parse().expect("addr")),
            scheme: "http",
        }
    }

    #[test]
    fn required_keys() {
        let p = parts(http::Request::get("/a/b?x=1&y=%20").header("host", "example.com:9000"));
        let env = build(&p, &conn(), &rules(None)).expect("mounted");
        assert_eq!(env.get("REQUEST_METHOD"), Some("GET"));
        assert_eq!(env.get("SCRIPT_NAME"), Some(""));
        assert_eq!(env.get("PATH_INFO"), Some("/a/b"));
        assert_eq!(env.get("QUERY_STRING"), Some("x=1&y=%20"));
        assert_eq!(env.get("SERVER_NAME"), Some("example.com"));
        assert_eq!(env.get("SERVER_PORT"), Some("9000"));
        assert_eq!(env.get("SERVER_PROTOCOL"), Some("HTTP/1.1"));
        assert_eq!(env.get("REMOTE_ADDR"), Some("10.1.2.3"));
        assert_eq!(env.get("REMOTE_PORT"), Some("5555"));
        assert_eq!(env.get("HTTP_HOST"), Some("example.com:9000"));
        assert_eq!(env.get("wsgi.url_scheme"), Some("http"));
        assert_eq!(env.get("REQUEST_URI"), Some("/a/b?x=1&y=%20"));
    }

    #[test]
    fn path_info_is_percent_decoded_as_latin1() {
        // UTF-8 for "é" is C3 A9: each byte becomes one code point.
        let p = parts(http::Request::get("/caf%C3%A9/%2F%zz"));
        let env = build(&p, &conn(), &rules(None)).expect("mounted");
        assert_eq!(env.get("PATH_INFO"), Some("/caf\u{c3}\u{a9}//%zz"));
    }

    #[test]
    fn content_headers_have_no_prefix_and_repeats_join() {
        let p = parts(
            http::Request::post("/")
                .header("content-type", "text/plain")
                .header("content-length", "3")
                .header("x-thing", "a")
                .header("x-thing", "b")
                .header("cookie", "a=1")
                .header("cookie", "b=2")
                .header("x_forwarded_for", "spoof"),
        );
        let env = build(&p, &conn(), &rules(None)).expect("mounted");
        assert_eq!(env.get("CONTENT_TYPE"), Some("text/plain"));
        assert_eq!(env.get("CONTENT_LENGTH"), Some("3"));
        assert_eq!(env.get("HTTP_CONTENT_TYPE"), None);
        assert_eq!(env.get("HTTP_CONTENT_LENGTH"), None);
        assert_eq!(env.get("HTTP_X_THING"), Some("a,b"));
        assert_eq!(env.get("HTTP_COOKIE"), Some("a=1; b=2"));
        assert_eq!(env.get("HTTP_X_FORWARDED_FOR"), None);
    }

    #[test]
    fn common_header_keys_are_derived_as_any_other() {
        for (header, key) in HEADER_KEYS {
            let derived = match *header {
                "content-type" | "content-length" => header.to_ascii_uppercase().replace('-', "_"),
                _ => format!("HTTP_{}", header.to_ascii_uppercase().replace('-', "_")),
            };
            assert_eq!(*key, derived);
        }
        let p = parts(
            http::Request::get("/")
                .header("user-agent", "a")
                .header("accept", "b")
                .header("accept", "c"),
        );
        let env = build(&p, &conn(), &rules(None)).expect("mounted");
        assert_eq!(env.get("HTTP_USER_AGENT"), Some("a"));
        assert_eq!(env.get("HTTP_ACCEPT"), Some("b,c"));
    }

    #[test]
    fn header_values_are_latin1() {
        let value = http::HeaderValue::from_bytes(b"caf\xe9").expect("obs-text is allowed");
        let p = parts(http::Request::get("/").header("x-name", value));
        let env = build(&p, &conn(), &rules(None)).expect("mounted");
        assert_eq!(env.get("HTTP_X_NAME"), Some("caf\u{e9}"));
    }

    #[test]
    fn mount_splits_script_name() {
        let env = |path: &str| {
            build(
                &parts(http::Request::get(path)),
                &conn(),
                &rules(Some("/app")),
            )
        };
        let e = env("/app").expect("mounted");
        assert_eq!(
            (e.get("SCRIPT_NAME"), e.get("PATH_INFO")),
            (Some("/app"), Some(""))
        );
        let e = env("/app/x/y").expect("mounted");
        assert_eq!(
            (e.get("SCRIPT_NAME"), e.get("PATH_INFO")),
            (Some("/app"), Some("/x/y"))
        );
        assert_eq!(env("/apple"), Err(EnvironError::NotMounted));
        assert_eq!(env("/"), Err(EnvironError::NotMounted));
    }

    #[test]
    fn server_name_without_host_uses_local_address() {
        let p = parts(http::Request::get("/").version(Version::HTTP_10));
        let env = build(&p, &conn(), &rules(None)).expect("mounted");
        assert_eq!(env.get("SERVER_NAME"), Some("127.0.0.1"));
        assert_eq!(env.get("SERVER_PORT"), Some("8000"));
        assert_eq!(env.get("SERVER_PROTOCOL"), Some("HTTP/1.0"));
    }

    #[test]
    fn ipv6_host_header() {
        let p = parts(http::Request::get("/").header("host", "[::1]:8080"));
        let env = build(&p, &conn(), &rules(None)).expect("mounted");
        assert_eq!(env.get("SERVER_NAME"), Some("[::1]"));
        assert_eq!(env.get("SERVER_PORT"), Some("8080"));
        let p = parts(http::Request::get("/").header("host", "[::1]"));
        let env = build(&p, &conn(), &rules(None)).expect("mounted");
        assert_eq!(env.get("SERVER_PORT"), Some("80"));
    }

    #[test]
    fn proxy_headers_only_from_trusted_peers() {
        let req = || {
            parts(
                http::Request::get("/")
                    .header("host", "internal:8000")
                    .header("x-forwarded-for", "203.0.113.7")
                    .header("x-forwarded-proto", "https")
                    .header("x-forwarded-host", "www.example.com"),
            )
        };
        // conn() is 10.1.2.3, not trusted: the headers are ignored.
        let env = build(&req(), &conn(), &rules(None)).expect("env");
        assert_eq!(env.get("REMOTE_ADDR"), Some("10.1.2.3"));
        assert_eq!(env.get("wsgi.url_scheme"), Some("http"));
        assert_eq!(env.get("HTTP_HOST"), Some("internal:8000"));
        // From 127.0.0.1 they are believed.
        let local = ConnInfo {
            remote: Some("127.0.0.1:4000".parse().expect("addr")),
            ..conn()
        };
        let env = build(&req(), &local, &rules(None)).expect("env");
        assert_eq!(env.get("REMOTE_ADDR"), Some("203.0.113.7"));
        assert_eq!(env.get("wsgi.url_scheme"), Some("https"));
        assert_eq!(env.get("HTTP_HOST"), Some("www.example.com"));
        assert_eq!(env.get("SERVER_NAME"), Some("www.example.com"));
        assert_eq!(env.get("SERVER_PORT"), Some("443"));
    }
}
