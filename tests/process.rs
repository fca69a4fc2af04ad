//! Worker processes: several serve at once, a dead one is replaced, a stop is graceful (the
//! request in flight completes), and threads per worker overlap blocking calls.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use crate::common::{Server, TempDir, app_file, eventually, fixture, parse_one, read_to_close};

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
    // The request is in the app (it logs this line before it sleeps) when TERM arrives.
    assert!(
        server.wait_log("sleeping in pid", Duration::from_secs(30)),
        "{}",
        server.log_text()
    );
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
    // The first request is in the app (it logs this line before it sleeps).
    assert!(
        server.wait_log("sleeping in pid", Duration::from_secs(30)),
        "{}",
        server.log_text()
    );
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

/// An app whose import announces itself, then waits for `go` to exist in `dir` (at most 60 s).
fn gated_app(dir: &std::path::Path) -> String {
    let app = dir.join("gated.py");
    std::fs::write(
        &app,
        format!(
            "import os, sys, time\n\
             print('loading pid=%d' % os.getpid(), file=sys.stderr, flush=True)\n\
             for _ in range(6000):\n    \
                 if os.path.exists({go:?}): break\n    \
                 time.sleep(0.01)\n\
             def application(environ, start_response):\n    \
                 start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
                 return [b'up']\n",
            go = dir.join("go").to_string_lossy()
        ),
    )
    .expect("write app");
    app.to_string_lossy().into_owned()
}

/// The master read the boot pipes with no deadline: while an import hung it was deaf to TERM.
#[test]
fn term_while_the_app_loads_stops_the_master_at_once() {
    let dir = crate::common::TempDir::new("term-loading");
    let mut server = Server::launch(&[&gated_app(dir.path()), "--workers", "2"]);
    assert!(
        server.wait_log("loading pid=", Duration::from_secs(30)),
        "{}",
        server.log_text()
    );
    server.signal("TERM");
    let status = server.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "{status}\n{}", server.log_text());
    assert!(server.log_contains("Stopped"), "{}", server.log_text());
    assert!(!server.log_contains("Ready"), "{}", server.log_text());
}

/// A worker that has not loaded the app within --timeout fails the start (gunicorn's rule).
#[test]
fn an_app_that_never_loads_fails_at_the_timeout() {
    let dir = crate::common::TempDir::new("never-loads");
    let mut server = Server::launch(&[&gated_app(dir.path()), "--timeout", "2"]);
    let status = server.wait_exit(Duration::from_secs(30));
    assert!(!status.success(), "{}", server.log_text());
    assert!(
        server.log_contains("still loading the app after --timeout (2s)"),
        "{}",
        server.log_text()
    );
}

/// TERM to a worker during its import killed it at once, which the master took for an app
/// that cannot load. Now the worker stops cleanly once loaded and is replaced.
#[test]
fn a_worker_stopped_while_loading_exits_cleanly_and_is_replaced() {
    let dir = crate::common::TempDir::new("worker-term-loading");
    let mut server = Server::launch(&[&gated_app(dir.path())]);
    assert!(
        server.wait_log("loading pid=", Duration::from_secs(30)),
        "{}",
        server.log_text()
    );
    let pid = server
        .log_text()
        .split("loading pid=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next().map(str::to_owned))
        .expect("worker pid");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    std::fs::write(dir.path().join("go"), b"").expect("write go");
    server.wait_ready();
    assert!(
        server.wait_log("retired; starting a new one", Duration::from_secs(30)),
        "{}",
        server.log_text()
    );
    assert!(eventually(Duration::from_secs(30), || server
        .get("/")
        .status
        == 200));
    assert!(server.log_contains("arrived while it loaded the app"));
}

/// The old workers' graceful stop during a reload reaped any child: a new worker that died
/// then was dropped with no log and no replacement, and the pool shrank for good.
#[test]
fn a_new_worker_dying_during_a_reload_is_replaced() {
    let server = Server::start(&[
        &fixture("behaviour.py"),
        "--workers",
        "2",
        "--graceful-timeout",
        "30",
    ]);
    // An old worker stays busy, so the reload's graceful stop lasts about 4 s.
    let port = server.port;
    let busy = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.write_all(b"GET /sleep?seconds=4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("send");
        read_to_close(&mut s)
    });
    assert!(
        server.wait_log("sleeping in pid", Duration::from_secs(10)),
        "{}",
        server.log_text()
    );
    server.signal("HUP");
    assert!(
        server.wait_log(
            "new workers ready; stopping the old ones",
            Duration::from_secs(30)
        ),
        "{}",
        server.log_text()
    );
    let new_pid = server
        .log_text()
        .lines()
        .filter_map(|l| l.split("with pid ").nth(1))
        .nth(2)
        .expect("a new worker's pid")
        .trim()
        .to_owned();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &new_pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    assert!(
        server.wait_log(
            &format!("(pid {new_pid}) died (signal 9); starting a new one"),
            Duration::from_secs(40)
        ),
        "{}",
        server.log_text()
    );
    assert!(server.wait_log("Reload done", Duration::from_secs(40)));
    assert_eq!(parse_one(&busy.join().expect("busy request")).status, 200);
    assert!(eventually(Duration::from_secs(30), || pids(&server, 20)
        .len()
        == 2));
}

