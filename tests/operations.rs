//! Production operation over real sockets and signals: --timeout, --max-requests, limits,
//! keep-alive and header timeouts, proxy headers, pid file, config sources, log destinations,
//! and zero failed requests across a reload.

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

use crate::common::{Server, TempDir, bin, eventually, fixture, parse_one, read_to_close, repo};

fn app() -> String {
    fixture("behaviour.py")
}

#[test]
fn timeout_answers_504_and_replaces_the_worker() {
    let server = Server::start(&[&app(), "--timeout", "1"]);
    let before = server.get("/pid").json()["pid"].clone();
    let resp = server.get("/sleep?seconds=30");
    assert_eq!(resp.status, 504, "{resp:?}");
    assert!(
        server.wait_log("ran past --timeout", Duration::from_secs(5)),
        "{}",
        server.log_text()
    );
    assert!(
        server.wait_log("stopped after a request timed out", Duration::from_secs(15)),
        "{}",
        server.log_text()
    );
    assert!(eventually(Duration::from_secs(30), || {
        let r = server.get("/pid");
        r.status == 200 && r.json()["pid"] != before
    }));
}

#[test]
fn max_requests_recycles_the_worker_without_failures() {
    let server = Server::start(&[&app(), "--max-requests", "3"]);
    let mut pids = std::collections::HashSet::new();
    for _ in 0..8 {
        let resp = server.get("/pid");
        assert_eq!(resp.status, 200);
        pids.insert(resp.json()["pid"].as_u64().expect("pid"));
    }
    assert!(pids.len() >= 2, "the worker was never recycled: {pids:?}");
    assert!(server.log_contains("retiring this worker"));
}

