//! PEP 3333 over real sockets: the environ, every wsgi.input read form, start_response with
//! write() and exc_info, lazy headers, close(), Content-Length, bytes-only bodies,
//! wsgi.file_wrapper and wsgi.errors.

use std::io::{Read, Write};
use std::time::Duration;

use crate::common::{Server, TempDir, eventually, fixture, parse_one, read_to_close};

fn app() -> Server {
    Server::start(&[&fixture("behaviour.py")])
}

fn post(server: &Server, target: &str, body: &[u8]) -> crate::common::Response {
    let mut req = format!(
        "POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    parse_one(&server.raw(&req))
}

#[test]
fn environ_has_every_required_key_as_native_strings() {
    let server = app();
    let raw = server.raw(
        b"POST /env/caf%C3%A9%20x?a=%20b&c HTTP/1.1\r\nHost: example.org:8080\r\n\
          Content-Type: text/plain\r\nContent-Length: 0\r\nX-Rep: one\r\nX-Rep: two\r\n\
          Connection: close\r\n\r\n",
    );
    let env = parse_one(&raw).json();
    let types = &env["types"];
    for key in [
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "REMOTE_ADDR",
        "REMOTE_PORT",
        "wsgi.url_scheme",
        "HTTP_HOST",
        "HTTP_X_REP",
    ] {
        assert_eq!(types[key], "str", "{key} should be a native str: {env}");
    }
    assert_eq!(env["REQUEST_METHOD"], "POST");
    assert_eq!(env["SCRIPT_NAME"], "");
    // Percent-decoded, then each byte one code point (latin-1).
    assert_eq!(env["PATH_INFO"], "/env/caf\u{c3}\u{a9} x");
    assert_eq!(env["QUERY_STRING"], "a=%20b&c");
    assert_eq!(env["CONTENT_TYPE"], "text/plain");
    assert_eq!(env["CONTENT_LENGTH"], "0");
    assert!(env.get("HTTP_CONTENT_TYPE").is_none() && env.get("HTTP_CONTENT_LENGTH").is_none());
    assert_eq!(env["HTTP_X_REP"], "one,two");
    assert_eq!(env["SERVER_NAME"], "example.org");
    assert_eq!(env["SERVER_PORT"], "8080");
    assert_eq!(env["SERVER_PROTOCOL"], "HTTP/1.1");
    assert_eq!(env["REMOTE_ADDR"], "127.0.0.1");
    assert!(
        env["REMOTE_PORT"]
            .as_str()
            .is_some_and(|p| p.parse::<u16>().is_ok()),
        "{env}"
    );
    assert_eq!(env["wsgi.version"], serde_json::json!([1, 0]));
    assert_eq!(env["wsgi.url_scheme"], "http");
    assert_eq!(env["wsgi.multithread"], false);
    assert_eq!(env["wsgi.multiprocess"], false);
    assert_eq!(env["wsgi.run_once"], false);
    assert_eq!(env["wsgi.input_terminated"], true);
    assert_eq!(env["types"]["wsgi.input"], "Input");
    assert_eq!(env["types"]["wsgi.errors"], "Errors");
}

#[test]
fn multiprocess_is_true_with_several_workers() {
    let server = Server::start(&[&fixture("behaviour.py"), "--workers", "2"]);
    assert_eq!(server.get("/env").json()["wsgi.multiprocess"], true);
}

#[test]
fn input_read_forms() {
    let server = app();
    let body = b"line one\nline two\nthree";
    let pieces =
        |mode: &str| post(&server, &format!("/read?{mode}"), body).json()["pieces"].clone();
    assert_eq!(
        pieces("mode=read"),
        serde_json::json!(["line one\nline two\nthree"])
    );
    assert_eq!(
        pieces("mode=read_n&n=10"),
        serde_json::json!(["line one\nl", "ine two\nth", "ree"])
    );
    assert_eq!(
        pieces("mode=readline"),
        serde_json::json!(["line one\n", "line two\n", "three"])
    );
    assert_eq!(
        pieces("mode=readline&n=5"),
        serde_json::json!(["line ", "one\n", "line ", "two\n", "three"])
    );
    assert_eq!(
        pieces("mode=readlines"),
        serde_json::json!(["line one\n", "line two\n", "three"])
    );
    assert_eq!(
        pieces("mode=readlines&n=3"),
        serde_json::json!(["line one\n"])
    );
    assert_eq!(
        pieces("mode=iter"),
        serde_json::json!(["line one\n", "line two\n", "three"])
    );
    let resp = post(&server, "/read?mode=read", b"");
    assert_eq!(resp.json()["pieces"], serde_json::json!([""]));
    assert_eq!(resp.json()["types"], serde_json::json!(["bytes"]));
}

#[test]
fn a_large_upload_streams_through_bounded_memory() {
    const TOTAL: usize = 1 << 30;
    let server = app();
    let mut s = server.connect();
    s.set_read_timeout(Some(Duration::from_secs(300)))
        .expect("timeout");
    s.write_all(
        format!("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {TOTAL}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .expect("head");
    let block: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    for _ in 0..TOTAL / block.len() {
        s.write_all(&block).expect("body");
    }
    let resp = parse_one(&read_to_close(&mut s));
    let report = resp.json();
    assert_eq!(report["bytes"], TOTAL);
    let peak = report["peak_rss"].as_u64().expect("peak_rss");
    assert!(peak > 0, "no RSS reading: {report}");
    assert!(
        peak < 512 << 20,
        "the worker held the upload in memory: peak RSS {peak}"
    );
}

#[test]
fn write_callable_and_returned_iterable_both_reach_the_client() {
    let resp = app().get("/write");
    assert_eq!(resp.text(), "written then returned");
}

#[test]
fn exc_info_before_headers_replaces_the_status() {
    let resp = app().get("/exc_before");
    assert_eq!(resp.status, 503);
    assert_eq!(resp.reason, "Changed My Mind");
    assert_eq!(resp.text(), "replaced");
}

#[test]
fn exc_info_after_headers_reraises_and_cuts_the_response() {
    let server = app();
    let resp = server.get("/exc_after");
    assert_eq!(resp.status, 200);
    assert!(
        resp.truncated,
        "the response must not look complete: {resp:?}"
    );
    assert_eq!(resp.text(), "partial body ");
    assert!(server.wait_log("RuntimeError: too late", Duration::from_secs(5)));
    // And the server goes on serving.
    assert_eq!(server.get("/pid").status, 200);
}

#[test]
fn headers_wait_for_the_first_non_empty_chunk() {
    let server = app();
    let resp = server.get("/lazy_fail");
    assert_eq!(
        resp.status, 500,
        "an empty first chunk must not send the 200: {resp:?}"
    );
    assert!(server.wait_log("failed before the first byte", Duration::from_secs(5)));
}

#[test]
fn a_generator_streams_chunk_by_chunk() {
    let server = app();
    let dir = TempDir::new("stream");
    let marker = dir.path().join("go");
    let mut s = server.connect();
    s.write_all(
        format!(
            "GET /handshake?marker={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            marker.display()
        )
        .as_bytes(),
    )
    .expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).contains("first\n") {
        let n = s
            .read(&mut buf)
            .expect("first chunk must arrive while the app still runs");
        assert!(n > 0, "closed early");
        got.extend_from_slice(&buf[..n]);
    }
    std::fs::write(&marker, "go").expect("marker");
    got.extend(read_to_close(&mut s));
    let resp = parse_one(&got);
    assert_eq!(resp.text(), "first\nsecond\n");
}

#[test]
fn close_is_called_after_a_complete_response() {
    let server = app();
    let dir = TempDir::new("close");
    let marker = dir.path().join("closed");
    let resp = server.get(&format!("/closing?marker={}", marker.display()));
    assert_eq!(resp.text(), "chunk 0\nchunk 1\n");
    assert!(eventually(Duration::from_secs(5), || marker.exists()));
}

#[test]
fn close_is_called_when_the_client_goes_away() {
    let server = app();
    let dir = TempDir::new("close-gone");
    let marker = dir.path().join("closed");
    let mut s = server.connect();
    s.write_all(
        format!(
            "GET /closing?marker={}&chunks=200&delay=0.05 HTTP/1.1\r\nHost: x\r\n\r\n",
            marker.display()
        )
        .as_bytes(),
    )
    .expect("write");
    let mut buf = [0u8; 256];
    assert!(s.read(&mut buf).expect("first bytes") > 0);
    drop(s);
    assert!(
        eventually(Duration::from_secs(10), || marker.exists()),
        "close() was not called after the client left"
    );
}

#[test]
fn never_more_than_content_length() {
    let server = app();
    let raw = server.raw(b"GET /cl_over HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let resp = parse_one(&raw);
    assert_eq!(resp.text(), "01234");
    assert!(!String::from_utf8_lossy(&raw).contains("56789"));
    let resp = server.get("/cl_under");
    assert!(
        resp.truncated,
        "a short body must end the connection, not pass as complete"
    );
}

#[test]
fn file_wrapper_serves_real_files_and_file_likes() {
    let server = app();
    let dir = TempDir::new("file");
    let path = dir.path().join("data.bin");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(&path, &data).expect("write file");
    let resp = server.get(&format!("/file?path={}", path.display()));
    assert_eq!(resp.status, 200);
    assert!(
        resp.body == data,
        "file body differs ({} bytes)",
        resp.body.len()
    );
    let resp = server.get(&format!("/file?path={}&skip=1000", path.display()));
    assert!(resp.body == data[1000..], "offset not honoured");
    assert_eq!(server.get("/filelike").text(), "from a BytesIO");
}

#[test]
fn wsgi_errors_goes_to_the_log() {
    let server = app();
    assert_eq!(server.get("/errors").status, 200);
    assert!(server.wait_log("message for wsgi.errors", Duration::from_secs(5)));
    assert!(server.wait_log("second line", Duration::from_secs(5)));
}

#[test]
fn access_log_is_apache_combined() {
    let server = app();
    let raw = server.raw(
        b"GET /pid?x=1 HTTP/1.1\r\nHost: x\r\nReferer: http://ref/\r\nUser-Agent: tester/1\r\nConnection: close\r\n\r\n",
    );
    let resp = parse_one(&raw);
    let size = resp.body.len();
    assert!(
        eventually(Duration::from_secs(5), || {
            server.access.lock().expect("lock").iter().any(|l| {
                l.starts_with("127.0.0.1 - - [")
                    && l.contains(&format!(
                        "] \"GET /pid?x=1 HTTP/1.1\" 200 {size} \"http://ref/\" \"tester/1\""
                    ))
            })
        }),
        "{:?}",
        server.access.lock().expect("lock")
    );
}