/// Whether the process `pid` holds the server end of the loopback connection whose client end
/// is `client` (its socket's inode, from /proc/net/tcp, among the process's descriptors).
fn accepted(pid: &str, client: std::net::SocketAddr) -> bool {
    let remote = format!("0100007F:{:04X}", client.port());
    let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let inode = tcp.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(2) == Some(&remote.as_str()))
            .then(|| fields.get(9).map(|i| i.to_string()))
            .flatten()
    });
    let Some(socket) = inode.filter(|i| i != "0").map(|i| format!("socket:[{i}]")) else {
        return false;
    };
    std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
        fds.filter_map(Result::ok)
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t.to_string_lossy() == socket))
    })
}

/// A connection accepted just before a stop, still in the h2c peek (or a TLS handshake), was
/// not counted by the drain: the worker ended at once and reset it.
#[test]
fn a_connection_still_opening_when_the_worker_stops_is_served() {
    let mut server = Server::start(&[&fixture("behaviour.py"), "--graceful-timeout", "20"]);
    let log = server.log_text();
    let worker = log
        .lines()
        .find_map(|l| l.split("Booting worker 0 with pid ").nth(1))
        .expect("the worker's pid")
        .trim()
        .to_owned();
    let mut s = server.connect();
    // The first byte of the HTTP/2 preface: the worker waits to see whether it is h2c.
    s.write_all(b"P").expect("send");
    // TERM only once the worker holds the connection (not while it is in the listen backlog).
    let client = s.local_addr().expect("client address");
    assert!(
        eventually(Duration::from_secs(20), || accepted(&worker, client)),
        "{}",
        server.log_text()
    );
    server.signal("TERM");
    assert!(
        server.wait_log("stopping: draining 1 connection", Duration::from_secs(20)),
        "{}",
        server.log_text()
    );
    s.write_all(
        b"OST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
    )
    .expect("send the rest");
    let resp = parse_one(&read_to_close(&mut s));
    assert_eq!(resp.status, 200, "{}", server.log_text());
    assert_eq!(resp.json()["pieces"][0], "hi");
    assert!(server.wait_exit(Duration::from_secs(30)).success());
}

/// A panic in a Python thread left the debug build's worker with no thread (503 for ever) and
/// aborted the release build's with every request in flight. Now the request that hit it gets
/// a 500, the other threads finish theirs, and the worker is replaced.
#[test]
fn a_panicking_python_thread_retires_its_worker() {
    let mut cmd = std::process::Command::new(crate::common::bin());
    cmd.env("RWSGI_FAULT_INJECTION", "1");
    let server = Server::start_with(
        cmd,
        &[
            &fixture("behaviour.py"),
            "--threads",
            "2",
            "--graceful-timeout",
            "20",
        ],
    );
    let port = server.port;
    let slow = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.write_all(b"GET /sleep?seconds=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("send");
        read_to_close(&mut s)
    });
    assert!(server.wait_log("sleeping in pid", Duration::from_secs(10)));
    let resp =
        parse_one(&server.raw(b"GET /panic HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    assert_eq!(resp.status, 500, "{}", server.log_text());
    // The request on the other thread finishes.
    assert_eq!(parse_one(&slow.join().expect("slow")).status, 200);
    assert!(
        server.wait_log(
            "stopped after a Python thread panicked (see the log above); starting a new one",
            Duration::from_secs(30)
        ),
        "{}",
        server.log_text()
    );
    assert!(
        server.log_contains(
            "a Python thread panicked while serving GET /panic: injected by the test"
        )
    );
    assert!(eventually(Duration::from_secs(30), || server
        .get("/pid")
        .status
        == 200));
}

/// Load-aware admission: with 3 of 4 workers stuck in long requests, every fresh request goes
/// to the free worker; before, a busy worker took a waiting connection after 5 ms and its
/// request waited behind the stuck one until --timeout (504).
#[test]
fn stuck_workers_leave_fresh_requests_to_the_free_one() {
    let server = Server::start(&[
        &fixture("behaviour.py"),
        "--workers",
        "4",
        "--timeout",
        "20",
        "--graceful-timeout",
        "1",
    ]);
    let port = server.port;
    let mut stuck = Vec::new();
    for n in 1..=3 {
        stuck.push(std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
            s.write_all(b"GET /sleep?seconds=30 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .expect("send");
            let _ = read_to_close(&mut s);
        }));
        assert!(
            eventually(Duration::from_secs(10), || server
                .log_text()
                .matches("sleeping in pid")
                .count()
                == n),
            "{}",
            server.log_text()
        );
    }
    let log = server.log_text();
    let sleeping: HashSet<&str> = log
        .lines()
        .filter_map(|l| l.split("sleeping in pid ").nth(1))
        .collect();
    assert_eq!(
        sleeping.len(),
        3,
        "each stuck request on its own worker:\n{log}"
    );
    let started = std::time::Instant::now();
    let mut served_by = HashSet::new();
    for _ in 0..200 {
        let resp = server.get("/pid");
        assert_eq!(resp.status, 200, "{}", server.log_text());
        served_by.insert(resp.json()["pid"].as_u64().expect("pid"));
    }
    assert_eq!(
        served_by.len(),
        1,
        "only the free worker serves: {served_by:?}"
    );
    let free = served_by.iter().next().expect("pid").to_string();
    assert!(!sleeping.contains(free.as_str()));
    // Bounded by the stuck requests: all 200 were answered before any of them timed out.
    assert!(started.elapsed() < Duration::from_secs(20));
    drop(stuck);
}