#[test]
fn body_limit_gives_413_before_the_app() {
    let server = Server::start(&[&app(), "--limit-request-body", "10"]);
    let raw =
        server.raw(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world");
    assert!(
        String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    let raw = server.raw(
        b"POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n",
    );
    assert!(
        String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    let ok = parse_one(&server.raw(
        b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    ));
    assert_eq!(ok.json()["pieces"][0], "hello");
}

#[test]
fn request_line_and_field_limits() {
    let server = Server::start(&[
        &app(),
        "--limit-request-line",
        "64",
        "--limit-request-fields",
        "3",
        "--limit-request-field-size",
        "40",
    ]);
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(80));
    assert!(String::from_utf8_lossy(&server.raw(long.as_bytes())).starts_with("HTTP/1.1 414"));
    let many = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    assert!(String::from_utf8_lossy(&server.raw(many)).starts_with("HTTP/1.1 431"));
    let big = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "v".repeat(40));
    assert!(String::from_utf8_lossy(&server.raw(big.as_bytes())).starts_with("HTTP/1.1 431"));
    assert_eq!(server.get("/pid").status, 200);
}

/// hyper's own limit of 100 header fields stood below a larger --limit-request-fields.
#[test]
fn a_field_limit_above_a_hundred_is_honoured() {
    let server = Server::start(&[&app(), "--limit-request-fields", "300"]);
    let request = |fields: usize| {
        let mut raw = String::from("GET /pid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
        for i in 0..fields - 2 {
            raw.push_str(&format!("X-F{i}: {i}\r\n"));
        }
        raw.push_str("\r\n");
        String::from_utf8_lossy(&server.raw(raw.as_bytes())).into_owned()
    };
    let ok = request(101);
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let ok = request(300);
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(request(301).starts_with("HTTP/1.1 431"));
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let server = Server::start(&[&app(), "--keep-alive", "1"]);
    let mut s = server.connect();
    s.write_all(b"GET /pid HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    // The response, then EOF once the connection has idled past --keep-alive.
    let raw = read_to_close(&mut s);
    assert_eq!(parse_one(&raw).status, 200);
}

#[test]
fn slow_request_heads_get_408() {
    let server = Server::start(&[&app(), "--header-timeout", "1"]);
    let mut s = server.connect();
    s.write_all(b"GET /pid HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let raw = read_to_close(&mut s);
    assert!(
        String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
}

#[test]
fn forwarded_headers_only_from_trusted_proxies() {
    let req = b"GET /env HTTP/1.1\r\nHost: internal\r\nX-Forwarded-For: 203.0.113.5\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n";
    // 127.0.0.1 is trusted by default.
    let server = Server::start(&[&app()]);
    let env = parse_one(&server.raw(req)).json();
    assert_eq!(env["REMOTE_ADDR"], "203.0.113.5");
    assert_eq!(env["wsgi.url_scheme"], "https");
    drop(server);
    let server = Server::start(&[&app(), "--forwarded-allow-ips", "10.0.0.0/8"]);
    let env = parse_one(&server.raw(req)).json();
    assert_eq!(env["REMOTE_ADDR"], "127.0.0.1");
    assert_eq!(env["wsgi.url_scheme"], "http");
    // Conflicting scheme headers from a trusted proxy are refused.
    let server = Server::start(&[&app()]);
    let raw = server.raw(
        b"GET /env HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n\r\n",
    );
    assert!(String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 400"));
}

#[test]
fn pid_file_access_log_file_and_log_level() {
    let dir = TempDir::new("ops");
    let pid = dir.path().join("rwsgi.pid");
    let access = dir.path().join("access.log");
    let mut server = Server::start(&[
        &app(),
        "--pid",
        &pid.to_string_lossy(),
        "--access-log",
        &access.to_string_lossy(),
    ]);
    let written: u32 = std::fs::read_to_string(&pid)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    assert_eq!(written, server.child.id());
    assert_eq!(server.get("/pid?from=test").status, 200);
    assert!(eventually(Duration::from_secs(5), || {
        std::fs::read_to_string(&access)
            .is_ok_and(|t| t.contains("\"GET /pid?from=test HTTP/1.1\" 200"))
    }));
    assert!(
        server.access.lock().expect("lock").is_empty(),
        "stdout got access lines"
    );
    assert!(server.stop().success());
    assert!(!pid.exists(), "the pid file is removed at exit");
}

#[test]
fn log_level_warning_hides_info() {
    // The harness finds the port in an INFO line, so pick one here and poll it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let bind = format!("127.0.0.1:{port}");
    let child = Command::new(bin())
        .args([
            "run",
            &app(),
            "--bind",
            &bind,
            "--workers",
            "1",
            "--log-level",
            "warning",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let up = eventually(Duration::from_secs(60), || {
        std::net::TcpStream::connect(&bind).is_ok()
    });
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().expect("wait");
    assert!(up, "the server never listened");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("[INFO]"),
        "info lines at --log-level warning:\n{stderr}"
    );
}

#[test]
fn environment_and_config_file_with_precedence() {
    let dir = TempDir::new("config");
    let file = dir.path().join("rwsgi.toml");
    std::fs::write(&file, "workers = 3\ntimeout = 12\nkeep-alive = 9\nbind = [\"127.0.0.1:9001\", \"unix:/tmp/x.sock\"]\n")
        .expect("write config");
    let out = Command::new(bin())
        .args([
            "run",
            &app(),
            "--config",
            &file.to_string_lossy(),
            "--workers",
            "2",
            "--print-config",
        ])
        .env("RWSGI_TIMEOUT", "7")
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("workers = 2\n"),
        "command line beats the file: {text}"
    );
    assert!(
        text.contains("timeout = 7\n"),
        "environment beats the file: {text}"
    );
    assert!(
        text.contains("keep-alive = 9\n"),
        "the file beats the default: {text}"
    );
    assert!(
        text.contains("bind = [\"127.0.0.1:9001\", \"unix:/tmp/x.sock\"]"),
        "{text}"
    );
    std::fs::write(&file, "no_such_setting = 1\n").expect("write config");
    let out = Command::new(bin())
        .args(["run", &app(), "--config", &file.to_string_lossy()])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown setting `no_such_setting`"));
}

#[test]
fn no_failed_requests_across_a_reload() {
    reload_under_load(&[]);
}

/// With --preload the master loads the new code before it forks the new workers: still no
/// request lost (issue #15).
#[test]
fn no_failed_requests_across_a_preload_reload() {
    reload_under_load(&["--preload"]);
}

/// HUP while three clients keep sending requests: every request is answered.
fn reload_under_load(extra: &[&str]) {
    let hello = repo().join("apps/hello.py").to_string_lossy().into_owned();
    let mut args = vec![hello.as_str(), "--workers", "2"];
    args.extend_from_slice(extra);
    let server = Server::start(&args);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Three clients at once, so connections are being accepted when the old workers stop.
    let runners: Vec<_> = (0..3)
        .map(|_| load(server.port, "/", std::sync::Arc::clone(&stop)))
        .collect();
    // Every client is getting answers before the reload begins.
    for runner in &runners {
        runner.wait_for(5);
    }
    server.signal("HUP");
    assert!(
        server.wait_log("Reload done", Duration::from_secs(60)),
        "{}",
        server.log_text()
    );
    // And keeps getting them from the new workers.
    for runner in &runners {
        runner.wait_for(11);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for runner in runners {
        let Outcome {
            ok,
            failed,
            dropped,
        } = runner.join().expect("load thread");
        assert!(ok > 10, "too few requests ran: {ok}");
        assert!(
            failed.is_empty(),
            "{} failed, e.g. {:?}",
            failed.len(),
            failed.first()
        );
        assert_eq!(
            dropped, 0,
            "connections closed without an answer during the reload"
        );
    }
}

#[test]
fn proxy_protocol_sets_the_client_address() {
    let server = Server::start(&[&app(), "--proxy-protocol"]);
    let v1 = parse_one(&server.raw(
        b"PROXY TCP4 198.51.100.22 10.0.0.1 40000 80\r\nGET /env HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ))
    .json();
    assert_eq!(v1["REMOTE_ADDR"], "198.51.100.22");
    assert_eq!(v1["REMOTE_PORT"], "40000");
    let mut v2 = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    v2.extend_from_slice(&[
        0x21, 0x11, 0, 12, 203, 0, 113, 9, 10, 0, 0, 1, 0x1f, 0x90, 0, 80,
    ]);
    v2.extend_from_slice(b"GET /env HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let env = parse_one(&server.raw(&v2)).json();
    assert_eq!(env["REMOTE_ADDR"], "203.0.113.9");
    assert_eq!(env["REMOTE_PORT"], "8080");
    // Without a header the connection is plain HTTP.
    assert_eq!(server.get("/env").json()["REMOTE_ADDR"], "127.0.0.1");
    // A header from a peer that is not trusted is refused.
    let untrusted = Server::start(&[
        &app(),
        "--proxy-protocol",
        "--forwarded-allow-ips",
        "10.9.9.9",
    ]);
    let raw = untrusted
        .raw(b"PROXY TCP4 198.51.100.22 10.0.0.1 40000 80\r\nGET /env HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 400"));
}

#[test]
fn systemd_socket_activation() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let fd = listener.as_raw_fd();
    let mut cmd = Command::new(bin());
    cmd.args(["run", &app(), "--workers", "1", "--bind", "127.0.0.1:1"])
        .env("LISTEN_FDS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    // SAFETY: only async-signal-safe calls between fork and exec: dup2 and setenv of our own
    // strings (setenv is not formally safe, but this child is single-threaded).
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself keeps close-on-exec, so clear it explicitly.
            if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0);
            } else if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let pid = format!("{}\0", libc::getpid());
            libc::setenv(c"LISTEN_PID".as_ptr(), pid.as_ptr().cast(), 1);
            Ok(())
        });
    }
    let child = cmd.spawn().expect("spawn");
    drop(listener);
    let addr = format!("127.0.0.1:{port}");
    let served = eventually(Duration::from_secs(60), || {
        let Ok(mut s) = std::net::TcpStream::connect(&addr) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = s.write_all(b"GET /pid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        raw.starts_with(b"HTTP/1.1 200")
    });
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().expect("wait");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(served, "no answer on the inherited socket:\n{log}");
    assert!(log.contains("passed by systemd"), "{log}");
}

#[test]
fn access_log_format_and_json_logs() {
    let server = Server::start(&[
        &app(),
        "--access-log-format",
        "%(m)s %(U)s %(q)s %(s)s %({x-trace}i)s %({content-type}o)s %(u)s",
    ]);
    server.raw(
        b"GET /pid?a=1 HTTP/1.1\r\nHost: x\r\nX-Trace: t-42\r\nAuthorization: Basic YWxpY2U6cHc=\r\nConnection: close\r\n\r\n",
    );
    assert!(
        eventually(Duration::from_secs(5), || server
            .access
            .lock()
            .expect("lock")
            .iter()
            .any(|l| l == "GET /pid a=1 200 t-42 application/json alice")),
        "{:?}",
        server.access.lock().expect("lock")
    );
    drop(server);
    let server = Server::start(&[&app(), "--log-format", "json"]);
    assert_eq!(server.get("/pid").status, 200);
    assert!(eventually(Duration::from_secs(5), || !server
        .access
        .lock()
        .expect("lock")
        .is_empty()));
    let access = server.access.lock().expect("lock")[0].clone();
    let access: serde_json::Value = serde_json::from_str(&access).expect("access line is JSON");
    assert_eq!(access["path"], "/pid");
    assert_eq!(access["status"], 200);
    for line in server.log.lock().expect("lock").iter() {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            parsed["level"].is_string() && parsed["message"].is_string(),
            "{line}"
        );
    }
}

#[test]
fn reload_on_file_change() {
    let dir = TempDir::new("reload");
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
    write_app("one");
    let server = Server::start(&[&app.to_string_lossy(), "--reload"]);
    assert_eq!(server.get("/").text(), "one");
    write_app("two!");
    assert!(
        server.wait_log("Reload done", Duration::from_secs(30)),
        "{}",
        server.log_text()
    );
    assert_eq!(server.get("/").text(), "two!");
    assert!(server.log_contains("app.py changed"));
}

#[test]
fn prometheus_metrics_over_all_workers() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let server = Server::start(&[
        &app(),
        "--workers",
        "2",
        "--metrics",
        &format!("127.0.0.1:{port}"),
    ]);
    for target in ["/pid", "/pid", "/raises", "/nope"] {
        server.get(target);
    }
    server.raw(b"GET /exit_worker HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(server.wait_log("starting a new one", Duration::from_secs(10)));
    let scrape = || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("metrics");
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("write");
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        parse_one(&raw).text()
    };
    let metric = |text: &str, name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().parse().unwrap_or(0)))
            .unwrap_or_else(|| panic!("{name} missing in:\n{text}"))
    };
    assert!(
        eventually(Duration::from_secs(10), || {
            let text = scrape();
            metric(&text, "rwsgi_requests_total{status=\"2xx\"}") >= 2
                && metric(&text, "rwsgi_requests_total{status=\"5xx\"}") >= 1
                && metric(&text, "rwsgi_requests_total{status=\"4xx\"}") >= 1
                && metric(&text, "rwsgi_worker_restarts_total") >= 1
        }),
        "{}",
        scrape()
    );
    let text = scrape();
    assert!(
        metric(&text, "rwsgi_request_duration_seconds_bucket{le=\"+Inf\"}") >= 4,
        "{text}"
    );
    assert!(text.contains("rwsgi_requests_in_flight"), "{text}");
}

