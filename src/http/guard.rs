//! The request-framing guard: every byte a client sends passes through here before hyper sees
//! it. It checks each request head more strictly than hyper does (as strict as gunicorn 22+:
//! no bare LF, no obs-fold, no CTLs in values, no Content-Length with Transfer-Encoding, only
//! `chunked`, no chunked on HTTP/1.0, one Content-Length of digits only, limits on the request
//! line, field size and count) and follows the body framing itself, so that it always knows
//! where the next request starts.
//!
//! hyper only ever sees heads that passed. A head that fails is replaced by a fixed dummy
//! request and the stream ends there: the service, reading the verdict queue, answers the
//! dummy with the refusal and closes, and no byte after the bad head (a smuggled request) is
//! ever parsed. A body whose chunked framing breaks is cut with an error, which fails
//! `wsgi.input` and closes the connection.
//!
//! hyper drops Content-Length when Transfer-Encoding is present, so without this layer the
//! CL+TE smuggling pattern would be invisible to us.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Buf, BytesMut};
use http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::http::limits::{Limits, Timeouts};
use crate::http::proxy_protocol::{self, Parsed};
use crate::http::zero_copy::{self, Segments, ZeroCopy};
use crate::wsgi::environ::RawTarget;

/// Largest request head in all: beyond it, 431.
pub const MAX_HEAD: usize = 64 * 1024;
/// Longest chunk-size line, extensions included.
const MAX_CHUNK_LINE: usize = 4096;
/// Bytes read from the socket at a time.
const READ_SIZE: usize = 16 * 1024;

/// What hyper is given in place of a refused head: a request it parses cleanly, answered by
/// the service from the verdict queue, never by the app.
pub(crate) const DUMMY_REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: refused\r\nConnection: close\r\n\r\n";

/// Why a head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    pub status: StatusCode,
    pub reason: &'static str,
}

const fn reject(status: StatusCode, reason: &'static str) -> Rejection {
    Rejection { status, reason }
}

fn bad(reason: &'static str) -> Rejection {
    reject(StatusCode::BAD_REQUEST, reason)
}

/// The guard's verdict on each request head it passed on, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// Accepted, with bytes of the request target percent-encoded for hyper (see
    /// [`deliver_head`]); the target as the client sent it rides along for the environ.
    Encoded(RawTarget),
    Refused(Rejection),
}

/// What a connection's guard and its service calls share: the verdicts, in order, and how
/// many requests are open (passed on by the guard, response not yet finished).
#[derive(Debug, Default)]
pub struct ConnState {
    verdicts: Mutex<VecDeque<Verdict>>,
    open: AtomicUsize,
    /// The worker slot held from accept until the first request is queued (or its grace ends).
    reservation: crate::http::occupancy::Held,
    /// File segments promised to the writer by zero-copy bodies.
    segments: Segments,
    /// The client's address as a PROXY protocol header gave it.
    peer: Mutex<Option<std::net::SocketAddr>>,
    /// File bodies may use sendfile(2) (plain TCP or Unix socket, HTTP/1).
    zero_copy: bool,
    /// A request head has arrived.
    seen: std::sync::atomic::AtomicBool,
    /// Since when no request has been open (`None` while one is).
    idle_since: Mutex<Option<Instant>>,
}

impl ConnState {
    /// `zero_copy`: the connection is a plain socket that sendfile(2) can write to;
    /// `reservation`: the worker slot reserved at accept, shared with its grace timer.
    pub fn new(zero_copy: bool, reservation: crate::http::occupancy::Held) -> Self {
        Self {
            zero_copy,
            reservation,
            idle_since: Mutex::new(Some(Instant::now())),
            ..Self::default()
        }
    }

    /// An HTTP/2 stream opened a request (HTTP/1 requests are counted by the guard): open
    /// until its [`OpenRequest`] is dropped, at the end of its response.
    pub fn stream_opened(&self) {
        self.seen.store(true, Ordering::Release);
        self.open.fetch_add(1, Ordering::AcqRel);
        self.set_idle_since(None);
    }

    /// Since when no request has been open on this connection; `None` while one is.
    pub fn idle_since(&self) -> Option<Instant> {
        self.idle_since.lock().ok().and_then(|t| *t)
    }

