//! Where RustPython differs from CPython and rwsgi mends it (src/python/patch/, pylib/): each
//! test runs the reproducer on the real binary, under `rwsgi python` or served over HTTP, and
//! fails on an rwsgi without the fix.

use std::io::Write;
use std::process::Command;
use std::time::Duration;

use crate::common::{Server, TempDir, app_file, bin, fixture, python, repo, stderr, stdout};
use crate::frameworks::vendor;

fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    serde_json::from_str(stdout(out).trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

// ---- pwd and grp read /etc/passwd and /etc/group (the static glibc cannot use NSS) ----

/// The entries of a colon-separated database file, as glibc's "files" source reads them.
fn entries(path: &str, fields: usize) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(['#', '+', '-']))
        .map(|l| l.split(':').map(str::to_owned).collect::<Vec<_>>())
        .filter(|f| f.len() == fields)
        .collect()
}

#[test]
fn user_and_group_lookups_answer_from_the_files_and_never_crash() {
    let code = r#"
import grp, json, os, pwd
out = {}
for fn, arg in [(pwd.getpwnam, "nosuch-user"), (pwd.getpwuid, 2**31 - 7),
                (grp.getgrnam, "nosuch-group"), (grp.getgrgid, 2**31 - 7)]:
    try:
        fn(arg)
        out[fn.__name__] = "found"
    except KeyError as e:
        out[fn.__name__] = str(e)
out["users"] = [list(p) for p in pwd.getpwall()]
out["groups"] = [[g.gr_name, g.gr_gid, g.gr_mem] for g in grp.getgrall()]
me = pwd.getpwuid(os.getuid())
out["me"] = [me.pw_name, me.pw_dir, me[0] == me.pw_name, len(me)]
out["byname"] = pwd.getpwnam(me.pw_name) == me
out["repr"] = repr(me).startswith("pwd.struct_passwd(pw_name=")
print(json.dumps(out))
"#;
    let out = python(&["-c", code], &[]);
    assert_ne!(out.status.code(), Some(139), "crashed: {}", stderr(&out));
    let json = json_of(&out);
    assert_eq!(
        json["getpwnam"],
        "\"getpwnam(): name not found: 'nosuch-user'\""
    );
    assert_eq!(json["getpwuid"], "'getpwuid(): uid not found: 2147483641'");
    assert_eq!(
        json["getgrnam"],
        "\"getgrnam(): name not found: 'nosuch-group'\""
    );
    assert_eq!(json["getgrgid"], "'getgrgid(): gid not found: 2147483641'");
    let users = entries("/etc/passwd", 7);
    assert_eq!(json["users"].as_array().map(Vec::len), Some(users.len()));
    assert_eq!(json["users"][0][0], users[0][0].as_str(), "{json}");
    assert_eq!(
        json["groups"].as_array().map(Vec::len),
        Some(entries("/etc/group", 4).len())
    );
    assert_eq!(json["me"][2], true);
    assert_eq!(json["me"][3], 7);
    assert_eq!(json["byname"], true);
    assert_eq!(json["repr"], true);
}

/// `~` without HOME and getpass.getuser() without LOGNAME/USER go through pwd: a served app
/// that did either crashed its worker.
#[test]
fn home_and_user_name_without_environment_come_from_pwd() {
    let code = "import getpass, os, pwd; me = pwd.getpwuid(os.getuid()); \
                print(os.path.expanduser('~') == me.pw_dir, getpass.getuser() == me.pw_name)";
    let out = Command::new(bin())
        .args(["python", "-c", code])
        .env_clear()
        .output()
        .expect("run rwsgi python");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "True True");
}

// ---- UTF-8 mode: stdio, open() and the preferred encoding, whatever the locale ----

const ENCODINGS: &str = "import io, locale, sys; print('caf\u{e9}', sys.stdout.encoding, \
    sys.flags.utf8_mode, locale.getpreferredencoding(False), io.text_encoding(None), \
    sys.getfilesystemencoding())";

fn encodings_with(env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(bin());
    cmd.args(["python", "-c", ENCODINGS]).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run rwsgi python");
    assert_eq!(out.status.code(), Some(0), "{env:?}: {}", stderr(&out));
    stdout(&out).trim().to_owned()
}

#[test]
fn text_is_utf8_without_a_locale_as_in_cpython_utf8_mode() {
    let utf8 = "caf\u{e9} utf-8 1 utf-8 utf-8 utf-8";
    assert_eq!(encodings_with(&[]), utf8, "no locale at all (FROM scratch)");
    assert_eq!(encodings_with(&[("LANG", "C.UTF-8")]), utf8);
    assert_eq!(
        encodings_with(&[("LC_ALL", "C")]),
        utf8,
        "PEP 538 coerces C"
    );
    assert_eq!(
        encodings_with(&[("PYTHONUTF8", "0"), ("LANG", "C")]),
        utf8,
        "opting out under the C locale still gets UTF-8 (coercion)"
    );
}

#[test]
fn a_served_app_prints_and_writes_non_ascii_without_a_locale() {
    let mut cmd = Command::new(bin());
    cmd.env_clear();
    let server = Server::start_with(cmd, &[&fixture("unicode_print.py")]);
    let resp = server.get("/");
    assert_eq!(resp.status, 200, "{}", server.log_text());
    assert_eq!(resp.text(), "utf-8 utf-8 caf\u{e9}");
}

// ---- the method resolution order (C3) ----