/// When --timeout fires, the stuck request's Python stack is logged before the worker is
/// replaced, whether the thread is in a Python loop or blocked in native code.
#[test]
fn a_request_past_the_timeout_leaves_its_stack_in_the_log() {
    for (target, frames) in [
        (
            "/spin",
            // The loop's own frame stands on `while True:` or on `n += 1`.
            &["in spin", "     _spin_forever()", "in _spin_forever"][..],
        ),
        ("/sleep?seconds=60", &["in sleep"][..]),
    ] {
        let server = Server::start(&[
            &fixture("behaviour.py"),
            "--timeout",
            "2",
            "--graceful-timeout",
            "1",
        ]);
        let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let resp = parse_one(&server.raw(request.as_bytes()));
        assert_eq!(resp.status, 504, "{}", server.log_text());
        assert!(
            server.wait_log("stopped after a request timed out", Duration::from_secs(30)),
            "{}",
            server.log_text()
        );
        let log = server.log_text();
        let stack = log
            .split(&format!(
                "GET {target} ran past --timeout; its stack (most recent call last):"
            ))
            .nth(1)
            .unwrap_or_else(|| panic!("no stack for {target}:\n{log}"));
        for frame in frames {
            assert!(stack.contains(frame), "{frame} missing:\n{log}");
        }
    }
}

/// --max-worker-memory: a worker whose private memory passes the limit is retired gracefully,
/// with the figure in the log, and replaced.
#[test]
fn a_worker_past_max_worker_memory_is_replaced() {
    // The limit sits 96 MiB above what an idle worker of this build uses.
    let probe = Server::start(&[&fixture("behaviour.py")]);
    let pid: i32 = probe.get("/pid").json()["pid"]
        .as_i64()
        .and_then(|p| i32::try_from(p).ok())
        .expect("pid");
    let used_mib = rwsgi::process::sys::private_memory(pid).expect("smaps_rollup") / (1024 * 1024);
    drop(probe);
    let limit = (used_mib + 96).to_string();
    let server = Server::start(&[&fixture("behaviour.py"), "--max-worker-memory", &limit]);
    let first = server.get("/grow?mb=8").json()["pid"]
        .as_u64()
        .expect("pid");
    let grown = server.get("/grow?mb=160");
    assert_eq!(grown.status, 200);
    assert!(
        server.wait_log(&format!("(pid {first}) uses"), Duration::from_secs(20)),
        "{}",
        server.log_text()
    );
    assert!(server.log_contains(&format!(
        "above --max-worker-memory ({limit} MiB); retiring it"
    )));
    assert!(server.wait_log("retired; starting a new one", Duration::from_secs(30)));
    assert!(eventually(Duration::from_secs(30), || {
        let resp = server.get("/pid");
        resp.status == 200 && resp.json()["pid"].as_u64() != Some(first)
    }));
}

/// A worker imports only what serving needs: `traceback` and what it pulls in on Python 3.14
/// (`_colorize`, `dataclasses`, `inspect`, ...) cost about 8 MiB of private memory per worker
/// on RustPython, so rwsgi's own Python code imports it only when an error is formatted.
#[test]
fn a_bare_worker_does_not_import_traceback() {
    let dir = TempDir::new("bare-worker");
    let app = app_file(
        &dir,
        "import sys\n\
         def application(environ, start_response):\n    \
             heavy = [m for m in ('traceback', '_colorize', 'dataclasses', 'inspect') if m in sys.modules]\n    \
             start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
             return [(' '.join(heavy) or 'none').encode()]\n",
    );
    let server = Server::start(&[&app]);
    let resp = server.get("/");
    assert_eq!(resp.status, 200, "{}", server.log_text());
    assert_eq!(resp.text(), "none");
}
