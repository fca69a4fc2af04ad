//! Apps that misbehave get a clean 500 (or a cut connection once headers are out), the
//! traceback goes to the log, and the server keeps serving.

use std::time::Duration;

use crate::common::{Server, fixture};

fn assert_500_and_still_serving(server: &Server, target: &str, log_needle: &str) {
    let resp = server.get(target);
    assert_eq!(resp.status, 500, "{target}: {resp:?}");
    assert_eq!(resp.text(), "Internal Server Error\n", "{target}");
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(
        server.wait_log(log_needle, Duration::from_secs(5)),
        "{target}: {log_needle:?} not in the log:\n{}",
        server.log_text()
    );
    assert_eq!(
        server.get("/pid").status,
        200,
        "the server stopped serving after {target}"
    );
}

#[test]
fn exception_gives_500_with_traceback_in_log() {
    let server = Server::start(&[&fixture("behaviour.py")]);
    assert_500_and_still_serving(
        &server,
        "/raises",
        "ValueError: the app is broken on purpose",
    );
    assert!(server.log_contains("Traceback (most recent call last)"));
}

#[test]
fn bad_status_lines_give_500() {
    let server = Server::start(&[&fixture("behaviour.py")]);
    for status in [
        "200",
        "OK",
        "20x%20OK",
        "2000%20OK",
        "100%20Continue",
        "200%20OK%0D%0AX:%20y",
    ] {
        assert_500_and_still_serving(
            &server,
            &format!("/bad_status?status={status}"),
            "bad status",
        );
    }
}

#[test]
fn non_bytes_body_gives_500() {
    let server = Server::start(&[&fixture("behaviour.py")]);
    assert_500_and_still_serving(&server, "/str_body", "yielded str, not bytes");
}

#[test]
fn header_injection_and_non_latin1_give_500() {
    let server = Server::start(&[&fixture("behaviour.py")]);
    assert_500_and_still_serving(&server, "/bad_header?kind=crlf", "CR or LF");
    assert_500_and_still_serving(&server, "/bad_header?kind=lf", "CR or LF");
    assert_500_and_still_serving(&server, "/bad_header?kind=snowman", "outside latin-1");
    let ok = server.get("/bad_header?kind=latin1");
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("x-test"), Some("caf\u{e9}"));
}

#[test]
fn second_start_response_without_exc_info_raises() {
    let server = Server::start(&[&fixture("behaviour.py")]);
    assert_500_and_still_serving(
        &server,
        "/second_start",
        "start_response() was already called",
    );
}