/// The probe's hierarchies under rwsgi and CPython give the same orders, and every class of
/// the stdlib modules web apps use, Django and SQLAlchemy has C3's order.
#[test]
fn method_resolution_order_is_cpythons() {
    let probe = fixture("mro_probe.py");
    let stdlib = [
        "json",
        "email.mime.multipart",
        "http.cookies",
        "http.server",
        "logging.handlers",
        "xml.dom.minidom",
        "decimal",
        "collections",
        "asyncio",
        "unittest",
        "argparse",
        "typing",
        "enum",
        "io",
    ];
    let mut args = vec![probe.as_str()];
    args.extend(stdlib);
    let rwsgi = json_of(&python(&args, &[]));
    let cpython = Command::new("python3")
        .args(&args)
        .output()
        .expect("python3 (CPython) is needed as the reference");
    let cpython = json_of(&cpython);
    assert_eq!(rwsgi["cases"], cpython["cases"]);
    assert_eq!(rwsgi["mismatches"], serde_json::json!([]), "{rwsgi}");
    assert!(rwsgi["checked"].as_u64() > Some(500), "{rwsgi}");

    let django = vendor("django");
    let sqlalchemy = vendor("sqlalchemy");
    let libs = [
        "--pythonpath",
        &*django.to_string_lossy(),
        "--pythonpath",
        &*sqlalchemy.to_string_lossy(),
    ]
    .map(str::to_owned);
    let mut args: Vec<&str> = libs.iter().map(String::as_str).collect();
    args.push(&probe);
    args.extend([
        "sqlalchemy",
        "sqlalchemy.orm",
        "sqlalchemy.ext.declarative",
        "django.db.models",
        "django.forms",
        "django.http",
        "django.views.generic",
        "django.template.defaulttags",
    ]);
    let frameworks = json_of(&python(&args, &[("DJANGO_SETTINGS_MODULE", "")]));
    assert_eq!(
        frameworks["mismatches"],
        serde_json::json!([]),
        "{frameworks}"
    );
    assert!(frameworks["checked"].as_u64() > Some(2000), "{frameworks}");
}