    fn set_idle_since(&self, at: Option<Instant>) {
        if let Ok(mut slot) = self.idle_since.lock() {
            *slot = at;
        }
    }

    /// The verdict on the next request hyper hands the service, and the token that keeps it
    /// counted as open until the response is done.
    pub fn next(self: &Arc<Self>) -> (Option<Verdict>, OpenRequest) {
        let verdict = self.verdicts.lock().ok().and_then(|mut q| q.pop_front());
        (verdict, OpenRequest(Arc::clone(self)))
    }

    fn set_peer(&self, peer: std::net::SocketAddr) {
        if let Ok(mut slot) = self.peer.lock() {
            *slot = Some(peer);
        }
    }

    /// The client's address from a PROXY header, if one came.
    pub fn peer(&self) -> Option<std::net::SocketAddr> {
        self.peer.lock().ok().and_then(|p| *p)
    }

    /// Give back the slot held since accept, if still held.
    pub fn release(&self) {
        let reservation = self.reservation.lock().ok().and_then(|mut r| r.take());
        drop(reservation);
    }

    /// Whether any request head has arrived on this connection.
    pub fn seen_request(&self) -> bool {
        self.seen.load(Ordering::Acquire)
    }

    fn push(&self, verdict: Verdict) {
        self.seen.store(true, Ordering::Release);
        self.open.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut q) = self.verdicts.lock() {
            q.push_back(verdict);
        }
    }

    fn idle(&self) -> bool {
        self.open.load(Ordering::Acquire) == 0
    }
}

/// A request still open on its connection; dropped when its response is finished.
#[derive(Debug)]
pub struct OpenRequest(Arc<ConnState>);

impl OpenRequest {
    /// Where this connection's zero-copy bodies register their file segments; `None` when
    /// the transport cannot take sendfile(2) (TLS, HTTP/2).
    pub fn segments(&self) -> Option<&Segments> {
        self.0.zero_copy.then_some(&self.0.segments)
    }
}

impl Drop for OpenRequest {
    fn drop(&mut self) {
        let before = self
            .0
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        if before == Ok(1) {
            self.0.set_idle_since(Some(Instant::now()));
        }
    }
}

/// How the body after an accepted head is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
}

#[derive(Debug)]
enum State {
    Head,
    Length(u64),
    ChunkSize,
    ChunkData(u64),
    /// How many bytes of the CRLF after a chunk's data have been seen.
    ChunkDataEnd(u8),
    /// Trailer fields after the last chunk, with how many have been seen.
    Trailers(usize),
}

/// Why scanning stopped for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// A head was refused; the dummy request is the last thing delivered.
    Refused,
    /// The body framing broke; delivered bytes end before the fault.
    Body(&'static str),
}

