//! The command line: --version, --help, app forms (file, file:callable, --callable,
//! module:callable, --pythonpath), --mount, and load errors as one clear line.

use std::process::Command;

use crate::common::{Server, bin, fixture, repo};

#[test]
fn version_and_help() {
    let out = Command::new(bin()).arg("--version").output().expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("rwsgi "));
    let out = Command::new(bin())
        .args(["run", "--help"])
        .output()
        .expect("run");
    let help = String::from_utf8_lossy(&out.stdout);
    for option in [
        "--bind",
        "--callable",
        "--mount",
        "--pythonpath",
        "--workers",
        "--threads",
    ] {
        assert!(
            help.contains(option),
            "{option} missing from --help:\n{help}"
        );
    }
}

#[test]
fn hello_world() {
    let server = Server::start(&[&repo().join("apps/hello.py").to_string_lossy()]);
    let resp = server.get("/");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), "Hello World!");
    assert_eq!(resp.header("content-type"), Some("text/plain"));
    assert_eq!(resp.header("content-length"), Some("12"));
}

#[test]
fn callable_flag_and_suffix() {
    let app = fixture("behaviour.py");
    let server = Server::start(&[&app, "--callable", "other"]);
    assert_eq!(server.get("/").text(), "the other callable");
    drop(server);
    let server = Server::start(&[&format!("{app}:other")]);
    assert_eq!(server.get("/").text(), "the other callable");
}

#[test]
fn module_form_with_pythonpath() {
    let server = Server::start(&[
        "mypkg.wsgi:app",
        "--pythonpath",
        &fixture("pkg"),
        "--pythonpath",
        &fixture("libdir"),
    ]);
    assert_eq!(server.get("/x").text(), "module app; helper says hi");
}

#[test]
fn mount_prefix() {
    let server = Server::start(&[&fixture("behaviour.py"), "--mount", "/app/"]);
    let env = server.get("/app/env").json();
    assert_eq!(env["SCRIPT_NAME"], "/app");
    assert_eq!(env["PATH_INFO"], "/env");
    let env = server.get("/app").json();
    assert_eq!(env["SCRIPT_NAME"], "/app");
    assert_eq!(env["PATH_INFO"], "");
    assert_eq!(server.get("/apple").status, 404);
    assert_eq!(server.get("/").status, 404);
}

fn load_error(args: &[&str]) -> String {
    let out = Command::new(bin())
        .arg("run")
        .args(args)
        .args(["--bind", "127.0.0.1:0", "--workers", "2"])
        .output()
        .expect("run");
    assert!(
        !out.status.success(),
        "a broken app must make rwsgi exit non-zero"
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let last = stderr.lines().last().unwrap_or_default().to_owned();
    assert!(
        last.starts_with("rwsgi: error: "),
        "last line: {last}\n{stderr}"
    );
    // Said once, not once per worker.
    assert_eq!(stderr.matches("rwsgi: error:").count(), 1, "{stderr}");
    format!("{last}\n---\n{stderr}")
}

#[test]
fn syntax_error_names_file_and_line() {
    let text = load_error(&[&fixture("broken_syntax.py")]);
    let first = text.lines().next().unwrap_or_default();
    assert!(first.contains("broken_syntax.py, line 4"), "{text}");
    assert!(first.contains("SyntaxError"), "{text}");
}

#[test]
fn import_error_names_file_and_line() {
    let text = load_error(&[&fixture("broken_import.py")]);
    let first = text.lines().next().unwrap_or_default();
    assert!(first.contains("broken_import.py, line 3"), "{text}");
    assert!(first.contains("no_such_package_for_rwsgi"), "{text}");
    // The traceback is in the log, above the one line.
    assert!(text.contains("Traceback"), "{text}");
}

#[test]
fn missing_callable_is_named() {
    let text = load_error(&[&fixture("behaviour.py"), "--callable", "nope"]);
    assert!(
        text.lines()
            .next()
            .unwrap_or_default()
            .contains("no callable named 'nope'"),
        "{text}"
    );
}

#[test]
fn bad_arguments_are_one_line() {
    let out = Command::new(bin())
        .args(["run", "missing_file.py"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("missing_file.py does not exist"),
        "{stderr}"
    );
}

#[test]
fn startup_log_says_what_listens_where() {
    let server = Server::start(&[&fixture("behaviour.py"), "--workers", "2", "--threads", "3"]);
    assert!(server.log_contains("serving "), "{}", server.log_text());
    assert!(server.log_contains("behaviour.py:application"));
    assert!(server.log_contains(&format!("Listening at: http://127.0.0.1:{}", server.port)));
    assert!(server.log_contains("Using 2 worker processes with 3 Python threads each"));
}

#[test]
fn unix_socket_bind() {
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    let dir = crate::common::TempDir::new("unix");
    let path = dir.path().join("app.sock");
    let bind = format!("unix:{}", path.display());
    // A TCP bind too, so the harness can tell when the server is ready.
    let server = Server::start(&[
        &fixture("behaviour.py"),
        "--bind",
        &bind,
        "--bind",
        "127.0.0.1:0",
        "--workers",
        "1",
    ]);
    assert!(server.log_contains(&format!("Listening at: {bind}")));
    let mut s = UnixStream::connect(&path).expect("connect to the unix socket");
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(b"GET /env HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut s, &mut raw).expect("read");
    let env = crate::common::parse_one(&raw).json();
    assert_eq!(env["PATH_INFO"], "/env");
    assert_eq!(env["REMOTE_ADDR"], "");
    drop(server);
    assert!(!path.exists(), "the socket file is removed at exit");
}

/// `--preload` loads the app in the master: a failure there reads the same, once.
#[test]
fn a_load_error_with_preload_is_the_same_one_line() {
    let plain = load_error(&[&fixture("broken_import.py")]);
    let preloaded = load_error(&[&fixture("broken_import.py"), "--preload"]);
    assert_eq!(
        plain.lines().next(),
        preloaded.lines().next(),
        "{preloaded}"
    );
    assert!(preloaded.contains("Traceback"), "{preloaded}");
}