/// SQLAlchemy 2.1 failed to import, and on 2.0 every flush with a relationship answered 500.
#[test]
fn sqlalchemy_orm_with_relationships_over_http() {
    let vendor = vendor("sqlalchemy");
    let tmp = TempDir::new("sqla");
    let db = tmp.path().join("books.sqlite3");
    let mut cmd = Command::new(bin());
    cmd.env("SQLA_DB", &db);
    let app = repo().join("apps/sqlalchemy/app.py");
    let server = Server::start_with(
        cmd,
        &[
            &app.to_string_lossy(),
            "--pythonpath",
            &vendor.to_string_lossy(),
        ],
    );
    let post = |target: &str, form: &str| {
        let raw = format!(
            "POST {target} HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        );
        crate::common::parse_one(&server.raw(raw.as_bytes()))
    };
    let created = post("/authors", "name=Ada+Lovelace&books=Notes|Sketch+%E2%9C%93");
    assert_eq!(created.status, 201, "{}", server.log_text());
    assert_eq!(post("/authors", "name=Grace&books=COBOL").status, 201);
    let listed = server.get("/");
    assert_eq!(listed.status, 200, "{}", server.log_text());
    let json = listed.json();
    assert_eq!(json["book_count"], 3);
    assert_eq!(json["authors"][0]["name"], "Ada Lovelace");
    assert_eq!(
        json["authors"][0]["books"],
        serde_json::json!(["Notes", "Sketch \u{2713}"])
    );
    let id = created.json()["id"].as_i64().expect("id");
    // Core: `result.lastrowid` is read after SQLAlchemy closed the cursor.
    let grace = json["authors"][1]["id"].as_i64().expect("id");
    let book = post("/books", &format!("author_id={grace}&title=Manual"));
    assert_eq!(book.status, 201, "{}", server.log_text());
    assert_eq!(book.json()["id"], 4, "{}", book.text());
    assert_eq!(post(&format!("/authors/{id}/delete"), "").status, 200);
    assert_eq!(
        server.get("/").json()["book_count"],
        2,
        "delete-orphan cascade"
    );
}

// ---- re.sub with a function that returns None ----

#[test]
fn re_sub_treats_a_none_replacement_as_empty() {
    let code = r#"
import re
p = re.compile("a")
print(re.sub("a", lambda m: None, "xax"), re.subn("a", lambda m: None, "xaxa"),
      re.sub(b"a", lambda m: None, b"xax"), p.sub(repl=lambda m: None, string="bab"),
      p.subn(lambda m: None, "aa", count=1), re.sub("a", lambda m: m.group().upper(), "xax"),
      re.sub("(a)", r"[\1]", "xax"), re.sub("a", "-", "xax"))
"#;
    let out = python(&["-c", code], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "xx ('xx', 2) b'xx' bb ('a', 1) xAx x[a]x x-x"
    );
}

// ---- rwsgi's own Python is bound before the app runs ----

/// An app that replaces `__import__` and poisons sys.modules at import time (as Mercurial's
/// demandimport does for hgweb) is still served: wsgi.errors, wsgi.file_wrapper and the
/// loader's modules were bound before its first line ran.
#[test]
fn an_app_that_takes_over_imports_is_served() {
    let server = Server::start(&[&fixture("hostile_import_hook.py")]);
    let resp = server.get("/");
    assert_eq!(resp.status, 200, "{}", server.log_text());
    assert_eq!(resp.text(), "served despite the hook\n");
    assert!(server.wait_log("hostile hook app served a request", Duration::from_secs(5)));
    let file = server.get("/file");
    assert_eq!(file.status, 200, "{}", server.log_text());
    let source = std::fs::read_to_string(fixture("hostile_import_hook.py")).expect("fixture");
    assert_eq!(file.text(), source);
}

// ---- the Python 2 hello world ----

#[test]
fn a_str_body_is_a_500_with_the_fix_logged_once() {
    let server = Server::start(&[&fixture("python2_hello.py")]);
    for _ in 0..3 {
        assert_eq!(server.get("/").status, 500);
    }
    let hint = "return [b'Hello World!']";
    assert!(
        server.wait_log(hint, Duration::from_secs(5)),
        "{}",
        server.log_text()
    );
    assert!(server.wait_log("yielded str, not bytes", Duration::from_secs(5)));
    let hints = server
        .log_text()
        .lines()
        .filter(|l| l.contains(hint))
        .count();
    assert_eq!(hints, 1, "{}", server.log_text());
}

// ---- json's integer digit limit ----

#[test]
fn json_refuses_integers_past_the_digit_limit_as_int_does() {
    let code = r#"
import json, sys
def load(text):
    try:
        return json.loads(text)
    except ValueError as e:
        return "ValueError" if "digits" in str(e) else str(e)
print(load("1" * 5000), load('{"n": %s}' % ("9" * 4301)))
print(load("[1, -2, 30000000000000000000, 1.5]"), load("1" * 4300) == int("1" * 4300))
s = load('["%s", 5, {"k": [-12, 3e2]}]' % ("7" * 5000))
print(len(s[0]), s[1:], load('{"a": [1, {"b": %s}]}' % ("9" * 4301)), load("1" * 4400 + ".5"))
sys.set_int_max_str_digits(6000)
print(load("1" * 5000) == int("1" * 5000))
sys.set_int_max_str_digits(0)
print(load("1" * 7000) == int("1" * 7000))
print(json.loads("12", parse_int=lambda s: "custom " + s))
"#;
    let out = python(&["-c", code], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "ValueError ValueError\n[1, -2, 30000000000000000000, 1.5] True\n\
         5000 [5, {'k': [-12, 300.0]}] ValueError inf\nTrue\nTrue\ncustom 12\n"
    );
}

// ---- time.tzset and zoneinfo's search path ----

#[test]
fn time_tzset_follows_tz() {
    let code = "import os, time\n\
        os.environ['TZ'] = 'UTC'; time.tzset(); utc = (time.timezone, time.localtime(0).tm_hour)\n\
        os.environ['TZ'] = 'EST+05EDT,M3.2.0,M11.1.0'; time.tzset()\n\
        print(utc, time.timezone, time.altzone, time.daylight, time.tzname, time.localtime(0).tm_hour)";
    let out = python(&["-c", code], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "(0, 0) 18000 14400 1 ('EST', 'EDT') 19"
    );
}

#[test]
fn zoneinfo_reset_tzpath_keeps_the_system_database() {
    if !std::path::Path::new("/usr/share/zoneinfo/America/New_York").is_file() {
        eprintln!("skipped: no system time-zone database");
        return;
    }
    let code = "import datetime, zoneinfo\nzoneinfo.reset_tzpath()\n\
        tz = zoneinfo.ZoneInfo('America/New_York')\n\
        print('/usr/share/zoneinfo' in zoneinfo.TZPATH, datetime.datetime(2024, 7, 1, tzinfo=tz).utcoffset())";
    let out = python(&["-c", code], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "True -1 day, 20:00:00");
}

// ---- the interpreter's command line is python's ----

/// `sys.executable` is the rwsgi binary: started with python's options it is a python, so
/// subprocesses of `sys.executable` (and `-m` tools) work.
#[test]
fn sys_executable_runs_as_python() {
    let code = r#"
import subprocess, sys
run = lambda *a, **k: subprocess.run([sys.executable, *a], capture_output=True, text=True, **k)
print(run("-c", "print(6 * 7)").stdout.strip())
tool = run("-m", "json.tool", input='{"a": [1]}')
print(tool.returncode, tool.stdout.split())
print(run("-u", "-X", "utf8", "-c", "import sys; print(sys.argv[1:])", "x", "-y").stdout.strip())
# A script as the first argument (was: "unrecognized subcommand").
import os, tempfile
script = os.path.join(tempfile.mkdtemp(), "s.py")
with open(script, "w") as f: f.write("import sys; print('script', sys.argv[1:])")
print(run(script, "z").stdout.strip())
"#;
    let out = python(&["-c", code], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "42\n0 ['{', '\"a\":', '[', '1', ']', '}']\n['x', '-y']\nscript ['z']\n"
    );
    let direct = Command::new(bin())
        .args(["-c", "import sys; print(sys.flags.optimize)"])
        .output()
        .expect("rwsgi -c");
    assert_eq!(stdout(&direct).trim(), "0", "{}", stderr(&direct));
}

#[test]
fn python_options_x_w_o_and_pythonpath() {
    let code = "import sys, warnings; print(sys._xoptions, sys.flags.optimize, sys.warnoptions, sys.path[1])";
    let out = python(
        &[
            "-X",
            "feature=on",
            "-X",
            "dev",
            "-W",
            "error::DeprecationWarning",
            "-OO",
            "-c",
            code,
        ],
        &[("PYTHONPATH", "/nonexistent/lib")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "{'feature': 'on', 'dev': True} 2 ['error::DeprecationWarning'] /nonexistent/lib"
    );
    let ignored = python(
        &[
            "-E",
            "-c",
            "import sys; print('/nonexistent/lib' in sys.path)",
        ],
        &[("PYTHONPATH", "/nonexistent/lib")],
    );
    assert_eq!(stdout(&ignored).trim(), "False", "{}", stderr(&ignored));
}

/// python's clustered options and attached values (`-mjson.tool`, `-cCODE`, `-Wignore`,
/// `-bb`, `-uc`), -P, -V/--version (also under a `python3` name), as tools pass them to
/// `sys.executable`: each was taken for a script's name ("can't open file -mjson.tool").
#[test]
fn python_options_clustered_attached_and_version() {
    let code = r#"
import subprocess, sys, os
run = lambda *a, **k: subprocess.run([sys.executable, *a], capture_output=True, text=True, **k)
tool = run("-mjson.tool", input='[1]')
print(tool.returncode, tool.stdout.split(), tool.stderr)
print(run("-cimport sys; print(sys.argv[1:])", "a", "-b").stdout.strip())
print(run("-Wignore", "-Xutf8", "-bb", "-c",
          "import sys; print(sys.warnoptions, sys._xoptions, sys.flags.bytes_warning)").stdout.strip())
print(run("-uc", "print('unbuffered')").stdout.strip())
print(run("-P", "-c", "import sys, os; print(sys.flags.safe_path, os.getcwd() in sys.path)").stdout.strip())
print(run("-c", "import sys, os; print(sys.flags.safe_path, os.getcwd() in sys.path)").stdout.strip())
"#;
    let out = python(&["-c", code], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "0 ['[', '1', ']'] \n['a', '-b']\n['ignore'] {'utf8': True} 2\nunbuffered\n\
         True False\nFalse True\n"
    );
    let tmp = TempDir::new("python-link");
    let link = tmp.path().join("python3");
    std::os::unix::fs::symlink(bin(), &link).expect("symlink");
    for flag in ["-V", "--version"] {
        let out = Command::new(&link).arg(flag).output().expect("python3 -V");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stdout(&out).starts_with("Python 3.14.0"),
            "{}",
            stdout(&out)
        );
    }
    let verbose = python(&["-VV"], &[]);
    assert!(
        stdout(&verbose).contains("(RustPython "),
        "{}",
        stdout(&verbose)
    );
    // rwsgi's own -V is rwsgi's version.
    let ours = Command::new(bin()).arg("-V").output().expect("rwsgi -V");
    assert!(stdout(&ours).starts_with("rwsgi "), "{}", stdout(&ours));
}

// ---- sqlite3: a cursor used again from its own converter ----

/// This deadlocked (the worker hung until --timeout); CPython raises ProgrammingError.
#[test]
fn sqlite_recursive_cursor_use_raises_instead_of_hanging() {
    let code = r#"
import sqlite3
conn = sqlite3.connect(":memory:", detect_types=sqlite3.PARSE_COLNAMES)
cur = conn.cursor()
def again(b):
    cur.execute("select 2")
    return b
sqlite3.register_converter("AGAIN", again)
try:
    cur.execute('select 1 as "a [AGAIN]"').fetchall()
    print("no error")
except sqlite3.ProgrammingError as e:
    print("ProgrammingError:", e)
for name, conv in [("CLOSE", lambda b: cur.close()), ("INIT", lambda b: cur.__init__(conn))]:
    sqlite3.register_converter(name, conv)
    try:
        cur.execute('select 1 as "a [%s]"' % name).fetchall()
        print("no error")
    except sqlite3.ProgrammingError as e:
        print("ProgrammingError:", e)
other = sqlite3.connect(":memory:")
sqlite3.register_converter("OTHER", lambda b: other.execute("select 5").fetchone()[0])
print(conn.execute('select 1 as "a [OTHER]"').fetchall(), cur.execute("select 3").fetchall())
"#;
    let mut child = Command::new(bin())
        .args(["python", "-c", code])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run rwsgi python");
    let finished = crate::common::eventually(Duration::from_secs(60), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !finished {
        let _ = child.kill();
        panic!("rwsgi python hung on a recursive cursor");
    }
    let out = child.wait_with_output().expect("output");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "ProgrammingError: Recursive use of cursors not allowed.\n\
         ProgrammingError: Recursive use of cursors not allowed.\n\
         ProgrammingError: Recursive use of cursors not allowed.\n[(5,)] [(3,)]\n"
    );
}

// ---- cProfile (RustPython has neither cProfile nor _lsprof) ----

#[test]
fn cprofile_counts_calls_as_cpython_does() {
    let json = json_of(&python(&[&fixture("cprofile_probe.py")], &[]));
    let checks = json.as_object().expect("an object of checks");
    assert!(checks.len() > 5, "{json}");
    for (name, ok) in checks {
        assert_eq!(ok, true, "{name}: {json}");
    }
    // `-m cProfile` with its own options after the module name.
    let tmp = TempDir::new("cprofile");
    let script = tmp.path().join("work.py");
    std::fs::write(
        &script,
        "def leaf(i):\n    return i\n\ndef run():\n    return sum(leaf(i) for i in range(300))\n\nprint(run())\n",
    )
    .expect("write script");
    let out = python(
        &["-m", "cProfile", "-s", "ncalls", &script.to_string_lossy()],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("44850\n"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("300 ") && l.contains("work.py:1(leaf)")),
        "{text}"
    );
}

/// Served: an app that imports cProfile at module level (a CalDAV server does) starts.
#[test]
fn an_app_importing_cprofile_is_served() {
    let tmp = TempDir::new("cprofile-app");
    let app = app_file(
        &tmp,
        "import cProfile, pstats, io\n\
         def application(environ, start_response):\n\
         \x20   p = cProfile.Profile()\n\
         \x20   p.enable(); sum(range(10)); p.disable()\n\
         \x20   out = io.StringIO(); pstats.Stats(p, stream=out).print_stats()\n\
         \x20   start_response('200 OK', [('Content-Type', 'text/plain')])\n\
         \x20   return [b'profiled' if 'function calls' in out.getvalue() else b'empty']\n",
    );
    let server = Server::start(&[&app]);
    let resp = server.get("/");
    assert_eq!(resp.status, 200, "{}", server.log_text());
    assert_eq!(resp.text(), "profiled");
}

// ---- the standard library: what cannot be imported is what the README says ----

/// The module names of the README's table of absent standard-library modules.
fn documented_absent() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let section = readme
        .split("### Standard-library modules that are absent")
        .nth(1)
        .expect("the README's section on absent modules");
    let section = section.split("\n#").next().unwrap_or(section);
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split(" | ").next())
        .flat_map(|cell| {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_stdlib_module_imports_or_is_documented_as_absent() {
    let out = Command::new("python3")
        .arg(repo().join("conformance/python/stdlib_imports.py"))
        .arg(bin())
        .output()
        .expect("python3 runs the audit");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let absent = documented_absent();
    assert!(absent.len() > 30, "{absent:?}");
    let undocumented: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| {
            let name = l.split('\t').next().unwrap_or_default();
            !absent.iter().any(|a| a == name)
        })
        .map(str::to_owned)
        .collect();
    assert!(
        undocumented.is_empty(),
        "modules that fail to import and are not in the README's table:\n{}",
        undocumented.join("\n")
    );
}

// ---- XML: what expat refuses is refused, with expat's code and position ----

/// Run the probe `name` under `rwsgi python` and CPython; both succeed and print the same
/// lines, which are returned.
fn same_lines_as_cpython(name: &str) -> String {
    let probe = fixture(name);
    let rwsgi = python(&[&probe], &[]);
    assert_eq!(rwsgi.status.code(), Some(0), "{}", stderr(&rwsgi));
    let cpython = Command::new("python3")
        .arg(&probe)
        .output()
        .expect("python3 (CPython) is needed as the reference");
    assert_eq!(cpython.status.code(), Some(0), "{}", stderr(&cpython));
    let (ours, theirs) = (stdout(&rwsgi), stdout(&cpython));
    for (a, b) in ours.lines().zip(theirs.lines()) {
        assert_eq!(a, b);
    }
    assert_eq!(ours.lines().count(), theirs.lines().count(), "{ours}");
    ours
}

/// ElementTree, minidom and sax over well-formed and malformed documents: the same lines as
/// CPython's (RustPython's pyexpat accepted every malformed one).
#[test]
fn xml_parsers_refuse_what_expat_refuses() {
    let ours = same_lines_as_cpython("xml_probe.py");
    assert!(
        ours.contains("mismatched tag: line 1, column 8 code=7"),
        "{ours}"
    );
}

/// A served app that parses its request body answers 400 to a malformed one.
#[test]
fn a_served_app_gets_parse_errors_for_malformed_bodies() {
    let tmp = TempDir::new("xml-app");
    let app = app_file(
        &tmp,
        "import xml.etree.ElementTree as ET\n\
         def application(environ, start_response):\n\
         \x20   body = environ['wsgi.input'].read(int(environ.get('CONTENT_LENGTH') or 0))\n\
         \x20   try:\n\
         \x20       root = ET.fromstring(body)\n\
         \x20   except ET.ParseError as e:\n\
         \x20       start_response('400 Bad Request', [('Content-Type', 'text/plain')])\n\
         \x20       return [str(e).encode()]\n\
         \x20   start_response('207 Multi-Status', [('Content-Type', 'text/plain')])\n\
         \x20   return [root.tag.encode()]\n",
    );
    let server = Server::start(&[&app]);
    let propfind = |body: &str| {
        let raw = format!(
            "PROPFIND / HTTP/1.1\r\nHost: t\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        crate::common::parse_one(&server.raw(raw.as_bytes()))
    };
    let ok = propfind(r#"<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#);
    assert_eq!(ok.status, 207, "{}", server.log_text());
    assert_eq!(ok.text(), "{DAV:}propfind");
    let bad = propfind(r#"<D:propfind xmlns:D="DAV:" xmlns:bar=""><D:allprop/></D:propfind>"#);
    assert_eq!(bad.status, 400);
    assert_eq!(bad.text(), "must not undeclare prefix: line 1, column 0");
    assert_eq!(propfind("<D:propfind xmlns:D=\"DAV:\">").status, 400);
}

// ---- native accelerators under the packages' own names ----

/// MarkupSafe picks up our `_speedups`, and it escapes as MarkupSafe's own fallback does.
#[test]
fn markupsafe_uses_the_native_escape() {
    let vendor = crate::frameworks::vendor("flask");
    let code = r#"
import random, markupsafe, markupsafe._speedups as fast, markupsafe._native as slow
random.seed(7)
chars = "&<>'\"a\u00e9\u4e2d \n\U0001F600;#\udcff"
samples = ["".join(random.choice(chars) for _ in range(random.randrange(40))) for _ in range(3000)]
print(markupsafe._escape_inner is fast._escape_inner,
      all(fast._escape_inner(s) == slow._escape_inner(s) for s in samples),
      str(markupsafe.escape("<b>Tom & 'Jerry'</b>")))
"#;
    let out = python(
        &["--pythonpath", &vendor.to_string_lossy(), "-c", code],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "True True &lt;b&gt;Tom &amp; &#39;Jerry&#39;&lt;/b&gt;"
    );
}

/// click's progress bar asks `length_hint(iterable, -1)`; RustPython refused negative defaults.
#[test]
fn operator_length_hint_takes_a_negative_default() {
    let code = "import operator\n\
        class H:\n    def __length_hint__(self): return 5\n\
        print(operator.length_hint(iter([]), -1), operator.length_hint(object(), -1), \
        operator.length_hint([1, 2]), operator.length_hint(H(), -1))";
    let out = python(&["-c", code], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "0 -1 2 5");
}

/// trio (Jinja2's async tests run on it) names socket.socket.recvmsg_into while loading.
#[test]
fn socket_recvmsg_into_fills_the_buffers_with_ancillary_data() {
    let code = r#"
import array, socket
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
a.sendall(b"hello world!")
first, second = bytearray(5), memoryview(bytearray(20))
n, anc, flags, addr = b.recvmsg_into([first, second])
print(n, bytes(first), bytes(second[:n - 5]), anc, flags)
a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [a.fileno()]))])
buf = bytearray(4)
n, anc, flags, addr = b.recvmsg_into([buf], socket.CMSG_SPACE(4))
print(n, bytes(buf[:n]), len(anc), anc[0][:2] == (socket.SOL_SOCKET, socket.SCM_RIGHTS))
"#;
    let out = python(&["-c", code], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "12 b'hello' b' world!' [] 0\n1 b'x' 1 True\n");
}