/// The framing state machine, free of I/O so it can be tested byte by byte.
#[derive(Debug)]
pub struct Scanner {
    state: State,
    /// The incomplete head or line being collected.
    line: Vec<u8>,
    conn: Arc<ConnState>,
    limits: Limits,
    /// When the head being collected began to arrive.
    head_started: Option<Instant>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
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
const REFUSED_TRAILERS: &[&[u8]] = &[b"content-length", b"transfer-encoding", b"host"];

/// Other fields RFC 9110 §6.5.1 keeps out of trailers (payload processing, request modifiers,
/// authentication, connection control): dropped, not passed on, so that nothing after us can
/// merge them (RFC 9112 §7.1.2 lets a recipient discard trailers). gunicorn's corpus sends a
/// `Content-Type` trailer in a valid request.
const DROPPED_TRAILERS: &[&[u8]] = &[
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
fn check_field(line: &[u8], max_size: usize) -> Result<(&[u8], &[u8]), Rejection> {
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
fn check_head(head: &[u8], limits: &Limits) -> Result<Framing, Rejection> {
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

/// Whether hyper's URI parser (the `http` crate) refuses `b` in a request target, in the path
/// or in the query: bytes above 0x7f, `<`, `>` and `` ` ``, and `"` in the query. gunicorn
/// serves them (its corpus sends `GET /with_"quotes"?foo="bar"`).
fn hyper_refuses(b: u8, in_query: bool) -> bool {
    b >= 0x80 || matches!(b, b'<' | b'>' | b'`') || (in_query && b == b'"')
}

/// The head as hyper gets it: the request-target bytes hyper's URI parser refuses are
/// percent-encoded (see [`hyper_refuses`]). PATH_INFO decodes them back to the same bytes;
/// QUERY_STRING and RAW_URI show them encoded, as a browser would have sent them.
fn deliver_head(head: &[u8], out: &mut BytesMut) -> Option<RawTarget> {
    let start = head
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(0);
    let line_end = find(&head[start..], b"\r\n").map_or(head.len(), |i| start + i);
    let line = &head[start..line_end];
    let query_at = line.iter().position(|&b| b == b'?').unwrap_or(line.len());
    let refused = |(i, &b): (usize, &u8)| hyper_refuses(b, i > query_at);
    if !line.iter().enumerate().any(refused) {
        out.extend_from_slice(head);
        return None;
    }
    out.extend_from_slice(&head[..start]);
    for (i, &b) in line.iter().enumerate() {
        if refused((i, &b)) {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            out.extend_from_slice(&[b]);
        }
    }
    out.extend_from_slice(&head[line_end..]);
    let target = line.split(|&b| b == b' ').nth(1).unwrap_or_default();
    Some(RawTarget(target.into()))
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
fn check_chunk_size(line: &[u8]) -> Result<u64, &'static str> {
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

impl Scanner {
    pub fn new(conn: Arc<ConnState>, limits: Limits) -> Self {
        Self {
            state: State::Head,
            line: Vec::new(),
            conn,
            limits,
            head_started: None,
        }
    }

    fn verdict(&mut self, v: Verdict) {
        self.head_started = None;
        self.conn.push(v);
    }

    /// Between requests, with nothing of the next one received.
    fn idle(&self) -> bool {
        matches!(self.state, State::Head) && self.line.iter().all(|&b| b == b'\r' || b == b'\n')
    }

    pub fn refuse(&mut self, why: Rejection, out: &mut BytesMut) -> Cut {
        self.verdict(Verdict::Refused(why));
        out.extend_from_slice(DUMMY_REQUEST);
        Cut::Refused
    }

    /// Take bytes until CRLF into `self.line`; returns the complete line (without CRLF), or
    /// None when more input is needed. A bare LF or an over-long line is an error.
    fn take_line(&mut self, input: &mut &[u8], limit: usize) -> Result<Option<Vec<u8>>, ()> {
        match input.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.line.extend_from_slice(&input[..=i]);
                *input = &input[i + 1..];
                let mut line = std::mem::take(&mut self.line);
                if line.len() < 2 || line[line.len() - 2] != b'\r' || line.len() - 2 > limit {
                    return Err(());
                }
                line.truncate(line.len() - 2);
                Ok(Some(line))
            }
            None => {
                self.line.extend_from_slice(input);
                *input = &[];
                if self.line.len() > limit + 1 {
                    return Err(());
                }
                Ok(None)
            }
        }
    }

    /// Scan `input`, appending what hyper may see to `out`.
    pub fn feed(&mut self, mut input: &[u8], out: &mut BytesMut) -> Result<(), Cut> {
        while !input.is_empty() {
            match self.state {
                State::Head => {
                    let end = match input.iter().position(|&b| b == b'\n') {
                        Some(i) => i + 1,
                        None => input.len(),
                    };
                    self.line.extend_from_slice(&input[..end]);
                    input = &input[end..];
                    if self.head_started.is_none() && !self.idle() {
                        self.head_started = Some(Instant::now());
                    }
                    // A bare LF anywhere in a head is refused at once, not waited on.
                    if self.line.last() == Some(&b'\n') {
                        let n = self.line.len();
                        if n < 2 || self.line[n - 2] != b'\r' {
                            return Err(self.refuse(bad("bare LF in the request head"), out));
                        }
                    }
                    let first_line_done = {
                        let start = self
                            .line
                            .iter()
                            .position(|&b| b != b'\r' && b != b'\n')
                            .unwrap_or(self.line.len());
                        find(&self.line[start..], b"\r\n").is_some()
                    };
                    if !first_line_done && self.line.len() > self.limits.request_line + 2 {
                        return Err(self.refuse(
                            reject(StatusCode::URI_TOO_LONG, "request line too long"),
                            out,
                        ));
                    }
                    if self.line.len() > MAX_HEAD {
                        return Err(self.refuse(
                            reject(
                                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                                "request head too large",
                            ),
                            out,
                        ));
                    }
                    if self.line.ends_with(b"\r\n\r\n") && first_line_done {
                        let head = std::mem::take(&mut self.line);
                        match check_head(&head, &self.limits) {
                            Ok(framing) => {
                                let verdict = match deliver_head(&head, out) {
                                    Some(raw) => Verdict::Encoded(raw),
                                    None => Verdict::Accepted,
                                };
                                self.verdict(verdict);
                                self.state = match framing {
                                    Framing::None => State::Head,
                                    Framing::Length(n) => State::Length(n),
                                    Framing::Chunked => State::ChunkSize,
                                };
                            }
                            Err(why) => return Err(self.refuse(why, out)),
                        }
                    }
                }
                State::Length(left) => {
                    let n = (input.len() as u64).min(left) as usize;
                    out.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    self.state = if left == n as u64 {
                        State::Head
                    } else {
                        State::Length(left - n as u64)
                    };
                }
                State::ChunkSize => match self.take_line(&mut input, MAX_CHUNK_LINE) {
                    Ok(Some(line)) => {
                        let size = check_chunk_size(&line).map_err(Cut::Body)?;
                        out.extend_from_slice(&line);
                        out.extend_from_slice(b"\r\n");
                        self.state = if size == 0 {
                            State::Trailers(0)
                        } else {
                            State::ChunkData(size)
                        };
                    }
                    Ok(None) => {}
                    Err(()) => return Err(Cut::Body("invalid chunk size line")),
                },
                State::ChunkData(left) => {
                    let n = (input.len() as u64).min(left) as usize;
                    out.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    self.state = if left == n as u64 {
                        State::ChunkDataEnd(0)
                    } else {
                        State::ChunkData(left - n as u64)
                    };
                }
                State::ChunkDataEnd(seen) => {
                    let expected = if seen == 0 { b'\r' } else { b'\n' };
                    if input[0] != expected {
                        return Err(Cut::Body("chunk data not followed by CRLF"));
                    }
                    out.extend_from_slice(&input[..1]);
                    input = &input[1..];
                    self.state = if seen == 0 {
                        State::ChunkDataEnd(1)
                    } else {
                        State::ChunkSize
                    };
                }
                State::Trailers(seen) => match self.take_line(&mut input, self.limits.field_size) {
                    Ok(Some(line)) if line.is_empty() => {
                        out.extend_from_slice(b"\r\n");
                        self.state = State::Head;
                    }
                    Ok(Some(line)) => {
                        let (name, _) = check_field(&line, self.limits.field_size)
                            .map_err(|r| Cut::Body(r.reason))?;
                        if seen + 1 > self.limits.fields {
                            return Err(Cut::Body("too many trailer fields"));
                        }
                        self.state = State::Trailers(seen + 1);
                        let lower = name.to_ascii_lowercase();
                        if REFUSED_TRAILERS.contains(&lower.as_slice()) {
                            return Err(Cut::Body("forbidden trailer field"));
                        }
                        if !DROPPED_TRAILERS.contains(&lower.as_slice()) {
                            out.extend_from_slice(&line);
                            out.extend_from_slice(b"\r\n");
                        }
                    }
                    Ok(None) => {}
                    Err(()) => return Err(Cut::Body("invalid trailer line")),
                },
            }
        }
        Ok(())
    }
}

/// The connection as hyper sees it: reads pass through the [`Scanner`], writes go straight.
/// It also keeps time: an idle connection (no request open, nothing of the next one received)
/// is closed after `--keep-alive`; a head that has begun must be complete within
/// `--header-timeout`, else 408.
pub struct GuardedIo<S> {
    inner: S,
    /// Still looking for a PROXY protocol header.
    proxy: Option<ProxyHeader>,
    scanner: Scanner,
    out: BytesMut,
    raw: Box<[u8]>,
    cut: Option<Cut>,
    timeouts: Timeouts,
    idle_since: Option<Instant>,
    timer: Pin<Box<Sleep>>,
}

/// The start of a connection while a PROXY header may still come.
struct ProxyHeader {
    buf: Vec<u8>,
    trusted: bool,
}

impl<S> GuardedIo<S> {
    /// `proxy`: look for a PROXY protocol header first (`--proxy-protocol`), and whether the
    /// peer may send one.
    pub fn new(
        inner: S,
        conn: Arc<ConnState>,
        limits: Limits,
        timeouts: Timeouts,
        proxy: Option<bool>,
    ) -> Self {
        Self {
            proxy: proxy.map(|trusted| ProxyHeader {
                buf: Vec::new(),
                trusted,
            }),
            inner,
            scanner: Scanner::new(conn, limits),
            out: BytesMut::new(),
            raw: vec![0u8; READ_SIZE].into_boxed_slice(),
            cut: None,
            timeouts,
            idle_since: None,
            timer: Box::pin(tokio::time::sleep(timeouts.keep_alive)),
        }
    }

    /// When waiting for the client must end, and whether that is mid-head.
    fn deadline(&mut self) -> Option<(Instant, bool)> {
        if let Some(started) = self.scanner.head_started {
            return Some((started + self.timeouts.header, true));
        }
        if self.scanner.idle() && self.scanner.conn.idle() {
            let since = *self.idle_since.get_or_insert_with(Instant::now);
            return Some((since + self.timeouts.keep_alive, false));
        }
        self.idle_since = None;
        None
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for GuardedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.out.is_empty() {
                let n = this.out.len().min(buf.remaining());
                buf.put_slice(&this.out[..n]);
                this.out.advance(n);
                return Poll::Ready(Ok(()));
            }
            match &this.cut {
                Some(Cut::Refused) => return Poll::Ready(Ok(())),
                Some(Cut::Body(why)) => {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, *why)));
                }
                None => {}
            }
            let deadline = this.deadline();
            let mut raw = ReadBuf::new(&mut this.raw);
            match Pin::new(&mut this.inner).poll_read(cx, &mut raw) {
                Poll::Ready(result) => result?,
                Poll::Pending => {
                    let Some((at, mid_head)) = deadline else {
                        return Poll::Pending;
                    };
                    if this.timer.deadline() != at {
                        this.timer.as_mut().reset(at);
                    }
                    ready!(this.timer.as_mut().poll(cx));
                    if mid_head {
                        let why = reject(StatusCode::REQUEST_TIMEOUT, "request head too slow");
                        this.cut = Some(this.scanner.refuse(why, &mut this.out));
                        continue;
                    }
                    // Idle past --keep-alive: end of stream, and hyper closes quietly.
                    this.cut = Some(Cut::Refused);
                    return Poll::Ready(Ok(()));
                }
            }
            this.idle_since = None;
            let filled = raw.filled();
            if filled.is_empty() {
                return Poll::Ready(Ok(()));
            }
            let result = match this.proxy.as_mut() {
                None => this.scanner.feed(filled, &mut this.out),
                Some(proxy) => {
                    proxy.buf.extend_from_slice(filled);
                    match proxy_protocol::parse(&proxy.buf) {
                        Parsed::Incomplete => Ok(()),
                        Parsed::NotProxy => {
                            let data = std::mem::take(&mut proxy.buf);
                            this.proxy = None;
                            this.scanner.feed(&data, &mut this.out)
                        }
                        Parsed::Header { .. } if !proxy.trusted => Err(this.scanner.refuse(
                            bad("PROXY header from a peer not in --forwarded-allow-ips"),
                            &mut this.out,
                        )),
                        Parsed::Header { len, source } => {
                            let data = std::mem::take(&mut proxy.buf);
                            this.proxy = None;
                            if let Some(source) = source {
                                this.scanner.conn.set_peer(source);
                            }
                            this.scanner.feed(&data[len..], &mut this.out)
                        }
                        Parsed::Invalid(why) => Err(this.scanner.refuse(bad(why), &mut this.out)),
                    }
                }
            };
            if let Err(cut) = result {
                this.cut = Some(cut);
            }
        }
    }
}

