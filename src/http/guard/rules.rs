//! The framing rules, as pure functions on bytes: what a request line, a field line, a whole
//! head, a Transfer-Encoding list and a chunk-size line may look like, and how an accepted
//! head frames its body. No I/O and no shared state; the [`scanner`](super::scanner) applies
//! them as the bytes arrive (and its tests, fed requests byte by byte, are theirs too).

use http::StatusCode;

use crate::http::limits::Limits;

/// Largest request head in all: beyond it, 431.
pub(super) const MAX_HEAD: usize = 64 * 1024;
/// Longest chunk-size line, extensions included.
pub(super) const MAX_CHUNK_LINE: usize = 4096;

/// Why a head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    pub status: StatusCode,
    pub reason: &'static str,
}

pub(super) const fn reject(status: StatusCode, reason: &'static str) -> Rejection {
    Rejection { status, reason }
}

pub(super) fn bad(reason: &'static str) -> Rejection {
    reject(StatusCode::BAD_REQUEST, reason)
}

/// How the body after an accepted head is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// Where `needle` first occurs in `hay`.
pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A field-value byte: VCHAR, obs-text, SP or HTAB.
fn is_value_byte(b: u8) -> bool {
    b == b' ' || b == b'\t' || (0x21..=0x7e).contains(&b) || b >= 0x80
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// The request line: `METHOD SP target SP HTTP/1.x`. Returns whether the version is 1.1.
fn check_request_line(line: &[u8], limits: &Limits) -> Result<bool, Rejection> {
    if line.len() > limits.request_line {
        return Err(reject(StatusCode::URI_TOO_LONG, "request line too long"));
    }
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("malformed request line"));
    };
    // gunicorn's conventional-method rule: tchar only, no lower case or '#', 3 to 20 long.
    if !(3..=20).contains(&method.len())
        || !method
            .iter()
            .all(|&b| is_tchar(b) && !b.is_ascii_lowercase() && b != b'#')
    {
        return Err(bad("invalid request method"));
    }
    // A WSGI app cannot open a tunnel, and hyper treats a 2xx answer to CONNECT as a protocol
    // switch and never writes it: CONNECT is refused here (gunicorn passes it to the app).
    if method == b"CONNECT" {
        return Err(reject(
            StatusCode::METHOD_NOT_ALLOWED,
            "CONNECT is not served",
        ));
    }
    // Bytes above 0x7f are accepted as gunicorn does (and percent-encoded for hyper, see
    // `deliver_head`); controls, spaces and DEL are not.
    if target.is_empty()
        || !target
            .iter()
            .all(|&b| (0x21..=0x7e).contains(&b) || b >= 0x80)
    {
        return Err(bad("invalid request target"));
    }
    let origin = target.starts_with(b"/");
    let absolute = {
        let lower = target.to_ascii_lowercase();
        lower.starts_with(b"http://") || lower.starts_with(b"https://")
    };
    let asterisk = target == b"*" && method == b"OPTIONS";
    if !(origin || absolute || asterisk) {
        return Err(bad("invalid request target form"));
    }
    match version {
        b"HTTP/1.1" => Ok(true),
        b"HTTP/1.0" => Ok(false),
        _ => Err(bad("unsupported HTTP version")),
    }
}

/// Trailer fields that would re-frame or re-route the request (RFC 9110 §6.5.1): the body is
/// cut, as gunicorn refuses them.
pub(super) const REFUSED_TRAILERS: &[&[u8]] = &[b"content-length", b"transfer-encoding", b"host"];

/// Other fields RFC 9110 §6.5.1 keeps out of trailers (payload processing, request modifiers,
/// authentication, connection control): dropped, not passed on, so that nothing after us can
/// merge them (RFC 9112 §7.1.2 lets a recipient discard trailers). gunicorn's corpus sends a
/// `Content-Type` trailer in a valid request.
pub(super) const DROPPED_TRAILERS: &[&[u8]] = &[
    b"content-type",
    b"content-encoding",
    b"content-range",
    b"trailer",
    b"te",
    b"connection",
    b"keep-alive",
    b"upgrade",
    b"expect",
    b"authorization",
    b"proxy-authorization",
    b"cookie",
    b"set-cookie",
];

/// A field line `name: value`; returns the name and the trimmed value.
pub(super) fn check_field(line: &[u8], max_size: usize) -> Result<(&[u8], &[u8]), Rejection> {
    // Counted with its CRLF, as gunicorn counts limit_request_field_size.
    if line.len() + 2 > max_size {
        return Err(reject(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "header field too large",
        ));
    }
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(bad("obsolete line folding"));
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(bad("header line without a colon"))?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(bad("invalid header name"));
    }
    let value = trim_ows(value);
    if !value.iter().all(|&b| is_value_byte(b)) {
        return Err(bad("control character in a header value"));
    }
    Ok((name, value))
}