/// bytes.strip tested UTF-8 characters truncated to a byte: `urllib.parse.quote('ㄴ')` came
/// back unquoted, and non-ASCII whitespace or U+FFFD's low byte was stripped.
#[test]
fn bytes_strip_strips_bytes_not_characters() {
    let code = r#"
import urllib.parse
print(b'\xe3\x84\xb4'.rstrip(b'4'), b'\xc2\xa0'.strip(), b'\xff'.rstrip(b'\xfd'),
      b' \t\x0b\x0cab\r\n'.strip(), b'xxaxx'.lstrip(b'x'), bytearray(b'xxaxx').rstrip(b'x'),
      b'aba'.strip(bytearray(b'a')), bytearray(b'\xe3\x84\xb4').strip(b'4'))
print(urllib.parse.quote('ㄴ'))
"#;
    let out = python(&["-c", code], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "b'\\xe3\\x84\\xb4' b'\\xc2\\xa0' b'\\xff' b'ab' b'axx' bytearray(b'xxa') b'b' \
         bytearray(b'\\xe3\\x84\\xb4')\n%E3%84%B4\n"
    );
}

/// Django's MultiValueDict overrides `__getitem__`: CPython compares and copies a dict
/// subclass by its stored entries, so `dict(request.GET)` keeps the lists.
#[test]
fn dict_subclasses_compare_and_copy_by_stored_entries() {
    let code = r#"
class M(dict):
    def __getitem__(s, k): return dict.__getitem__(s, k)[-1]
class K(dict):
    def keys(self): return ['a']
    def __getitem__(s, k): return 99
class I(M):
    def __iter__(self): return iter(['a'])
m = M(a=[1, 2])
print(m == {'a': [1, 2]}, {'a': [1, 2]} == m, m != {'a': [1, 2]}, m == M(a=[1, 2]))
d = {}; d.update(m); e = {'x': 0}; e |= m
print(dict(m), d, e, dict(M(m)), dict(K(a=1, b=2)), dict(I(a=[3])))
# Exact dicts ask the left-hand value first, as CPython (RustPython asked the right-hand one).
class L:
    def __eq__(self, other): return True
class R:
    def __eq__(self, other): return False
print({'k': L()} == {'k': R()}, {'k': R()} == {'k': L()}, {'k': L()} != {'k': R()})
"#;
    let out = python(&["-c", code], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "True True False True\n{'a': [1, 2]} {'a': [1, 2]} {'x': 0, 'a': [1, 2]} {'a': [1, 2]} \
         {'a': 1, 'b': 2} {'a': 3}\nTrue False False\n"
    );
}

