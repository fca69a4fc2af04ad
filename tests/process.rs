//! Worker processes: several serve at once, a dead one is replaced, a stop is graceful (the
//! request in flight completes), and threads per worker overlap blocking calls.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use crate::common::{Server, eventually, fixture, parse_one, read_to_close};

fn pids(server: &Server, n: usize) -> HashSet<u64> {
    (0..n)
        .map(|_| server.get("/pid").json()["pid"].as_u64().expect("pid"))
        .collect()
}

#[test]
fn dead_worker_is_replaced() {
    let server = Server::start(&[&fixture("behaviour.py"), "--workers", "2"]);
    let before = pids(&server, 1);
    let raw = server.raw(b"GET /exit_worker HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(raw.is_empty() || String::from_utf8_lossy(&raw).contains("500"));
    assert!(
        server.wait_log("starting a new one", Duration::from_secs(10)),
        "{}",
        server.log_text()
    );
    assert!(eventually(Duration::from_secs(30), || server
        .log_text()
        .matches("Booting worker")
        .count()
        >= 3));
    assert!(server.wait_log("died", Duration::from_secs(1)));
    for _ in 0..5 {
        assert_eq!(server.get("/pid").status, 200);
    }
    let _ = before;
}

#[test]
fn graceful_stop_finishes_the_request_in_flight() {
    let mut server = Server::start(&[&fixture("behaviour.py")]);
    let mut s = server.connect();
    s.write_all(b"GET /sleep?seconds=1.5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    std::thread::sleep(Duration::from_millis(400));
    server.signal("TERM");
    let resp = parse_one(&read_to_close(&mut s));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["slept"], true);
    let status = server.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status}");
    assert!(server.log_contains("Stopped"));
}

#[test]
fn threads_overlap_blocking_requests() {
    let server = Server::start(&[&fixture("behaviour.py"), "--threads", "2"]);
    // Two requests that each block for 2 s; with two Python threads both are in the app at
    // once, so the second is answered while the first still sleeps. No timing: the first
    // request's connection is still open when the second's response is complete.
    let mut first = server.connect();
    first
        .write_all(b"GET /sleep?seconds=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    std::thread::sleep(Duration::from_millis(200));
    let second = server.get("/pid");
    assert_eq!(second.status, 200);
    first.set_nonblocking(true).expect("nonblocking");
    let mut buf = [0u8; 16];
    let still_running = matches!(
        std::io::Read::read(&mut first, &mut buf),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
    );
    assert!(still_running, "the second request waited for the first");
}

#[test]
fn several_workers_share_the_listener() {
    let server = Server::start(&[&fixture("behaviour.py"), "--workers", "2"]);
    assert!(server.wait_log("Booting worker 1", Duration::from_secs(5)));
    // Rounds of concurrent blocking requests: a worker whose Python thread is busy stops
    // accepting, so the others go to the second process. Under a loaded machine one round can
    // still land on one worker (a slow client gives its slot back after the grace), so up to
    // 10 rounds, stopping once both have answered.
    let mut seen: HashSet<u64> = HashSet::new();
    for _ in 0..10 {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let port = server.port;
                std::thread::spawn(move || {
                    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
                    s.write_all(
                        b"GET /sleep?seconds=0.3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    )
                    .expect("write");
                    parse_one(&read_to_close(&mut s)).json()["pid"]
                        .as_u64()
                        .expect("pid")
                })
            })
            .collect();
        seen.extend(handles.into_iter().map(|h| h.join().expect("thread")));
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen.len(), 2, "both workers should have served: {seen:?}");
}

#[test]
fn hup_replaces_workers_and_keeps_serving() {
    let dir = crate::common::TempDir::new("hup");
    let app = dir.path().join("app.py");
    let write_app = |word: &str| {
        std::fs::write(
            &app,
            format!(
                "def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'{word}']\n"
            ),
        )
        .expect("write app");
    };
    write_app("before");
    let server = Server::start(&[&app.to_string_lossy()]);
    assert_eq!(server.get("/").text(), "before");
    write_app("after");
    server.signal("HUP");
    assert!(
        server.wait_log("Reload done", Duration::from_secs(30)),
        "{}",
        server.log_text()
    );
    assert_eq!(server.get("/").text(), "after");
    // New code that fails to load keeps the running workers.
    std::fs::write(&app, "def application(:\n").expect("write broken app");
    server.signal("HUP");
    assert!(
        server.wait_log("keeping the running workers", Duration::from_secs(30)),
        "{}",
        server.log_text()
    );
    assert_eq!(server.get("/").text(), "after");
}
