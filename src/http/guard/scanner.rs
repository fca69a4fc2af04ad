//! The framing state machine: it follows each request through its head, its body (by
//! Content-Length or chunk by chunk) and its trailers, applies the [`rules`](super::rules),
//! queues a [`Verdict`] per head on the connection's [`Requests`], and writes what hyper may
//! see. A refused head ends the stream with a dummy request; a broken body ends it with an
//! error ([`Cut`]). Free of I/O, so it can be tested byte by byte.

use std::sync::Arc;

use bytes::BytesMut;
use http::StatusCode;
use tokio::time::Instant;

use super::rules::{
    DROPPED_TRAILERS, Framing, MAX_CHUNK_LINE, MAX_HEAD, REFUSED_TRAILERS, Rejection, bad,
    check_chunk_size, check_field, check_head, find, reject,
};
use crate::http::connection::{Requests, Verdict};
use crate::http::limits::Limits;
use crate::wsgi::environ::RawTarget;

/// What hyper is given in place of a refused head: a request it parses cleanly, answered by
/// the service from the verdict queue, never by the app.
pub(crate) const DUMMY_REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: refused\r\nConnection: close\r\n\r\n";

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
    /// Where each head's verdict goes (and the head is counted as open).
    requests: Arc<Requests>,
    limits: Limits,
    /// When the head being collected began to arrive.
    head_started: Option<Instant>,
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

impl Scanner {
    pub fn new(requests: Arc<Requests>, limits: Limits) -> Self {
        Self {
            state: State::Head,
            line: Vec::new(),
            requests,
            limits,
            head_started: None,
        }
    }

    fn verdict(&mut self, v: Verdict) {
        self.head_started = None;
        self.requests.push(v);
    }

    /// Between requests, with nothing of the next one received.
    pub(super) fn idle(&self) -> bool {
        matches!(self.state, State::Head) && self.line.iter().all(|&b| b == b'\r' || b == b'\n')
    }

    /// When the head being collected began to arrive; `None` between heads.
    pub(super) fn head_started(&self) -> Option<Instant> {
        self.head_started
    }

    /// Refuse the head being collected: its verdict is queued and the dummy request is the
    /// last thing hyper gets.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(input: &[u8]) -> (Vec<u8>, Vec<Verdict>, Option<Cut>) {
        scan_split(input, input.len().max(1))
    }

    /// Feed `input` in pieces of `step` bytes.
    fn scan_split(input: &[u8], step: usize) -> (Vec<u8>, Vec<Verdict>, Option<Cut>) {
        let requests = Arc::new(Requests::default());
        let mut scanner = Scanner::new(Arc::clone(&requests), Limits::default());
        let mut out = BytesMut::new();
        let mut cut = None;
        for piece in input.chunks(step) {
            if let Err(c) = scanner.feed(piece, &mut out) {
                cut = Some(c);
                break;
            }
        }
        let v = std::iter::from_fn(|| requests.next_verdict()).collect();
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