/// What a load thread saw.
struct Outcome {
    ok: u32,
    /// Answers other than a whole 200.
    failed: Vec<String>,
    /// Connections that got no answer at all (closed or reset after connecting).
    dropped: u32,
}

/// A client thread of `load`, and its count of whole 200s so far.
struct Load {
    thread: std::thread::JoinHandle<Outcome>,
    ok: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

/// How long `Load::wait_for` waits (a reload boots new workers in between).
const LOAD_WAIT: Duration = Duration::from_secs(60);

impl Load {
    /// Wait until `more` requests beyond those answered so far have had a whole 200: the
    /// server is serving this client (the state a test waits for before a signal or a stop).
    fn wait_for(&self, more: u32) {
        use std::sync::atomic::Ordering::Relaxed;
        let target = self.ok.load(Relaxed) + more;
        assert!(
            eventually(LOAD_WAIT, || self.ok.load(Relaxed) >= target
                || self.thread.is_finished()),
            "{} of {target} requests answered",
            self.ok.load(Relaxed)
        );
    }

    fn join(self) -> std::thread::Result<Outcome> {
        self.thread.join()
    }
}

/// Sequential requests from a thread until `stop`, bounded to 5000. A refused connection counts
/// as nothing (the server no longer listens).
fn load(
    port: u16,
    path: &'static str,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Load {
    let ok = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = std::sync::Arc::clone(&ok);
    let thread = std::thread::spawn(move || {
        let mut out = Outcome {
            ok: 0,
            failed: Vec::new(),
            dropped: 0,
        };
        for _ in 0..5000 {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                // Nothing listens (between stop and exit): a pause before the next try.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            s.set_read_timeout(Some(Duration::from_secs(20)))
                .expect("timeout");
            let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut raw = Vec::new();
            if s.write_all(req.as_bytes()).is_ok() {
                let _ = s.read_to_end(&mut raw);
            }
            if raw.starts_with(b"HTTP/1.1 200") {
                out.ok += 1;
                counted.store(out.ok, std::sync::atomic::Ordering::Relaxed);
            } else if raw.is_empty() {
                out.dropped += 1;
            } else {
                out.failed.push(String::from_utf8_lossy(&raw).into_owned());
            }
        }
        out
    });
    Load { thread, ok }
}

#[test]
fn a_wedged_request_does_not_stop_other_requests() {
    let server = Server::start(&[&app(), "--workers", "2", "--timeout", "2"]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let runner = load(server.port, "/pid", std::sync::Arc::clone(&stop));
    let wedged = server.get("/sleep?seconds=60");
    assert_eq!(wedged.status, 504);
    assert!(server.wait_log("stopped after a request timed out", Duration::from_secs(15)));
    // Requests go on flowing after the wedged worker is gone.
    runner.wait_for(11);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let Outcome {
        ok,
        failed,
        dropped,
    } = runner.join().expect("load");
    assert!(ok > 10, "other requests did not flow: {ok}");
    assert_eq!(dropped, 0, "connections closed without an answer");
    // A request that reached the wedged worker just before it stopped accepting waits behind
    // the wedged one and times out with it (as on gunicorn's sync workers): a clean 504, never
    // a cut or malformed response.
    assert!(failed.len() <= 2, "{failed:?}");
    assert!(
        failed.iter().all(|f| f.starts_with("HTTP/1.1 504 ")),
        "{failed:?}"
    );
}

#[test]
fn sigterm_drains_under_load_without_failed_requests() {
    let mut server = Server::start(&[&app(), "--workers", "2"]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let runner = load(
        server.port,
        "/sleep?seconds=0.05",
        std::sync::Arc::clone(&stop),
    );
    // Under load when TERM arrives.
    runner.wait_for(4);
    let status = server.stop();
    assert!(status.success(), "{status}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let Outcome {
        ok,
        failed,
        dropped,
    } = runner.join().expect("load");
    assert!(ok > 3, "too few requests ran: {ok}");
    assert!(
        failed.is_empty(),
        "{} cut short, e.g. {:?}",
        failed.len(),
        failed.first()
    );
    // Every request the server took was answered. At most the one connection that reached the
    // kernel's backlog after the workers stopped accepting is reset at exit: no server can
    // answer that one, and the client sees it as a refused connection to retry.
    assert!(
        dropped <= 1,
        "{dropped} connections closed without an answer"
    );
}

#[test]
fn a_worker_killed_mid_load_is_replaced() {
    let server = Server::start(&[&app(), "--workers", "2"]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let runner = load(server.port, "/pid", std::sync::Arc::clone(&stop));
    // Under load when the worker is killed.
    runner.wait_for(3);
    let victim = server
        .log_text()
        .lines()
        .find_map(|l| {
            l.split("Booting worker 0 with pid ")
                .nth(1)
                .map(str::to_owned)
        })
        .expect("worker 0's pid in the log");
    let killed = Command::new("kill")
        .args(["-KILL", victim.trim()])
        .status()
        .expect("kill");
    assert!(killed.success());
    assert!(
        server.wait_log(
            "died (signal 9); starting a new one",
            Duration::from_secs(5)
        ),
        "{}",
        server.log_text()
    );
    // Requests go on flowing after the kill.
    runner.wait_for(11);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let out = runner.join().expect("load");
    assert!(out.ok > 10, "{}", out.ok);
    assert_eq!(server.get("/pid").status, 200);
}

#[test]
fn a_body_trickling_below_the_min_rate_gets_408() {
    let server = Server::start(&[&app(), "--body-timeout", "1", "--body-min-rate", "1000"]);
    let mut s = server.connect();
    s.write_all(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        .expect("head");
    // 10 bytes every 300 ms: each gap is well inside --body-timeout, the rate far below 1000/s.
    // Bounded: at most 20 pieces.
    for _ in 0..20 {
        if s.write_all(&[b'x'; 10]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
        s.set_nonblocking(true).expect("nonblocking");
        let mut peek = [0u8; 1];
        let answered = matches!(s.peek(&mut peek), Ok(n) if n > 0);
        s.set_nonblocking(false).expect("blocking");
        if answered {
            break;
        }
    }
    let raw = read_to_close(&mut s);
    assert!(
        String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
}

#[test]
fn a_small_body_that_stalls_gets_408_without_the_app() {
    // A body of known, small length is read whole before the app runs (service.rs,
    // PREFETCH_LIMIT): a client that stops half-way is answered 408 once --body-timeout has
    // passed, and no Python thread waits for it meanwhile.
    let server = Server::start(&[&app(), "--body-timeout", "3"]);
    let mut s = server.connect();
    s.write_all(b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf.")
        .expect("head");
    // While that one waits, the only Python thread still serves others at once.
    let began = std::time::Instant::now();
    assert_eq!(server.get("/").status, 200);
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
    let raw = read_to_close(&mut s);
    assert!(
        String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    assert!(
        !server.log_text().contains("error in the app"),
        "{}",
        server.log_text()
    );
}
