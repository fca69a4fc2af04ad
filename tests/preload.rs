//! `--preload`: the app is loaded once in the master and the workers fork from it; they run
//! the interpreter's at-fork hooks (`random` reseeds), reload loads the new code in the master
//! first, and a request stuck on the inherited (main) thread still retires its worker.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use crate::common::{Server, TempDir, app_file, fixture, parse_one, read_to_close};

/// The app: where it was imported, where it serves, and the first random number drawn after
/// the fork (an at-fork hook registered after `random`'s own, which reseeds first).
const APP: &str = r#"
import os, random, time
LOADED_IN = os.getpid()
with open(os.path.join(os.path.dirname(__file__), "loads.txt"), "a") as f:
    f.write("%d\n" % LOADED_IN)
AFTER_FORK = []
os.register_at_fork(after_in_child=lambda: AFTER_FORK.append(random.random()))
VERSION = "one"

def application(environ, start_response):
    time.sleep(float(environ.get("QUERY_STRING") or 0))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%d %d %r %s" % (LOADED_IN, os.getpid(), AFTER_FORK, VERSION)).encode()]
"#;

fn write_app(dir: &TempDir, version: &str) -> String {
    let app = dir.path().join("app.py");
    std::fs::write(&app, APP.replace("\"one\"", &format!("{version:?}"))).expect("write app");
    app.to_string_lossy().into_owned()
}

/// One answer from each of `workers` workers (concurrent slow requests: a busy worker leaves
/// the next connection to a free one), as (loaded in, served by, after-fork draws, version).
fn one_from_each(server: &Server, workers: usize) -> Vec<(u64, u64, String, String)> {
    let mut seen = Vec::new();
    let mut pids = HashSet::new();
    for _ in 0..10 {
        let handles: Vec<_> = (0..workers * 2)
            .map(|_| {
                let port = server.port;
                std::thread::spawn(move || {
                    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
                    s.write_all(b"GET /?0.3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        .expect("write");
                    parse_one(&read_to_close(&mut s)).text()
                })
            })
            .collect();
        for handle in handles {
            let text = handle.join().expect("client thread");
            let mut parts = text.splitn(4, ' ');
            let mut next = || parts.next().unwrap_or_default().to_owned();
            let (loaded, pid, draws, version) = (next(), next(), next(), next());
            let pid: u64 = pid.parse().unwrap_or_else(|_| panic!("answer: {text}"));
            if pids.insert(pid) {
                seen.push((loaded.parse().expect("loaded in"), pid, draws, version));
            }
        }
        if pids.len() == workers {
            return seen;
        }
    }
    panic!("not every worker answered: {seen:?}\n{}", server.log_text());
}

#[test]
fn the_app_loads_once_in_the_master_and_workers_fork_from_it() {
    let dir = TempDir::new("preload");
    let app = write_app(&dir, "one");
    let server = Server::start(&[&app, "--preload", "--workers", "2"]);
    let master = u64::from(server.child.id());
    let answers = one_from_each(&server, 2);
    let loads = std::fs::read_to_string(dir.path().join("loads.txt")).expect("loads.txt");
    assert_eq!(loads, format!("{master}\n"), "imported once, in the master");
    for (loaded, pid, draws, _) in &answers {
        assert_eq!(*loaded, master);
        assert_ne!(*pid, master);
        assert!(
            draws.starts_with('[') && draws.len() > 2,
            "no at-fork draw: {draws}"
        );
    }
    assert_ne!(
        answers[0].2, answers[1].2,
        "both workers drew the same random numbers after the fork"
    );
    assert!(server.log_contains("Loading the app in the master (--preload)"));
}

#[test]
fn reload_with_preload_loads_the_new_code_in_the_master_first() {
    let dir = TempDir::new("preload-hup");
    let app = write_app(&dir, "one");
    let server = Server::start(&[&app, "--preload", "--workers", "2", "--threads", "2"]);
    assert!(one_from_each(&server, 2).iter().all(|a| a.3 == "one"));
    // A different length: the bytecode cache checks the source's size and mtime (seconds),
    // and a rewrite within the same second with the same size would reuse the old .pyc.
    write_app(&dir, "second");
    server.signal("HUP");
    assert!(
        server.wait_log("Reload done", Duration::from_secs(60)),
        "{}",
        server.log_text()
    );
    assert!(one_from_each(&server, 2).iter().all(|a| a.3 == "second"));
    // Broken new code: the master's load fails and the running workers stay.
    std::fs::write(dir.path().join("app.py"), "def application(:\n").expect("break app");
    server.signal("HUP");
    assert!(
        server.wait_log("keeping the running workers", Duration::from_secs(60)),
        "{}",
        server.log_text()
    );
    assert!(one_from_each(&server, 2).iter().all(|a| a.3 == "second"));
}

/// The stuck request runs on the worker's main thread (the inherited interpreter), which the
/// HTTP thread cannot join: the worker must still go, with the stack logged, and be replaced.
#[test]
fn a_stuck_request_on_the_inherited_thread_retires_its_worker() {
    let server = Server::start(&[
        &fixture("behaviour.py"),
        "--preload",
        "--timeout",
        "2",
        "--graceful-timeout",
        "1",
    ]);
    let resp = parse_one(
        &server.raw(b"GET /sleep?seconds=60 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(resp.status, 504, "{}", server.log_text());
    assert!(
        server.wait_log("stopped after a request timed out", Duration::from_secs(30)),
        "{}",
        server.log_text()
    );
    assert!(server.log_contains("in sleep"), "{}", server.log_text());
    assert_eq!(server.get("/pid").status, 200, "{}", server.log_text());
}

/// The objects the master's import built are frozen before the fork (gc.freeze()), so the
/// workers' collections leave the inherited pages alone; without --preload nothing is.
#[test]
fn the_preloaded_objects_are_frozen_before_the_fork() {
    let dir = TempDir::new("preload-freeze");
    let app = app_file(
        &dir,
        "import gc\n\
         def application(environ, start_response):\n    \
             start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
             return [str(gc.get_freeze_count()).encode()]\n",
    );
    let frozen = |extra: &[&str]| -> usize {
        let mut args = vec![app.as_str()];
        args.extend_from_slice(extra);
        let server = Server::start(&args);
        let text = server.get("/").text();
        text.parse()
            .unwrap_or_else(|_| panic!("{text}\n{}", server.log_text()))
    };
    assert!(
        frozen(&["--preload"]) > 1000,
        "the preloaded heap is not frozen"
    );
    assert_eq!(frozen(&[]), 0);
}