/// Check a complete head (ending in CRLF CRLF) and say how its body is framed.
pub(super) fn check_head(head: &[u8], limits: &Limits) -> Result<Framing, Rejection> {
    let mut head = &head[..head.len().saturating_sub(4)];
    // RFC 9112 §2.2: empty lines before the request line are ignored.
    while let Some(rest) = head.strip_prefix(b"\r\n") {
        head = rest;
    }
    let mut lines = Vec::new();
    for line in split_crlf(head) {
        if line.contains(&b'\r') || line.contains(&b'\n') {
            return Err(bad("bare CR or LF in the request head"));
        }
        lines.push(line);
    }
    let mut lines = lines.into_iter();
    let http11 = check_request_line(lines.next().unwrap_or_default(), limits)?;
    let mut content_length = None;
    let mut transfer_encoding = None;
    let (mut hosts, mut content_types, mut fields) = (0, 0, 0);
    for line in lines {
        fields += 1;
        if fields > limits.fields {
            return Err(reject(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "too many header fields",
            ));
        }
        let (name, value) = check_field(line, limits.field_size)?;
        if name.eq_ignore_ascii_case(b"content-length") {
            if content_length.is_some() {
                return Err(bad("more than one Content-Length"));
            }
            if value.is_empty() || value.len() > 18 || !value.iter().all(u8::is_ascii_digit) {
                return Err(bad("invalid Content-Length"));
            }
            let text = std::str::from_utf8(value).map_err(|_| bad("invalid Content-Length"))?;
            content_length = Some(
                text.parse::<u64>()
                    .map_err(|_| bad("invalid Content-Length"))?,
            );
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // RFC 9110 §5.3: field lines of one name combine into one list, in order.
            let list: &mut Vec<u8> = transfer_encoding.get_or_insert_with(Vec::new);
            if !list.is_empty() {
                list.extend_from_slice(b", ");
            }
            list.extend_from_slice(value);
        } else if name.eq_ignore_ascii_case(b"host") {
            hosts += 1;
        } else if name.eq_ignore_ascii_case(b"content-type") {
            content_types += 1;
        }
    }
    if hosts > 1 {
        return Err(bad("more than one Host"));
    }
    if content_types > 1 {
        return Err(bad("more than one Content-Type"));
    }
    match (transfer_encoding, content_length) {
        (Some(_), Some(_)) => Err(bad("both Content-Length and Transfer-Encoding")),
        (Some(_), None) if !http11 => Err(bad("Transfer-Encoding on HTTP/1.0")),
        (Some(te), None) => check_transfer_codings(&te).map(|()| Framing::Chunked),
        (None, Some(0)) | (None, None) => Ok(Framing::None),
        (None, Some(n)) => Ok(Framing::Length(n)),
    }
}

/// Codings that may come before the final `chunked`: chunked is undone by the server, the others
/// are left to the app (HTTP_TRANSFER_ENCODING says which), as gunicorn does.
const KNOWN_CODINGS: &[&[u8]] = &[b"gzip", b"x-gzip", b"deflate", b"compress", b"identity"];

/// A Transfer-Encoding list: `chunked` exactly once and last (RFC 9112 §6.3), every other
/// coding known.
fn check_transfer_codings(value: &[u8]) -> Result<(), Rejection> {
    let codings: Vec<Vec<u8>> = value
        .split(|&b| b == b',')
        .map(|c| trim_ows(c).to_ascii_lowercase())
        .collect();
    let Some((last, rest)) = codings.split_last() else {
        return Err(bad("empty Transfer-Encoding"));
    };
    if last != b"chunked" || rest.iter().any(|c| c == b"chunked") {
        return Err(bad("chunked must be the last transfer coding, once"));
    }
    if rest.iter().any(|c| !KNOWN_CODINGS.contains(&c.as_slice())) {
        return Err(reject(
            StatusCode::NOT_IMPLEMENTED,
            "unknown transfer coding",
        ));
    }
    Ok(())
}

/// Split on CRLF (a head without its final CRLF CRLF).
fn split_crlf(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let current = rest?;
        match find(current, b"\r\n") {
            Some(i) => {
                rest = Some(&current[i + 2..]);
                Some(&current[..i])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// A chunk-size line without its CRLF: `1*HEXDIG [ ";" ext ]`, no whitespace, no sign.
pub(super) fn check_chunk_size(line: &[u8]) -> Result<u64, &'static str> {
    let (size, ext) = match line.iter().position(|&b| b == b';') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    };
    if size.is_empty() || size.len() > 15 || !size.iter().all(u8::is_ascii_hexdigit) {
        return Err("invalid chunk size");
    }
    if let Some(ext) = ext
        && !ext
            .iter()
            .all(|&b| b == b'\t' || (0x20..=0x7e).contains(&b) || b >= 0x80)
    {
        return Err("invalid chunk extension");
    }
    let text = std::str::from_utf8(size).map_err(|_| "invalid chunk size")?;
    u64::from_str_radix(text, 16).map_err(|_| "invalid chunk size")
}