/// Writes go straight to the socket, except placeholder frames of zero-copy bodies, which
/// become sendfile(2) calls (see `zero_copy`).
impl<S: AsyncWrite + ZeroCopy + Unpin> AsyncWrite for GuardedIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if zero_copy::is_placeholder(buf) {
            return this
                .scanner
                .conn
                .segments
                .poll_send(&this.inner, cx, buf.len());
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match bufs.iter().position(|b| zero_copy::is_placeholder(b)) {
            None => Pin::new(&mut this.inner).poll_write_vectored(cx, bufs),
            Some(0) => this
                .scanner
                .conn
                .segments
                .poll_send(&this.inner, cx, bufs[0].len()),
            // The bytes before the file part first; hyper calls again for the rest.
            Some(i) => Pin::new(&mut this.inner).poll_write_vectored(cx, &bufs[..i]),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(input: &[u8]) -> (Vec<u8>, Vec<Verdict>, Option<Cut>) {
        scan_split(input, input.len().max(1))
    }

    /// Feed `input` in pieces of `step` bytes.
    fn scan_split(input: &[u8], step: usize) -> (Vec<u8>, Vec<Verdict>, Option<Cut>) {
        let conn = Arc::new(ConnState::default());
        let mut scanner = Scanner::new(Arc::clone(&conn), Limits::default());
        let mut out = BytesMut::new();
        let mut cut = None;
        for piece in input.chunks(step) {
            if let Err(c) = scanner.feed(piece, &mut out) {
                cut = Some(c);
                break;
            }
        }
        let v = conn
            .verdicts
            .lock()
            .expect("lock")
            .iter()
            .cloned()
            .collect();
        (out.to_vec(), v, cut)
    }

    fn refused(input: &[u8]) -> Rejection {
        match scan(input) {
            (out, v, Some(Cut::Refused)) => {
                assert!(out.ends_with(DUMMY_REQUEST));
                match v.last() {
                    Some(Verdict::Refused(r)) => *r,
                    other => panic!("no refusal: {other:?}"),
                }
            }
            (_, v, cut) => panic!(
                "{:?} was not refused: {v:?} {cut:?}",
                String::from_utf8_lossy(&input[..input.len().min(80)])
            ),
        }
    }

    #[test]
    fn valid_pipelined_requests_pass_unchanged_in_any_split() {
        let input: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\
            POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\
            POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n\
            GET /last HTTP/1.0\r\n\r\n";
        for step in [1, 2, 3, 7, 1000] {
            let (out, v, cut) = scan_split(input, step);
            assert_eq!(cut, None, "step {step}");
            assert_eq!(out, input, "step {step}");
            assert_eq!(v, vec![Verdict::Accepted; 4]);
        }
    }

    #[test]
    fn smuggling_patterns_are_refused_and_nothing_after_passes() {
        let r = refused(b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /evil HTTP/1.1\r\n\r\n");
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        refused(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n");
        refused(b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
        refused(b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nhello");
        refused(b"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\nx");
        refused(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        refused(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        refused(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
        refused(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: identity, chunked, identity, chunked\r\n\r\n",
        );
        let r = refused(b"POST / HTTP/1.1\r\nTransfer-Encoding: br, chunked\r\n\r\n");
        assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED);
        let (_, _, cut) =
            scan(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
        assert_eq!(cut, None, "gzip before chunked is passed to the app");
        // RFC 9110 §5.3: two field lines combine; gunicorn's corpus sends this.
        let (_, verdicts, cut) = scan(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        );
        assert_eq!((cut, verdicts), (None, vec![Verdict::Accepted]));
        refused(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
        );
        let (out, _, _) = scan(b"GET / HTTP/1.1\r\nA: b\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\nGET /evil HTTP/1.1\r\n\r\n");
        assert!(!String::from_utf8_lossy(&out).contains("evil"));
    }

    #[test]
    fn head_syntax_is_strict() {
        refused(b"GET / HTTP/1.1\nHost: a\n\n");
        refused(b"GET / HTTP/1.1\r\nLong: one\r\n two\r\n\r\n");
        refused(b"GET / HTTP/1.1\r\nX: a\x07b\r\n\r\n");
        refused(b"GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n");
        refused(b"GET / HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc");
        refused(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
        refused(b"get / HTTP/1.1\r\n\r\n");
        refused(b"GET  / HTTP/1.1\r\n\r\n");
        refused(b"GET foo HTTP/1.1\r\n\r\n");
        refused(b"GET * HTTP/1.1\r\n\r\n");
        refused(b"GET / HTTP/2.0\r\n\r\n");
        refused(b"GET / HTTP/1.1\r\nba\x00z: x\r\n\r\n");
        assert_eq!(scan(b"OPTIONS * HTTP/1.1\r\n\r\n").2, None);
        assert_eq!(scan(b"GET http://a/b?c HTTP/1.1\r\n\r\n").2, None);
        assert_eq!(scan(b"GET / HTTP/1.1\r\nX: caf\xe9\r\n\r\n").2, None);
        // Raw UTF-8 in the target reaches hyper percent-encoded.
        let (out, _, cut) = scan(b"GET /\xc3\xa0%20k HTTP/1.0\r\n\r\n");
        assert_eq!(cut, None);
        assert_eq!(out, b"GET /%C3%A0%20k HTTP/1.0\r\n\r\n");
        // So do the few ASCII bytes it refuses (`"` only in the query).
        let (out, _, cut) = scan(b"GET /with_\"quotes\"<`>?foo=\"bar\"{} HTTP/1.1\r\n\r\n");
        assert_eq!(cut, None);
        assert_eq!(
            out,
            b"GET /with_\"quotes\"%3C%60%3E?foo=%22bar%22{} HTTP/1.1\r\n\r\n"
        );
    }

    #[test]
    fn limits() {
        let limits = Limits::default();
        let long_line = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(limits.request_line));
        assert_eq!(
            refused(long_line.as_bytes()).status,
            StatusCode::URI_TOO_LONG
        );
        let big_field = format!(
            "GET / HTTP/1.1\r\nX: {}\r\n\r\n",
            "a".repeat(limits.field_size - 4)
        );
        assert_eq!(
            refused(big_field.as_bytes()).status,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "X: y\r\n".repeat(limits.fields + 1)
        );
        assert_eq!(
            refused(many.as_bytes()).status,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
    }

    /// gunicorn's corpus sends `Content-Type` and `Vary` trailers in a valid request: `Vary`
    /// passes, `Content-Type` is dropped (never reaches hyper); neither cuts the body.
    #[test]
    fn trailer_fields_pass_or_are_dropped() {
        let input = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\
            Vary: *\r\nContent-Type: text/plain\r\nCookie: a=b\r\n\r\n\
            GET /next HTTP/1.1\r\n\r\n";
        let (out, verdicts, cut) = scan(input);
        assert!(cut.is_none(), "{cut:?}");
        assert_eq!(verdicts, vec![Verdict::Accepted, Verdict::Accepted]);
        let out = String::from_utf8_lossy(&out);
        assert!(out.contains("0\r\nVary: *\r\n\r\nGET /next"), "{out}");
        let limits = Limits::default();
        let many = format!(
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n{}\r\n",
            "X: y\r\n".repeat(limits.fields + 1)
        );
        assert!(matches!(scan(many.as_bytes()).2, Some(Cut::Body(_))));
    }

    #[test]
    fn broken_chunked_bodies_are_cut() {
        for body in [
            &b"6_0\r\nhello!\r\n0\r\n\r\n"[..],
            b"0 \r\n\r\n",
            b" 0\r\n\r\n",
            b"-5\r\nhello\r\n0\r\n\r\n",
            b"5;a=\rb\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"0\r\nX: 1\r\n Y: 2\r\n\r\n",
            b"0\r\nContent-Length: 99\r\n\r\n",
            b"0\r\nHost: evil\r\n\r\n",
            b"0\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            let mut input = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            input.extend_from_slice(body);
            input.extend_from_slice(b"GET /evil HTTP/1.1\r\n\r\n");
            let (out, verdicts, cut) = scan(&input);
            assert!(
                matches!(cut, Some(Cut::Body(_))),
                "{:?}",
                String::from_utf8_lossy(body)
            );
            assert!(!String::from_utf8_lossy(&out).contains("evil"));
            assert_eq!(verdicts, vec![Verdict::Accepted]);
        }
    }

    #[test]
    fn leading_empty_lines_are_allowed() {
        let (out, v, cut) = scan(b"\r\nGET / HTTP/1.1\r\n\r\n");
        assert_eq!(cut, None);
        assert_eq!(v, vec![Verdict::Accepted]);
        assert_eq!(out, b"\r\nGET / HTTP/1.1\r\n\r\n");
    }
}
