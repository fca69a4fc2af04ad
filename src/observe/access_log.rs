//! The access-log line: gunicorn's `--access-log-format` atoms (`%(h)s %(r)s ...`, request
//! headers as `%({name}i)s`, response headers as `%({name}o)s`), or one JSON object per line
//! with `--log-format json`. The format is compiled once; a request records only what it names.

use std::fmt::Write as _;
use std::time::Instant;

use http::{HeaderMap, HeaderName};

/// gunicorn's default access-log format (Apache's common format plus referer and agent).
pub const DEFAULT_FORMAT: &str = r#"%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s""#;

/// One part of a compiled format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// One of gunicorn's single-letter atoms.
    Atom(char),
    RequestHeader(HeaderName),
    ResponseHeader(HeaderName),
}

/// A compiled access-log format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Atoms(Vec<Piece>),
    Json,
}

const ATOMS: &str = "hlutrmUqHsBbfaTMDLp";

impl Format {
    /// Compile a gunicorn-style format; the bad atom on error.
    pub fn parse(format: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut rest = format;
        while let Some(start) = rest.find("%(") {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find(")s")
                .ok_or_else(|| format!("unclosed atom in `{format}`"))?;
            let atom = &after[..end];
            let piece = match atom.strip_prefix('{').and_then(|a| a.rsplit_once('}')) {
                Some((name, kind)) => {
                    let name = HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| format!("bad header name in %({atom})s"))?;
                    match kind {
                        "i" => Piece::RequestHeader(name),
                        "o" => Piece::ResponseHeader(name),
                        _ => return Err(format!("unknown atom %({atom})s")),
                    }
                }
                None => match atom.chars().collect::<Vec<_>>().as_slice() {
                    [c] if ATOMS.contains(*c) => Piece::Atom(*c),
                    _ => return Err(format!("unknown atom %({atom})s")),
                },
            };
            pieces.push(piece);
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(Self::Atoms(pieces))
    }

    /// Request headers a request must record for this format.
    pub fn request_headers(&self) -> Vec<HeaderName> {
        let mut names = vec![http::header::REFERER, http::header::USER_AGENT];
        if let Self::Atoms(pieces) = self {
            for piece in pieces {
                match piece {
                    Piece::RequestHeader(n) => names.push(n.clone()),
                    Piece::Atom('u') => names.push(http::header::AUTHORIZATION),
                    _ => {}
                }
            }
        }
        names
    }

    /// Response headers a request must record for this format.
    pub fn response_headers(&self) -> Vec<HeaderName> {
        match self {
            Self::Atoms(pieces) => pieces
                .iter()
                .filter_map(|p| match p {
                    Piece::ResponseHeader(n) => Some(n.clone()),
                    _ => None,
                })
                .collect(),
            Self::Json => Vec::new(),
        }
    }
}

/// What one request recorded for its access-log line.
#[derive(Debug, Clone)]
pub struct Access {
    pub remote: String,
    pub method: String,
    /// The request target as sent (`/path?query`).
    pub target: String,
    pub protocol: &'static str,
    pub started: Instant,
    pub request_headers: Vec<(HeaderName, String)>,
    pub response_headers: Vec<(HeaderName, String)>,
}

impl Access {
    /// Record `names` from `headers` (latin-1 decoded, repeated ones joined with ',').
    pub fn pick(headers: &HeaderMap, names: &[HeaderName]) -> Vec<(HeaderName, String)> {
        names
            .iter()
            .filter_map(|name| {
                let values: Vec<String> = headers
                    .get_all(name)
                    .iter()
                    .map(|v| crate::wsgi::environ::latin1(v.as_bytes()))
                    .collect();
                (!values.is_empty()).then(|| (name.clone(), values.join(",")))
            })
            .collect()
    }

    fn header<'a>(list: &'a [(HeaderName, String)], name: &HeaderName) -> &'a str {
        list.iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The user of HTTP Basic authentication, as gunicorn's `u` atom shows it.
    fn user(&self) -> String {
        let auth = Self::header(&self.request_headers, &http::header::AUTHORIZATION);
        let Some(encoded) = auth
            .strip_prefix("Basic ")
            .or_else(|| auth.strip_prefix("basic "))
        else {
            return String::new();
        };
        let decoded = base64_decode(encoded.trim()).unwrap_or_default();
        let text = String::from_utf8_lossy(&decoded);
        text.split(':').next().unwrap_or_default().to_owned()
    }
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = text.bytes().filter(|&b| b != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let n = chunk.len().saturating_sub(1);
        out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
    }
    Some(out)
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

/// Escape `"`, `\` and non-printable characters as Apache does, so a client cannot forge log
/// lines.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || (c as u32) >= 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32 & 0xff);
            }
            c => out.push(c),
        }
    }
    out
}