/// A malformed .lzma header made xz-core add with overflow: a panic that killed the process
/// (the debug build's overflow checks; release wraps and reports LZMAError).
#[test]
fn lzma_reports_a_malformed_header_instead_of_crashing() {
    let code = "import lzma\n\
        try: print(lzma.LZMADecompressor().decompress(b'1' + bytes(15)))\n\
        except lzma.LZMAError as e: print('LZMAError')";
    let out = python(&["-c", code], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        matches!(stdout(&out).trim(), "b''" | "LZMAError"),
        "{}",
        stdout(&out)
    );
}

/// `signal.getsignal`, and `signal.signal` as the previous handler, answered None for every
/// signal where the interpreter does not own the signals (the server): saving a handler and
/// putting it back then raised TypeError.
#[test]
fn getsignal_reports_the_process_disposition() {
    let tmp = TempDir::new("getsignal-app");
    let app = app_file(
        &tmp,
        "import signal\n\
         def application(environ, start_response):\n\
         \x20   alrm, pipe = signal.getsignal(signal.SIGALRM), signal.getsignal(signal.SIGPIPE)\n\
         \x20   old = signal.signal(signal.SIGUSR2, lambda *a: None)\n\
         \x20   back = signal.signal(signal.SIGUSR2, old)\n\
         \x20   start_response('200 OK', [('Content-Type', 'text/plain')])\n\
         \x20   return [('%s %s %s %s' % (alrm is signal.SIG_DFL, pipe is signal.SIG_IGN, old is signal.SIG_DFL, signal.getsignal(signal.SIGUSR2) is signal.SIG_DFL)).encode()]\n",
    );
    let server = Server::start(&[&app]);
    let resp = server.get("/");
    assert_eq!(resp.status, 200, "{}", server.log_text());
    assert_eq!(resp.text(), "True True True True");
    // A python command line owns its signals, as CPython: SIGINT raises KeyboardInterrupt.
    let code = "import signal\n\
        old = signal.getsignal(signal.SIGALRM)\n\
        signal.signal(signal.SIGALRM, lambda *a: None)\n\
        signal.signal(signal.SIGALRM, old)\n\
        print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, old is signal.SIG_DFL)";
    let out = python(&["-c", code], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "True True");
}

