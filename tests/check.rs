//! `rwsgi check APP` and `rwsgi run --check`: the example apps pass; the Python 2 hello world
//! and each deliberately broken app of tests/apps/check_broken.py get their one finding line,
//! exactly; a load failure exits 2; `run --check` refuses a broken app before binding and
//! serves a clean one.

use std::process::{Command, Output};
use std::time::Duration;

use crate::common::{Server, TempDir, bin, fixture, repo, stderr, stdout};

fn check(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("check")
        .args(args)
        .output()
        .expect("run rwsgi check")
}

fn lines(out: &Output) -> Vec<String> {
    stdout(out).lines().map(str::to_owned).collect()
}

/// The app passed: status 0, and stdout is the one summary line.
fn assert_passes(args: &[&str]) {
    let out = check(args);
    let lines = lines(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {lines:?}\n{}",
        stderr(&out)
    );
    assert_eq!(lines.len(), 1, "{args:?}: {lines:?}");
    assert!(
        lines[0].starts_with("rwsgi check: ") && lines[0].ends_with(" passed 6 requests"),
        "{args:?}: {lines:?}"
    );
}

/// Status 1, and stdout is exactly `findings` then the summary that counts them.
fn assert_findings(args: &[&str], findings: &[&str]) {
    let out = check(args);
    let mut expected: Vec<String> = findings.iter().map(|f| (*f).to_owned()).collect();
    let n = findings.len();
    expected.push(format!(
        "rwsgi check: {n} finding{} over 6 requests",
        if n == 1 { "" } else { "s" }
    ));
    assert_eq!(lines(&out), expected, "{args:?}\n{}", stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{args:?}");
}

/// The line number of the first line of the broken apps holding `needle`.
fn line_of(needle: &str) -> usize {
    let text = std::fs::read_to_string(fixture("check_broken.py")).expect("read the fixture");
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in check_broken.py"))
}

#[test]
fn hello_world_passes() {
    let hello = repo().join("apps/hello.py");
    let out = check(&[&hello.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        lines(&out),
        [format!(
            "rwsgi check: {}:application passed 6 requests",
            hello.display()
        )]
    );
}

#[test]
fn the_python_2_hello_world_is_told_to_return_bytes() {
    assert_findings(
        &[&fixture("python2_hello.py")],
        &["GET /: the body item is str: return [b'...'] or encode it"],
    );
}

#[test]
fn each_broken_app_gets_its_finding() {
    let app = fixture("check_broken.py");
    let cases: &[(&str, &[&str])] = &[
        (
            "bad_status",
            &[
                "GET /: the status '200' is not a 3-digit code, a space and a reason: write it as '200 OK'",
            ],
        ),
        (
            "interim_status",
            &[
                "GET /: the status '103 Early Hints' is an interim (1xx) response, which only the server sends: use a final status, 200 or above",
            ],
        ),
        (
            "newline_header",
            &[
                "GET /: the header X-Note holds a line break (CR or LF): remove it; each header is a (name, value) tuple of its own",
            ],
        ),
        (
            "snowman_header",
            &[
                "GET /: the header X-Weather holds '\\u2603', outside latin-1: a response head is latin-1: use ASCII (percent-encode the rest, or RFC 8187's filename*=UTF-8''...)",
            ],
        ),
        (
            "bad_header_name",
            &[
                "GET /: the header name 'X Note' is not an HTTP token (letters, digits and !#$%&'*+-.^_`|~): rename it",
            ],
        ),
        (
            "bytes_header",
            &["GET /: the header X-Count's value is int: pass str, e.g. str(value)"],
        ),
        (
            "tuple_headers",
            &["GET /: response_headers is a tuple: pass a list of (name, value) tuples"],
        ),
        (
            "hop_by_hop",
            &[
                "GET /: Connection is a hop-by-hop header, which only the server sets (PEP 3333): remove it",
            ],
        ),
        (
            "length_mismatch",
            &[
                "GET /: Content-Length says 10 but the body has 5 bytes: send exactly that many, or leave the header out",
            ],
        ),
        (
            "no_content_type",
            &[
                "GET /: the response has a body but no Content-Type: add one, e.g. ('Content-Type', 'text/html; charset=utf-8')",
            ],
        ),
        (
            "no_content_with_body",
            &["GET /: a 204 response has no body, but the app sent 1 byte: send none"],
        ),
        (
            "write_while_iterating",
            &[
                "GET /: write() was called after the body iterable started: yield the bytes from the iterable instead",
            ],
        ),
        (
            "write_str",
            &["GET /: write() was given str: pass b'...' or encode it"],
        ),
        (
            "bare_bytes",
            &[
                "GET /: the app returned bytes itself, which iterates as ints: wrap it in a list, [body]",
            ],
        ),
        (
            "bare_str",
            &["GET /: the app returned a str itself: return a list of bytes, [body.encode()]"],
        ),
        (
            "returns_none",
            &["GET /: the app returned None: return an iterable of bytes, e.g. [body]"],
        ),
        (
            "twice",
            &[
                "GET /: start_response() was called twice without exc_info: call it once, or pass exc_info=sys.exc_info() to replace the head after an error (PEP 3333)",
            ],
        ),
        (
            "never_starts",
            &[
                "GET /: start_response() was never called: call start_response(status, headers) before returning the body",
            ],
        ),
        (
            "body_first",
            &[
                "GET /: the body began before start_response() was called: call start_response() first (in a generator, before its first yield)",
            ],
        ),
        (
            "bytes_errors",
            &["GET /: wsgi.errors.write() was given bytes: pass str"],
        ),
    ];
    for (callable, findings) in cases {
        assert_findings(&[&app, "--callable", callable], findings);
    }
    // Exceptions name the request, the app's file and line, and the message; the request is
    // the first that raised (here the POST).
    assert_findings(
        &[&format!("{app}:raises_on_post")],
        &[&format!(
            "POST /: the app raised ValueError at {app}:{}: no posts here",
            line_of("raise ValueError(\"no posts here\")")
        )],
    );
    assert_findings(
        &[&app, "--callable", "close_raises"],
        &[&format!(
            "GET /: close() of the app's iterable raised RuntimeError at {app}:{}: cannot close",
            line_of("raise RuntimeError(\"cannot close\")")
        )],
    );
}

#[test]
fn correct_use_of_the_awkward_corners_passes() {
    let app = fixture("check_broken.py");
    // environ_probe raises unless the environ is as rwsgi builds it (the raw path's UTF-8 as
    // latin-1, the query raw, the POST's form behind CONTENT_LENGTH). An app may refuse HEAD
    // with 405 (falcon's and webapp2's examples do): HTTP allows it and PEP 3333 is silent.
    for callable in [
        "good",
        "lazy",
        "replaced_after_error",
        "environ_probe",
        "no_head",
    ] {
        assert_passes(&[&app, "--callable", callable]);
    }
}

#[test]
fn tracebacks_and_wsgi_errors_only_with_verbose() {
    let app = format!("{}:raises_on_post", fixture("check_broken.py"));
    let out = check(&[&app]);
    assert!(!stderr(&out).contains("Traceback"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--verbose shows the tracebacks"));
    let out = check(&[&app, "--verbose"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("POST /: Traceback (most recent call last):")
            && err.contains("raise ValueError(\"no posts here\")"),
        "{err}"
    );
    // The traceback starts at the app: the checker's own frames are left out.
    assert!(!err.contains("rwsgi._check"), "{err}");
    let out = check(&[&fixture("check_broken.py"), "--callable", "good", "-v"]);
    assert!(
        stderr(&out).contains("GET /caf%C3%A9: wsgi.errors:\ngood: /caf\u{c3}\u{a9}"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_app_that_cannot_load_exits_2_with_one_line() {
    let out = check(&[&fixture("broken_import.py")]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("rwsgi: error: cannot load the app: ")
            && last.contains("broken_import.py, line 3: ModuleNotFoundError"),
        "{err}"
    );
}

/// Every example app in apps/ passes, framework apps included (their databases in a temp dir).
#[test]
fn every_example_app_passes() {
    let tmp = TempDir::new("check-examples");
    let db = |name: &str| tmp.path().join(name).to_string_lossy().into_owned();
    type Example<'a> = (&'a str, &'a str, &'a [(&'a str, String)]);
    let apps: [Example; 9] = [
        ("", "hello.py", &[]),
        ("", "echo.py", &[]),
        ("flask", "app.py:app", &[]),
        ("bottle", "app.py", &[]),
        ("falcon", "app.py", &[]),
        ("pyramid", "app.py", &[]),
        ("webapp2", "main.py:app", &[]),
        ("sqlalchemy", "app.py", &[("SQLA_DB", db("books.sqlite3"))]),
        (
            "django",
            "mysite/wsgi.py",
            &[("GUESTBOOK_DB", db("guestbook.sqlite3"))],
        ),
    ];
    for (framework, app, env) in apps {
        let dir = repo().join("apps").join(framework);
        let mut cmd = Command::new(bin());
        cmd.arg("check").arg(format!("{}/{app}", dir.display()));
        if !framework.is_empty() {
            cmd.arg("--pythonpath")
                .arg(crate::frameworks::vendor(framework))
                .arg("--pythonpath")
                .arg(&dir);
        }
        cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        let out = cmd.output().expect("run rwsgi check");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{framework}/{app}: {}\n{}",
            stdout(&out),
            stderr(&out)
        );
        assert!(
            stdout(&out).ends_with(" passed 6 requests\n"),
            "{framework}/{app}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn run_check_refuses_a_broken_app_before_binding() {
    let mut server = Server::launch(&[&fixture("python2_hello.py"), "--check"]);
    let status = server.wait_exit(Duration::from_secs(60));
    let log = server.log_text();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("[WARNING] GET /: the body item is str: return [b'...'] or encode it"),
        "{log}"
    );
    assert!(
        log.contains("rwsgi run --check: 1 finding; fix it or run without --check"),
        "{log}"
    );
    assert!(!log.contains("Listening at"), "{log}");
}

#[test]
fn run_check_serves_a_clean_app() {
    let hello = repo().join("apps/hello.py");
    let server = Server::start(&[&hello.to_string_lossy(), "--check", "--preload"]);
    assert!(
        server.log_contains(&format!(
            "rwsgi run --check: {}:application passed 6 requests",
            hello.display()
        )),
        "{}",
        server.log_text()
    );
    let resp = server.get("/");
    assert_eq!((resp.status, resp.text().as_str()), (200, "Hello World!"));
}

#[test]
fn run_check_gives_up_on_an_app_that_hangs() {
    let app = format!("{}:hangs_on_post", fixture("check_broken.py"));
    let mut server = Server::launch(&[&app, "--check", "--timeout", "1"]);
    let status = server.wait_exit(Duration::from_secs(30));
    let log = server.log_text();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains(
            "rwsgi: error: --check did not end within 2s (2 times --timeout): does the app \
             hang on one of its requests?"
        ),
        "{log}"
    );
    assert!(!log.contains("Listening at"), "{log}");
}

/// `--mount PREFIX` checks the app as `run --mount` serves it: SCRIPT_NAME is the prefix.
#[test]
fn the_check_sees_the_mount_prefix() {
    let app = fixture("mounted_app.py");
    assert_findings(
        &[&app],
        &["GET /: the body item is str: return [b'...'] or encode it"],
    );
    assert_passes(&[&app, "--mount", "/blog/"]);
    let server = Server::start(&[&app, "--check", "--mount", "/blog"]);
    assert!(
        server.log_contains("passed 6 requests"),
        "{}",
        server.log_text()
    );
    let resp = server.get("/blog/");
    assert_eq!((resp.status, resp.text().as_str()), (200, "under /blog"));
}
