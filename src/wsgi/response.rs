//! Checks on what the app passes to `start_response`, turned into values hyper can send. Pure
//! Rust. Anything that could make a malformed or smuggling response (a bad status line, CR/LF in
//! a header, a value outside latin-1, a bad Content-Length) is an error here, and the caller
//! answers 500 instead.

use http::{HeaderName, HeaderValue, StatusCode};
use thiserror::Error;

/// Why the app's status or headers cannot be sent. The message is what the log shows.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum HeadError {
    #[error(
        "bad status {0:?}: PEP 3333 wants a 3-digit code from 200 to 999, a space and a reason, e.g. '200 OK'"
    )]
    Status(String),
    #[error("bad header name {0:?}: it must be an RFC 9110 token")]
    HeaderName(String),
    #[error("bad value for header {name:?}: {why}")]
    HeaderValue { name: String, why: &'static str },
    #[error("bad Content-Length {0:?}: it must be one non-negative integer")]
    ContentLength(String),
}

/// A validated response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: StatusCode,
    /// The app's reason phrase, when it differs from the standard one.
    pub reason: Option<Vec<u8>>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The app's Content-Length: the most body bytes ever sent.
    pub content_length: Option<u64>,
    /// The app asked for `Connection: close`.
    pub close: bool,
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) that a WSGI app must not set (PEP 3333). The server
/// owns framing and connection management, so they are dropped, except that `Connection:
/// close` is honoured. `rwsgi check` reports them from this list too.
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
];

/// Encode a Python str as latin-1; `None` if a character is above U+00FF.
pub fn latin1_bytes(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// Parse a PEP 3333 status string: `"200 OK"`.
pub fn parse_status(status: &str) -> Result<(StatusCode, Option<Vec<u8>>), HeadError> {
    let bad = || HeadError::Status(status.to_owned());
    let bytes = status.as_bytes();
    if bytes.len() < 4 || bytes[3] != b' ' || !bytes[..3].iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let code = StatusCode::from_bytes(&bytes[..3]).map_err(|_| bad())?;
    if code.as_u16() < 200 {
        // 1xx are interim responses the server manages (100-continue); an app cannot send one.
        return Err(bad());
    }
    let reason = latin1_bytes(&status[4..]).ok_or_else(bad)?;
    if reason.iter().any(|&b| is_ctl(b) && b != b'\t') {
        return Err(bad());
    }
    let standard = code.canonical_reason().map(str::as_bytes);
    let reason = (standard != Some(reason.as_slice()) && !reason.is_empty()).then_some(reason);
    Ok((code, reason))
}

fn is_ctl(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// Collects the app's headers into a [`ResponseHead`].
#[derive(Debug)]
pub struct HeadBuilder {
    head: ResponseHead,
}

impl HeadBuilder {
    pub fn new(status: &str) -> Result<Self, HeadError> {
        let (status, reason) = parse_status(status)?;
        Ok(Self {
            head: ResponseHead {
                status,
                reason,
                headers: Vec::new(),
                content_length: None,
                close: false,
            },
        })
    }

    /// Add one `(name, value)` pair from the app.
    /// Surrounding spaces and tabs are not part of a field value (RFC 9110 §5.5): trimmed.
    pub fn header(&mut self, name: &str, value: &str) -> Result<(), HeadError> {
        let value = value.trim_matches([' ', '\t']);
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HeadError::HeaderName(name.to_owned()))?;
        let bad_value = |why| HeadError::HeaderValue {
            name: name.to_owned(),
            why,
        };
        let bytes =
            latin1_bytes(value).ok_or_else(|| bad_value("a character is outside latin-1"))?;
        if bytes.iter().any(|&b| b == b'\r' || b == b'\n') {
            return Err(bad_value("it holds CR or LF"));
        }
        if bytes.iter().any(|&b| is_ctl(b) && b != b'\t') {
            return Err(bad_value("it holds a control character"));
        }
        let lower = header_name.as_str();
        if HOP_BY_HOP.contains(&lower) {
            if lower == "connection"
                && bytes
                    .split(|&b| b == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"))
            {
                self.head.close = true;
            }
            return Ok(());
        }
        if header_name == http::header::CONTENT_LENGTH {
            let length = std::str::from_utf8(bytes.trim_ascii())
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| HeadError::ContentLength(value.to_owned()))?;
            if self.head.content_length.is_some_and(|l| l != length) {
                return Err(HeadError::ContentLength(value.to_owned()));
            }
            if self.head.content_length.replace(length).is_some() {
                return Ok(());
            }
        }
        let header_value =
            HeaderValue::from_bytes(&bytes).map_err(|_| bad_value("hyper refused it"))?;
        self.head.headers.push((header_name, header_value));
        Ok(())
    }

    pub fn finish(self) -> ResponseHead {
        self.head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(parse_status("200 OK"), Ok((StatusCode::OK, None)));
        assert_eq!(
            parse_status("200 Fine"),
            Ok((StatusCode::OK, Some(b"Fine".to_vec())))
        );
        assert_eq!(parse_status("404 "), Ok((StatusCode::NOT_FOUND, None)));
        assert_eq!(
            parse_status("299 Caf\u{e9}"),
            Ok((
                StatusCode::from_u16(299).expect("valid"),
                Some(b"Caf\xe9".to_vec())
            ))
        );
        for bad in [
            "200",
            "OK 200",
            "2000 OK",
            "20 OK",
            "100 Continue",
            "200 OK\r\nX: y",
            "",
            "200 \u{2603}",
        ] {
            assert!(parse_status(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn headers_are_checked() {
        let mut h = HeadBuilder::new("200 OK").expect("status");
        assert!(h.header("Content-Type", "text/plain").is_ok());
        assert!(h.header("X-Caf\u{e9}", "x").is_err());
        assert!(h.header("Bad Name", "x").is_err());
        assert!(h.header("X-Split", "a\r\nSet-Cookie: evil").is_err());
        assert!(h.header("X-Lf", "a\nb").is_err());
        assert!(h.header("X-Nul", "a\0b").is_err());
        assert!(h.header("X-Snow", "\u{2603}").is_err());
        assert!(h.header("X-Latin", "caf\u{e9}").is_ok());
        let head = h.finish();
        assert_eq!(head.headers.len(), 2);
        assert_eq!(head.headers[1].1.as_bytes(), b"caf\xe9");
    }

    #[test]
    fn hop_by_hop_dropped_and_close_honoured() {
        let mut h = HeadBuilder::new("200 OK").expect("status");
        h.header("Transfer-Encoding", "chunked").expect("dropped");
        h.header("Connection", "keep-alive, Close")
            .expect("dropped");
        h.header("Upgrade", "h2c").expect("dropped");
        let head = h.finish();
        assert!(head.headers.is_empty());
        assert!(head.close);
    }

    #[test]
    fn content_length() {
        let mut h = HeadBuilder::new("200 OK").expect("status");
        h.header("Content-Length", "12").expect("valid");
        h.header("content-length", "12")
            .expect("same value repeated");
        assert!(h.header("Content-Length", "13").is_err());
        let head = h.finish();
        assert_eq!(head.content_length, Some(12));
        assert_eq!(head.headers.len(), 1);
        for bad in ["-1", "1.5", "", "12 13", "0x10", "99999999999999999999999"] {
            let mut h = HeadBuilder::new("200 OK").expect("status");
            assert!(h.header("Content-Length", bad).is_err(), "{bad:?}");
        }
    }
}