/// `python -` (and python with no script and a piped stdin) runs the program read from stdin;
/// rwsgi said "can't open file -" (click runs `sys.executable -` this way).
#[test]
fn a_program_on_stdin_runs_as_in_python() {
    for (args, argv) in [
        (&["python", "-", "a"][..], "['-', 'a']"),
        (&["python"][..], "['']"),
        // As `sys.executable -` arrives.
        (&["-", "b"][..], "['-', 'b']"),
    ] {
        let mut child = Command::new(bin())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"import sys\nprint(sys.argv)\n")
            .expect("write the program");
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout(&out).trim(), argv);
    }
}

/// `random.seed()` seeded from the rand crate's thread-local generator, which forked children
/// inherit: every child of `os.fork()` drew the same numbers (CPython reseeds from urandom).
#[test]
fn forked_children_draw_different_random_numbers() {
    let code = "import os, random\n\
        r, w = os.pipe()\n\
        for i in range(3):\n\
        \x20   pid = os.fork()\n\
        \x20   if pid == 0:\n\
        \x20       os.write(w, b'%r\\n' % random.random())\n\
        \x20       os._exit(0)\n\
        \x20   os.waitpid(pid, 0)\n\
        os.close(w)\n\
        draws = os.read(r, 4096).split()\n\
        random.seed(5)\n\
        print(len(draws), len(set(draws)), random.random())";
    let out = python(&["-c", code], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // random.seed(5) still gives CPython's sequence.
    assert_eq!(stdout(&out).trim(), "3 3 0.6229016948897019");
}

/// `rwsgi python -u` and PYTHONUNBUFFERED were accepted and ignored: stdout stayed
/// block-buffered, so a log that interleaves stdout and stderr came out of order.
#[test]
fn unbuffered_output_keeps_its_order() {
    let code = "import sys; sys.stdout.write('1 stdout\\n'); sys.stderr.write('2 stderr\\n')";
    let run = |args: &[&str], unbuffered: Option<&str>| {
        let mut cmd = Command::new(bin());
        cmd.arg("python").args(args).args(["-c", code]);
        cmd.env_remove("PYTHONUNBUFFERED");
        if let Some(value) = unbuffered {
            cmd.env("PYTHONUNBUFFERED", value);
        }
        // One pipe for both streams, as `> log 2>&1`.
        let (reader, writer) = std::io::pipe().expect("pipe");
        let out = cmd
            .stdout(writer.try_clone().expect("clone"))
            .stderr(writer)
            .output()
            .expect("run");
        drop(cmd);
        assert!(out.status.success());
        let mut text = String::new();
        std::io::Read::read_to_string(&mut { reader }, &mut text).expect("read");
        text
    };
    assert_eq!(run(&["-u"], None), "1 stdout\n2 stderr\n");
    assert_eq!(run(&[], Some("1")), "1 stdout\n2 stderr\n");
    // Buffered without them (flushed at exit), as python.
    assert_eq!(run(&[], None), "2 stderr\n1 stdout\n");
    assert_eq!(run(&["-E"], Some("1")), "2 stderr\n1 stdout\n");
}

/// Reference cycles promoted out of the young generation are collected between requests, as
/// CPython's older-generation collections do (patch/gc_generations.rs): each request leaves
/// one cycle that was alive through a young collection; RustPython alone never freed them.
#[test]
fn cycles_promoted_during_a_request_are_collected() {
    let dir = TempDir::new("gc-generations");
    let app = app_file(
        &dir,
        "import gc, weakref\n\
         class Node:\n    pass\n\
         live = weakref.WeakSet()\n\
         def application(environ, start_response):\n    \
             a = Node(); a.me = a; live.add(a)\n    \
             junk = [[] for _ in range(3000)]\n    \
             body = ('%d %d' % (len(live), gc.get_stats()[0]['collections'])).encode()\n    \
             start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
             return [body]\n",
    );
    let server = Server::start(&[&app]);
    let mut last = String::new();
    for _ in 0..300 {
        let resp = server.get("/");
        assert_eq!(resp.status, 200, "{}", server.log_text());
        last = resp.text();
    }
    let mut numbers = last
        .split(' ')
        .map(|n| n.parse::<usize>().expect("a number"));
    let (live, young) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    assert!(young >= 300, "each request ran a young collection: {last}");
    // One generation-1 collection per 10 young ones: at most ~10 cycles wait at any time.
    assert!(live <= 30, "{live} of 300 request cycles are still alive");
}

/// SQLite's foreign keys are off unless a connection turns them on, as with CPython's sqlite3
/// (libsqlite3-sys's bundled build had them on: .cargo/config.toml undoes that), so deleting a
/// referenced row works as the app saw it work on CPython.
#[test]
fn sqlite_foreign_keys_are_off_by_default_as_in_cpython() {
    let out = python(
        &[
            "-c",
            "import sqlite3\n\
             c = sqlite3.connect(':memory:')\n\
             c.execute('create table parent (id integer primary key)')\n\
             c.execute('create table child (id integer primary key, parent_id references parent(id))')\n\
             c.execute('insert into parent values (1)')\n\
             c.execute('insert into child values (1, 1)')\n\
             c.execute('delete from parent where id = 1')\n\
             print(c.execute('pragma foreign_keys').fetchone()[0], c.execute('select count(*) from parent').fetchone()[0])\n\
             c.commit()\n\
             c.execute('pragma foreign_keys = on')\n\
             print(c.execute('pragma foreign_keys').fetchone()[0])",
        ],
        &[],
    );
    assert_eq!(stdout(&out), "0 0\n1\n", "{}", stderr(&out));
}

// ---- JSON: the native encoder follows CPython's rules ----

/// `json.dumps` against the pure-Python encoder on 3,000 generated values and option sets:
/// list and tuple subclasses read through their iterator (Django's `ErrorList`, a `UserList`
/// and a `list`, came out as `[]`), dict subclasses through `items()`, int and float
/// subclasses as their base's text, indent, sort_keys, skipkeys, allow_nan, circular
/// references and the error notes. Each text is decoded again by `json.loads` and by the
/// pure-Python scanner, which must agree (patch/json_int.rs picks one of two native scanners).
#[test]
fn json_encoder_matches_the_pure_python_encoder() {
    let probe = fixture("json_probe.py");
    let out = python(&[&probe, "7", "3000"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json = json_of(&out);
    assert_eq!(json["mismatches"], serde_json::json!([]), "{json}");
    assert_eq!(json["errorlist"], r#"{"name": ["required"]}"#);
    assert_eq!(json["shrunk"], "[null, null, null, null, null]");
    // Both outcomes occur: values that encode and values that raise.
    let raised = json["raised"].as_u64().unwrap_or(0);
    assert!((300..2700).contains(&raised), "{json}");
    assert!(json["decoded"].as_u64() > Some(1000), "{json}");
}

// ---- Buffered binary streams: readline takes the line from the buffer ----

/// `readline()` of BufferedReader, BufferedRandom, BufferedRWPair and a socket's makefile:
/// the same lines as CPython's for every size limit and buffer size, the closed-file message,
/// and no call of a subclass's `read` (RustPython's inherited readline called `read(1)` per
/// byte: 147x CPython's time per line).
#[test]
fn buffered_readline_matches_cpython() {
    let ours = same_lines_as_cpython("readline_probe.py");
    assert!(ours.contains("closed readline of closed file"), "{ours}");
    assert!(ours.contains("subclass read calls 0"), "{ours}");
}

// ---- threading.local: attributes set and deleted as on any object ----

/// A property's setter and deleter on a `threading.local` subclass are called, `del` of a
/// missing attribute raises AttributeError, `super().__setattr__` works, and each thread
/// keeps its own values (RustPython wrote the thread's dict directly: the setter was
/// bypassed and `del` raised KeyError).
#[test]
fn thread_local_attributes_follow_the_descriptors() {
    let ours = same_lines_as_cpython("local_probe.py");
    assert!(ours.contains("property: 6 ['_x', 'made_in']"), "{ours}");
    assert!(
        ours.contains("del missing: '_thread._local' object has no attribute 'missing'"),
        "{ours}"
    );
}

/// `open()` buffers 8 KiB by default, as CPython 3.14 (RustPython took 3.15's 128 KiB), and
/// stays the one object `builtins`, `io` and `_io` name; an explicit size is kept, a terminal
/// or not.
#[test]
fn open_buffers_as_cpython_3_14() {
    let tmp = TempDir::new("buffer-size");
    let path = tmp.path().join("big.bin");
    std::fs::write(&path, vec![b'x'; 300_000]).expect("write");
    let code = "import builtins, io, _io, sys\n\
        p = sys.argv[1]\n\
        f = open(p, 'rb'); g = open(p, 'rb', buffering=65536); t = open(p)\n\
        print(io.DEFAULT_BUFFER_SIZE, _io.DEFAULT_BUFFER_SIZE, open is io.open is _io.open,\n\
              0 < len(f.peek()) <= 8192, len(g.peek()), 0 < len(t.buffer.peek()) <= 8192,\n\
              len(f.read()), len(t.read()), open(p, 'rb', 0).read(5), type(open(p, 'r+b')).__name__)";
    let out = python(&["-c", code, &path.to_string_lossy()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "8192 8192 True True 65536 True 300000 300000 b'xxxxx' BufferedRandom"
    );
}

/// `io.BufferedReader(raw)` and its kin, made without a size (gzip, bz2 and lzma make them so),
/// a subclass's `super().__init__(raw)`, and `io.open_code`: 8 KiB, as CPython (they held
/// RustPython's 128 KiB).
#[test]
fn buffered_streams_made_without_a_size_get_8_kib() {
    let ours = same_lines_as_cpython("buffer_probe.py");
    assert!(
        ours.starts_with("8192 8192 8192 65536 8192 8192 8192 True"),
        "{ours}"
    );
}

// ---- sqlite3: a closed cursor keeps what it knew ----

/// lastrowid, rowcount and description read after close(), as CPython answers them
/// (RustPython raised "Cannot operate on a closed cursor.").
#[test]
fn a_closed_sqlite_cursor_keeps_its_results() {
    let ours = same_lines_as_cpython("sqlite_cursor_probe.py");
    assert!(
        ours.contains("closed after insert: lastrowid=2 rowcount=1"),
        "{ours}"
    );
}

// ---- os.path.normpath: native, as CPython's C one ----

/// `os.path.normpath` (our `posix._path_normpath`) gives CPython's result for every path of up
/// to four components, str and bytes, with 0-3 leading slashes.
#[test]
fn normpath_matches_cpython() {
    let ours = same_lines_as_cpython("normpath_probe.py");
    assert!(ours.contains("6216 paths"), "{ours}");
    assert!(
        ours.contains("'//' '//'") && ours.contains("'///' '/'"),
        "{ours}"
    );
    // Native (the pure-Python fallback cost 28x CPython's time).
    let out = python(
        &[
            "-c",
            "import os, posix; print(os.path.normpath is posix._path_normpath)",
        ],
        &[],
    );
    assert_eq!(stdout(&out).trim(), "True", "{}", stderr(&out));
}

// ---- the builtins rwsgi replaces keep CPython's signatures ----

/// `inspect.signature` of every builtin a patch replaces: CPython's, not a ValueError (our
/// native replacements had no text signature: `inspect.signature(open)` raised ValueError).
/// And the replaced module functions' repr, `__module__` and `__qualname__`, and pickling by
/// name: `compile` was `tuple.compile` and did not pickle, `open.__module__` was None.
#[test]
fn replaced_builtins_keep_their_signatures() {
    let ours = same_lines_as_cpython("signature_probe.py");
    assert!(
        ours.contains("open (file, mode='r', buffering=-1, encoding=None"),
        "{ours}"
    );
    assert!(ours.contains("bind refused:"), "{ours}");
    assert!(
        ours.contains("compile <built-in function compile> builtins compile True"),
        "{ours}"
    );
}

// ---- socket.timeout and os.supports_effective_ids: attributes CPython has ----

/// `sock.timeout` reads as `gettimeout()` (read-only), also on an SSL socket; and
/// `os.supports_effective_ids` exists (empty: RustPython's `os.access` refuses
/// `effective_ids=True`). Both raised AttributeError.
#[test]
fn socket_timeout_and_os_supports_effective_ids_exist() {
    let code = r#"
import os, socket, ssl
s = socket.socket()
print(s.timeout)
s.settimeout(2.5)
print(s.timeout)
try:
    s.timeout = 3
except AttributeError:
    print("read-only")
t = ssl.create_default_context().wrap_socket(socket.socket(), server_hostname="x")
t.settimeout(1.5)
print(t.timeout)
print(os.supports_effective_ids, os.access in os.supports_effective_ids)
"#;
    let out = python(&["-c", code], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "None\n2.5\nread-only\n1.5\nset() False\n");
}

// ---- PYTHONHASHSEED ----

/// `PYTHONHASHSEED=N` fixes str hashes as in python: every worker of `rwsgi run` and every
/// `rwsgi python` agree (sets iterate in one order), `-E` ignores it, a bad value is refused
/// in one line. It was ignored: hashes changed with every process.
#[test]
fn pythonhashseed_fixes_hashes_in_workers_and_scripts() {
    let hash = "import sys; print(hash('rwsgi'), sys.flags.hash_randomization)";
    let seeded = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend(["-c", hash]);
        stdout(&python(&args, &[("PYTHONHASHSEED", "42")]))
    };
    let script = seeded(&[]);
    assert!(script.ends_with(" 0\n"), "{script}");
    assert_eq!(seeded(&[]), script);
    assert_ne!(seeded(&["-E"]), script);
    let random = stdout(&python(&["-c", hash], &[("PYTHONHASHSEED", "random")]));
    assert!(random.ends_with(" 1\n"), "{random}");

    let tmp = TempDir::new("hashseed");
    let app = app_file(
        &tmp,
        "def application(environ, start_response):\n\
         \x20   start_response('200 OK', [('Content-Type', 'text/plain')])\n\
         \x20   return [str(hash('rwsgi')).encode()]\n",
    );
    let mut cmd = Command::new(bin());
    cmd.env("PYTHONHASHSEED", "42");
    let server = Server::start_with(cmd, &[&app, "--workers", "2"]);
    let want = script.split(' ').next().unwrap_or_default().to_owned();
    for _ in 0..6 {
        let resp = server.get("/");
        assert_eq!(resp.status, 200, "{}", server.log_text());
        assert_eq!(resp.text(), want);
    }

    let bad = python(&["-c", "pass"], &[("PYTHONHASHSEED", "abc")]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("PYTHONHASHSEED must be \"random\" or an integer"),
        "{}",
        stderr(&bad)
    );
}
