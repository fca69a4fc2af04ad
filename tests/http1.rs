//! HTTP/1.1 behaviour over raw sockets: keep-alive, pipelining, HTTP/1.0, chunked bodies both
//! ways, Expect: 100-continue, HEAD, malformed requests and request smuggling attempts.

use std::io::{Read, Write};

use crate::common::{
    Server, fixture, parse_all, parse_head_only, parse_one, read_to_close, read_until, repo,
};

fn hello() -> Server {
    Server::start(&[&repo().join("apps/hello.py").to_string_lossy()])
}

/// Read one complete Content-Length response from a kept-alive connection.
fn read_response(s: &mut std::net::TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&out[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse::<usize>().expect("length"));
            if out.len() >= end + 4 + len {
                return out;
            }
        }
        let n = s.read(&mut buf).expect("read");
        assert!(
            n > 0,
            "connection closed early: {:?}",
            String::from_utf8_lossy(&out)
        );
        out.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let server = hello();
    let mut s = server.connect();
    for _ in 0..3 {
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        let resp = parse_one(&read_response(&mut s));
        assert_eq!(resp.status, 200);
        assert_eq!(resp.text(), "Hello World!");
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = Server::start(&[&fixture("behaviour.py")]);
    let raw = server.raw(
        b"GET /env?n=1 HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
          GET /env?n=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let all = parse_all(&raw);
    assert_eq!(all.len(), 3, "{}", String::from_utf8_lossy(&raw));
    assert_eq!(all[0].json()["QUERY_STRING"], "n=1");
    assert_eq!(all[1].json()["pieces"][0], "hello");
    assert_eq!(all[2].json()["QUERY_STRING"], "n=3");
}

#[test]
fn http10_gets_no_chunked_and_a_close() {
    let server = Server::start(&[&fixture("behaviour.py")]);
    let raw = server.raw(b"GET /no_length HTTP/1.0\r\n\r\n");
    let resp = parse_one(&raw);
    assert_eq!(resp.status, 200);
    assert!(resp.version.starts_with("HTTP/1."), "{}", resp.version);
    assert_eq!(resp.header("transfer-encoding"), None);
    assert_eq!(resp.text(), "first second");
    let env = parse_one(&server.raw(b"GET /env HTTP/1.0\r\n\r\n")).json();
    assert_eq!(env["SERVER_PROTOCOL"], "HTTP/1.0");
}

#[test]
fn http10_keep_alive_when_asked() {
    let server = hello();
    let mut s = server.connect();
    for _ in 0..2 {
        s.write_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .expect("write");
        let resp = parse_one(&read_response(&mut s));
        assert_eq!(resp.text(), "Hello World!");
    }
}

#[test]
fn response_without_length_is_chunked_on_http11() {
    let server = Server::start(&[&fixture("behaviour.py")]);
    let resp = server.get("/no_length");
    assert!(resp.chunked, "{resp:?}");
    assert!(!resp.truncated);
    assert_eq!(resp.text(), "first second");
}

#[test]
fn chunked_request_body_reaches_the_app() {
    let server = Server::start(&[&fixture("behaviour.py")]);
    let resp = parse_one(&server.raw(
        b"POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
          5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n",
    ));
    assert_eq!(resp.json()["pieces"][0], "hello, world");
}

#[test]
fn expect_100_continue_waits_for_the_app_to_read() {
    let server = Server::start(&[&fixture("behaviour.py")]);
    let mut s = server.connect();
    s.write_all(
        b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
    )
    .expect("write");
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).expect("read 100");
    let interim = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(
        interim.starts_with("HTTP/1.1 100 Continue\r\n"),
        "{interim}"
    );
    s.write_all(b"body").expect("write body");
    let rest = read_to_close(&mut s);
    let resp = parse_one(&rest);
    assert_eq!(resp.json()["pieces"][0], "body");
}

#[test]
fn expect_100_continue_is_not_sent_when_the_app_does_not_read() {
    let server = hello();
    let mut s = server.connect();
    s.write_all(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
    )
    .expect("write");
    let raw = read_to_close(&mut s);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(!text.contains("100 Continue"), "{text}");
}

#[test]
fn head_has_headers_and_no_body() {
    let server = hello();
    let mut s = server.connect();
    s.write_all(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    // The HEAD's answer has begun before the next request goes out.
    let mut raw = read_until(&mut s, b"\r\n\r\n");
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    raw.extend(read_to_close(&mut s));
    let (head, used) = parse_head_only(&raw);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("12"));
    // The next response starts right after the HEAD's headers: no body was sent.
    let next = parse_one(&raw[used..]);
    assert_eq!(next.text(), "Hello World!");
}

#[test]
fn malformed_request_gets_400_and_close() {
    let server = hello();
    for bad in [
        &b"GET / HTTP/1.1\r\nHost x\r\n\r\n"[..],
        b"NOT A REQUEST\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    ] {
        let raw = server.raw(bad);
        let text = String::from_utf8_lossy(&raw);
        assert!(
            text.starts_with("HTTP/1.1 400"),
            "{:?} → {text}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn content_length_with_transfer_encoding_is_refused() {
    let server = Server::start(&[&fixture("behaviour.py")]);
    for order in [
        &b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /env HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\nGET /env HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let raw = server.raw(order);
        let text = String::from_utf8_lossy(&raw);
        assert!(text.starts_with("HTTP/1.1 400"), "{text}");
        // The smuggled second request is never answered.
        assert_eq!(text.matches("HTTP/1.1").count(), 1, "{text}");
    }
}

#[test]
fn non_ascii_header_values_arrive_as_latin1() {
    let server = Server::start(&[&fixture("behaviour.py")]);
    let resp = parse_one(
        &server
            .raw(b"GET /env HTTP/1.1\r\nHost: x\r\nX-Name: caf\xe9\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(resp.json()["HTTP_X_NAME"], "caf\u{e9}");
}

/// Three valid requests of gunicorn's corpus that were answered 400: a chunked body with
/// trailer fields, a target with raw `"` (and other bytes hyper's URI parser refuses), and
/// Transfer-Encoding on two field lines (RFC 9110 §5.3: they combine).
#[test]
fn gunicorn_corpus_requests_once_refused_are_served() {
    let server = Server::start(&[&fixture("behaviour.py")]);
    let trailers = parse_one(&server.raw(
        b"POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
          5\r\nhello\r\n6\r\n world\r\n0\r\nVary: *\r\nContent-Type: text/plain\r\n\r\n",
    ));
    assert_eq!(trailers.status, 200, "{}", trailers.text());
    assert_eq!(trailers.json()["pieces"][0], "hello world");

    let quotes = parse_one(&server.raw(
        b"GET /env/with_\"quotes\"<`>?foo=\"bar\"&x=<y> HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ));
    assert_eq!(quotes.status, 200, "{}", quotes.text());
    let env = quotes.json();
    assert_eq!(env["PATH_INFO"], "/env/with_\"quotes\"<`>");
    assert_eq!(env["QUERY_STRING"], "foo=\"bar\"&x=<y>");
    assert_eq!(env["RAW_URI"], "/env/with_\"quotes\"<`>?foo=\"bar\"&x=<y>");

    let two_lines = parse_one(&server.raw(
        b"POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\
          Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ));
    assert_eq!(two_lines.status, 200, "{}", two_lines.text());
    assert_eq!(two_lines.json()["pieces"][0], "hello");
}