/// A JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The line for one request (without the newline). `time` is the CLF time, `now` the ISO one.
pub fn render(
    format: &Format,
    a: &Access,
    status: u16,
    bytes: u64,
    clf_time: &str,
    iso_time: &str,
) -> String {
    let elapsed = a.started.elapsed();
    let (path, query) = a.target.split_once('?').unwrap_or((a.target.as_str(), ""));
    let referer = Access::header(&a.request_headers, &http::header::REFERER);
    let agent = Access::header(&a.request_headers, &http::header::USER_AGENT);
    let pieces = match format {
        Format::Json => {
            return format!(
                "{{\"time\":{},\"remote\":{},\"method\":{},\"path\":{},\"query\":{},\"protocol\":{},\"status\":{status},\"bytes\":{bytes},\"referer\":{},\"user_agent\":{},\"duration_us\":{}}}",
                json_string(iso_time),
                json_string(&a.remote),
                json_string(&a.method),
                json_string(path),
                json_string(query),
                json_string(a.protocol),
                json_string(referer),
                json_string(agent),
                elapsed.as_micros()
            );
        }
        Format::Atoms(pieces) => pieces,
    };
    let mut line = String::with_capacity(160);
    for piece in pieces {
        match piece {
            Piece::Text(t) => line.push_str(t),
            Piece::RequestHeader(n) => {
                line.push_str(&escape(or_dash(Access::header(&a.request_headers, n))))
            }
            Piece::ResponseHeader(n) => {
                line.push_str(&escape(or_dash(Access::header(&a.response_headers, n))))
            }
            Piece::Atom(c) => {
                let _ = match c {
                    'h' => write!(line, "{}", or_dash(&a.remote)),
                    'l' => write!(line, "-"),
                    'u' => write!(line, "{}", escape(or_dash(&a.user()))),
                    't' => write!(line, "[{clf_time}]"),
                    'r' => write!(
                        line,
                        "{}",
                        escape(&format!("{} {} {}", a.method, a.target, a.protocol))
                    ),
                    'm' => write!(line, "{}", escape(&a.method)),
                    'U' => write!(line, "{}", escape(path)),
                    'q' => write!(line, "{}", escape(query)),
                    'H' => write!(line, "{}", a.protocol),
                    's' => write!(line, "{status}"),
                    'B' => write!(line, "{bytes}"),
                    'b' if bytes == 0 => write!(line, "-"),
                    'b' => write!(line, "{bytes}"),
                    'f' => write!(line, "{}", escape(or_dash(referer))),
                    'a' => write!(line, "{}", escape(or_dash(agent))),
                    'T' => write!(line, "{}", elapsed.as_secs()),
                    'M' => write!(line, "{}", elapsed.as_millis()),
                    'D' => write!(line, "{}", elapsed.as_micros()),
                    'L' => write!(line, "{:.6}", elapsed.as_secs_f64()),
                    'p' => write!(line, "<{}>", std::process::id()),
                    _ => Ok(()),
                };
            }
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access() -> Access {
        Access {
            remote: "10.0.0.9".into(),
            method: "GET".into(),
            target: "/a/b?x=1".into(),
            protocol: "HTTP/1.1",
            started: Instant::now(),
            request_headers: vec![
                (http::header::USER_AGENT, "curl/8 \"quoted\"".into()),
                (http::header::AUTHORIZATION, "Basic YWxpY2U6c2VjcmV0".into()),
                (HeaderName::from_static("x-request-id"), "abc".into()),
            ],
            response_headers: vec![(http::header::CONTENT_TYPE, "text/plain".into())],
        }
    }

    #[test]
    fn default_format_is_combined() {
        let f = Format::parse(DEFAULT_FORMAT).expect("valid");
        let line = render(&f, &access(), 200, 12, "25/Nov/2026:01:02:03 +0000", "");
        assert_eq!(
            line,
            r#"10.0.0.9 - alice [25/Nov/2026:01:02:03 +0000] "GET /a/b?x=1 HTTP/1.1" 200 12 "-" "curl/8 \"quoted\"""#
        );
    }

    #[test]
    fn atoms_and_headers() {
        let f = Format::parse("%(m)s %(U)s %(q)s %(H)s %(B)s %(b)s %({x-request-id}i)s %({content-type}o)s %({missing}i)s")
            .expect("valid");
        assert_eq!(
            render(&f, &access(), 204, 0, "", ""),
            "GET /a/b x=1 HTTP/1.1 0 - abc text/plain -"
        );
        assert!(Format::parse("%(z)s").is_err());
        assert!(Format::parse("%(h").is_err());
        assert!(Format::parse("%({bad name}i)s").is_err());
    }

    #[test]
    fn json_lines() {
        let line = render(&Format::Json, &access(), 200, 5, "", "2026-11-25T01:02:03Z");
        assert!(
            line.starts_with("{\"time\":\"2026-11-25T01:02:03Z\",\"remote\":\"10.0.0.9\""),
            "{line}"
        );
        assert!(
            line.contains("\"user_agent\":\"curl/8 \\\"quoted\\\"\""),
            "{line}"
        );
        assert!(line.contains("\"status\":200,\"bytes\":5"), "{line}");
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("GET /\"x\"\n"), "GET /\\\"x\\\"\\x0a");
        assert_eq!(escape("caf\u{e9}"), "caf\\xe9");
    }

    #[test]
    fn base64() {
        assert_eq!(
            base64_decode("YWxpY2U6c2VjcmV0").as_deref(),
            Some(&b"alice:secret"[..])
        );
        assert_eq!(base64_decode("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode("!!"), None);
    }
}
