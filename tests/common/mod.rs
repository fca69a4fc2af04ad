//! Test support: start the real `rwsgi` binary on 127.0.0.1 port 0, talk raw HTTP to it, and
//! parse what comes back. No mocks: every test goes through a real socket.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Generous: the first request of a debug build imports the app in a fresh interpreter.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rwsgi")
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> String {
    repo()
        .join("tests/apps")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A running server; stopped (TERM, then KILL) when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
    /// Everything the server wrote to stderr, then stdout, line by line.
    pub log: Arc<Mutex<Vec<String>>>,
    pub access: Arc<Mutex<Vec<String>>>,
    /// Set when stderr and stdout have ended.
    ended: [Arc<AtomicBool>; 2],
}

/// Read `stream` line by line into `into` on a thread; the returned flag is set once the
/// stream has ended (every process holding it has exited) and every line is in.
fn collect(stream: impl Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) -> Arc<AtomicBool> {
    let ended = Arc::new(AtomicBool::new(false));
    let done = Arc::clone(&ended);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            into.lock().expect("log lock").push(line);
        }
        done.store(true, Ordering::Release);
    });
    ended
}

impl Server {
    /// `rwsgi run <args> --bind 127.0.0.1:0`, waiting until it is ready.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with(Command::new(bin()), args)
    }

    pub fn start_with(cmd: Command, args: &[&str]) -> Self {
        let mut server = Self::launch_with(cmd, args);
        server.wait_ready();
        server
    }

    /// `rwsgi run <args> --bind 127.0.0.1:0`, without waiting for it to be ready.
    pub fn launch(args: &[&str]) -> Self {
        Self::launch_with(Command::new(bin()), args)
    }

    fn launch_with(mut cmd: Command, args: &[&str]) -> Self {
        cmd.arg("run").args(args);
        if !args.contains(&"--bind") {
            cmd.args(["--bind", "127.0.0.1:0"]);
        }
        if !args.contains(&"--workers") {
            cmd.args(["--workers", "1"]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rwsgi");
        let log = Arc::new(Mutex::new(Vec::new()));
        let access = Arc::new(Mutex::new(Vec::new()));
        let ended = [
            collect(child.stderr.take().expect("stderr"), Arc::clone(&log)),
            collect(child.stdout.take().expect("stdout"), Arc::clone(&access)),
        ];
        Self {
            child,
            port: 0,
            log,
            access,
            ended,
        }
    }

    /// Wait until the server has logged its port and "Ready".
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(port) = self.find_port() {
                self.port = port;
            }
            if self.port != 0 && self.log_contains("Ready") {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("rwsgi exited early ({status}):\n{}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "rwsgi did not start:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn find_port(&self) -> Option<u16> {
        self.log.lock().expect("log lock").iter().find_map(|line| {
            let rest = line
                .split("Listening at: http://127.0.0.1:")
                .nth(1)
                .or_else(|| line.split("Listening at: https://127.0.0.1:").nth(1))?;
            rest.split(' ').next()?.parse().ok()
        })
    }

    pub fn log_text(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    pub fn log_contains(&self, needle: &str) -> bool {
        self.log
            .lock()
            .expect("log lock")
            .iter()
            .any(|l| l.contains(needle))
    }

    /// Wait until the log holds `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log_contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        s
    }

    /// Send `raw` on a new connection and read until the server closes it.
    pub fn raw(&self, raw: &[u8]) -> Vec<u8> {
        let mut s = self.connect();
        s.write_all(raw).expect("write");
        read_to_close(&mut s)
    }

    /// One `Connection: close` request, parsed.
    pub fn get(&self, target: &str) -> Response {
        let req = format!("GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        parse_one(&self.raw(req.as_bytes()))
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// TERM the master and wait for it to exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(40))
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // The log is complete once both pipes have ended (the workers hold them too).
                let ended = || self.ended.iter().all(|e| e.load(Ordering::Acquire));
                while !ended() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "rwsgi did not exit:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Read until EOF (or the read timeout, which fails the test).
pub fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!(
                "read failed ({e}) after {:?}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
}

/// Read until what came holds `needle` (each read waits at most the socket's read timeout);
/// fails the test if the connection closes first.
pub fn read_until(s: &mut TcpStream, needle: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !out.windows(needle.len()).any(|w| w == needle) {
        let n = s.read(&mut buf).expect("read");
        assert!(
            n > 0,
            "closed before {:?}: {:?}",
            String::from_utf8_lossy(needle),
            String::from_utf8_lossy(&out)
        );
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// A parsed HTTP/1.x response.
#[derive(Debug, Clone)]
pub struct Response {
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body was chunked.
    pub chunked: bool,
    /// The chunked body or Content-Length body was cut short.
    pub truncated: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Parse every response in `raw` (pipelined responses come back to back). HEAD responses must
/// be parsed with `parse_head_only`.
pub fn parse_all(raw: &[u8]) -> Vec<Response> {
    let mut out = Vec::new();
    let mut rest = raw;
    while !rest.is_empty() {
        let (resp, used) = parse_at(rest, false);
        out.push(resp);
        rest = &rest[used..];
    }
    out
}

pub fn parse_one(raw: &[u8]) -> Response {
    let all = parse_all(raw);
    assert_eq!(
        all.len(),
        1,
        "expected one response in {:?}",
        String::from_utf8_lossy(raw)
    );
    all.into_iter().next().expect("one response")
}

/// Parse a response to HEAD: headers only.
pub fn parse_head_only(raw: &[u8]) -> (Response, usize) {
    parse_at(raw, true)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_at(raw: &[u8], head_only: bool) -> (Response, usize) {
    let end = find(raw, b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head: String = raw[..end].iter().map(|&b| char::from(b)).collect();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_owned();
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let reason = parts.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l
                .split_once(':')
                .unwrap_or_else(|| panic!("bad header {l:?}"));
            (n.to_owned(), v.trim().to_owned())
        })
        .collect();
    let mut resp = Response {
        version,
        status,
        reason,
        headers,
        body: Vec::new(),
        chunked: false,
        truncated: false,
    };
    let mut pos = end + 4;
    if head_only || status == 100 || status == 204 || status == 304 {
        return (resp, pos);
    }
    if resp
        .header("transfer-encoding")
        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
    {
        resp.chunked = true;
        loop {
            let Some(line_end) = find(&raw[pos..], b"\r\n") else {
                resp.truncated = true;
                return (resp, raw.len());
            };
            let size_line = String::from_utf8_lossy(&raw[pos..pos + line_end]).into_owned();
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                .unwrap_or_else(|_| panic!("bad chunk size {size_line:?}"));
            pos += line_end + 2;
            if size == 0 {
                // No trailers expected: the final CRLF.
                pos += 2;
                return (resp, pos.min(raw.len()));
            }
            if raw.len() < pos + size + 2 {
                resp.body.extend_from_slice(&raw[pos.min(raw.len())..]);
                resp.truncated = true;
                return (resp, raw.len());
            }
            resp.body.extend_from_slice(&raw[pos..pos + size]);
            pos += size + 2;
        }
    }
    if let Some(len) = resp.header("content-length") {
        let len: usize = len.parse().expect("content-length");
        let available = raw.len() - pos;
        let take = len.min(available);
        resp.body = raw[pos..pos + take].to_vec();
        resp.truncated = take < len;
        return (resp, pos + take);
    }
    resp.body = raw[pos..].to_vec();
    (resp, raw.len())
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rwsgi-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The first of `candidates` that exists, or `name` found on PATH (or in /usr/sbin, /usr/bin);
/// a test that needs a missing one says which Debian package tests/run installs.
pub fn program(name: &str, package: &str, candidates: &[PathBuf]) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|dir| dir.join(name));
    candidates
        .iter()
        .cloned()
        .chain(on_path)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("this test needs {name} (Debian package `{package}`; tests/run installs it)")
        })
}

/// `source` written as `app.py` in `dir`; its path, for `Server::start`.
pub fn app_file(dir: &TempDir, source: &str) -> String {
    let app = dir.path().join("app.py");
    std::fs::write(&app, source).expect("write app.py");
    app.to_string_lossy().into_owned()
}

/// A loopback port that was free a moment ago, for servers that cannot report the port they
/// bound (nginx, the database servers).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Poll `cond` until it holds or `timeout` passes.
pub fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// `rwsgi python ARGS` with `env` added to this process's environment.
pub fn python(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    python_in(None, args, env)
}

/// `rwsgi python ARGS` in `dir` (or here).
pub fn python_in(dir: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(bin());
    cmd.arg("python").args(args);
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run rwsgi python")
}

pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
