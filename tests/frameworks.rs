//! Real framework apps (apps/<framework>/) served by rwsgi over HTTP, with their pinned
//! dependencies installed by apps/vendor.py (run once here when a vendor directory is
//! missing, which needs python3 with pip and network access to PyPI); `rwsgi python` running
//! scripts and Django's manage.py; and the compatibility fixes of src/python/patch/.
//!
//! Every app answers the same guestbook routes, so one check covers each: a rendered and
//! escaped template, JSON values, a urlencoded POST that redirects and is then listed, a
//! multipart upload echoed byte for byte, a cookie or session counter, a redirect's Location,
//! and the app's own 404 and 500 pages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use crate::common::{
    Response, Server, TempDir, bin, fixture, parse_one, python, python_in, repo, stderr, stdout,
};

/// Every app directory with a requirements.txt (apps/postgres and apps/services are the
/// service apps of tests/services.rs).
const FRAMEWORKS: [&str; 10] = [
    "bottle",
    "django",
    "falcon",
    "flask",
    "flask_ext",
    "postgres",
    "pyramid",
    "services",
    "sqlalchemy",
    "webapp2",
];

/// Install every missing or stale apps/<framework>/vendor once per test run, whichever test
/// gets here first; the others wait on the lock and share the outcome. A vendor directory is
/// stale when the copy of requirements.txt that apps/vendor.py leaves in it differs.
pub(crate) fn vendor(framework: &str) -> PathBuf {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    static LOCK: Mutex<()> = Mutex::new(());
    let apps = repo().join("apps");
    let outcome = INSTALLED.get_or_init(|| {
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let missing: Vec<&str> = FRAMEWORKS
            .iter()
            .copied()
            .filter(|f| {
                let installed = std::fs::read(apps.join(f).join("vendor/.requirements.txt"));
                let wanted = std::fs::read(apps.join(f).join("requirements.txt"));
                !matches!((installed, wanted), (Ok(a), Ok(b)) if a == b)
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let out = Command::new("python3")
            .arg(apps.join("vendor.py"))
            .args(&missing)
            .output()
            .map_err(|e| format!("cannot run python3 apps/vendor.py: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "python3 apps/vendor.py {} failed ({}):\n{}{}",
                missing.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    });
    if let Err(e) = outcome {
        panic!("the framework apps' dependencies could not be installed: {e}");
    }
    apps.join(framework).join("vendor")
}

fn app_dir(framework: &str) -> PathBuf {
    repo().join("apps").join(framework)
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A tiny HTTP client over `Server::raw` that keeps cookies, as a browser would.
struct Client<'a> {
    server: &'a Server,
    cookies: Vec<(String, String)>,
}

impl<'a> Client<'a> {
    fn new(server: &'a Server) -> Self {
        Self {
            server,
            cookies: Vec::new(),
        }
    }

    fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn request(&mut self, method: &str, target: &str, extra: &str, body: &[u8]) -> Response {
        let mut head =
            format!("{method} {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{extra}");
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            head.push_str(&format!("Cookie: {}\r\n", jar.join("; ")));
        }
        if !body.is_empty() || method == "POST" {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut raw = head.into_bytes();
        raw.extend_from_slice(body);
        let resp = parse_one(&self.server.raw(&raw));
        for (name, value) in &resp.headers {
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = value.split(';').next().unwrap_or_default().trim();
            if let Some((n, v)) = pair.split_once('=') {
                // Sent back exactly as received (Bottle's signed values are quoted).
                self.cookies.retain(|(old, _)| old != n);
                self.cookies.push((n.to_owned(), v.to_owned()));
            }
        }
        resp
    }

    fn get(&mut self, target: &str) -> Response {
        self.request("GET", target, "", b"")
    }

    fn post_form(&mut self, target: &str, fields: &[(&str, &str)]) -> Response {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect();
        self.request(
            "POST",
            target,
            "Content-Type: application/x-www-form-urlencoded\r\n",
            body.join("&").as_bytes(),
        )
    }

    fn post_file(
        &mut self,
        target: &str,
        fields: &[(&str, &str)],
        filename: &str,
        data: &[u8],
    ) -> Response {
        const BOUNDARY: &str = "rwsgi-test-boundary-7f3a";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        self.request(
            "POST",
            target,
            &format!("Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"),
            &body,
        )
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Django's CSRF token from a form page, if the page has one.
fn csrf_token(page: &Response) -> Option<String> {
    hidden_value(page, "csrfmiddlewaretoken")
}

/// The value of the hidden form field `name` (`name="NAME" ... value="..."`), if the page has it.
fn hidden_value(page: &Response, name: &str) -> Option<String> {
    let text = page.text();
    let field = &text[text.find(&format!("name=\"{name}\""))?..];
    let rest = &field[field.find("value=\"")? + "value=\"".len()..];
    rest.split('"').next().map(str::to_owned)
}

fn with_csrf<'f>(
    token: &'f Option<String>,
    fields: &[(&'f str, &'f str)],
) -> Vec<(&'f str, &'f str)> {
    let mut all = fields.to_vec();
    if let Some(token) = token {
        all.push(("csrfmiddlewaretoken", token.as_str()));
    }
    all
}

fn assert_redirect(resp: &Response, to: &str) {
    assert!(
        [301, 302, 303].contains(&resp.status),
        "expected a redirect to {to}, got {} {:?}",
        resp.status,
        resp.text()
    );
    let location = resp.header("location").unwrap_or_default();
    assert!(
        location.ends_with(to),
        "Location {location:?} does not end with {to:?}"
    );
}

/// The guestbook contract every example app answers.
pub(crate) fn check_guestbook(server: &Server, framework: &str, title: &str) {
    let mut client = Client::new(server);
    let context = |what: &str| format!("{framework}: {what}\n{}", server.log_text());

    let page = client.get("/");
    assert_eq!(page.status, 200, "{}", context("GET /"));
    let text = page.text();
    assert!(
        text.contains(&format!("<h1>{title} guestbook</h1>")),
        "{text}"
    );
    assert!(text.contains("no entries yet"), "{text}");
    let token = csrf_token(&page);

    // Template rendering with a route parameter, HTML-escaped.
    let hello = client.get("/hello/%3Cb%3Eworld");
    assert_eq!(hello.status, 200, "{}", context("hello"));
    assert!(
        hello.text().contains("Hello, &lt;b&gt;world!"),
        "{}",
        hello.text()
    );

    // JSON from a typed route parameter.
    let item = client.get("/api/items/7");
    assert_eq!(item.status, 200, "{}", context("item"));
    assert!(
        item.header("content-type")
            .unwrap_or_default()
            .starts_with("application/json"),
        "{:?}",
        item.headers
    );
    let json = item.json();
    assert_eq!(json["id"], 7);
    assert_eq!(json["name"], "item 7");
    assert_eq!(json["framework"], framework);
    assert_eq!(json["tags"], serde_json::json!(["a", "b"]));
    assert_eq!(client.get("/api/items/500").status, 404);

    // A urlencoded form POST that redirects (post/redirect/get), then shows the entry.
    let signed = client.post_form(
        "/sign",
        &with_csrf(&token, &[("content", "Hi & <bye> ünï")]),
    );
    assert_redirect(&signed, "/");
    let page = client.get("/");
    assert!(
        page.text()
            .contains("<li class=\"entry\">Hi &amp; &lt;bye&gt; ünï</li>"),
        "{}",
        page.text()
    );

    // A multipart upload, echoed byte for byte (every byte value, and a fake boundary).
    let mut data: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    data.extend_from_slice(b"\r\n--rwsgi-test-boundary\r\n");
    let fields = with_csrf(&token, &[]);
    let upload = client.post_file("/upload", &fields, "data.bin", &data);
    assert_eq!(upload.status, 200, "{}", context("upload"));
    assert_eq!(upload.header("x-filename"), Some("data.bin"));
    assert!(upload.body == data, "{}", context("upload body differs"));

    // A cookie (or cookie-backed session) counter.
    assert_eq!(client.get("/visit").json()["visits"], 1);
    assert_eq!(client.get("/visit").json()["visits"], 2);

    assert_redirect(&client.get("/old"), "/hello/old");

    let missing = client.get("/missing");
    assert_eq!(missing.status, 404);
    assert!(
        missing.text().contains("custom 404: nothing at /missing"),
        "{}",
        missing.text()
    );

    let boom = client.get("/boom");
    assert_eq!(boom.status, 500);
    assert!(
        boom.text().contains("custom 500: something broke"),
        "{}",
        boom.text()
    );
}

fn serve(framework: &str, app: &str) -> Server {
    let vendor = path_str(&vendor(framework));
    let app = path_str(&app_dir(framework).join(app));
    Server::start(&[&app, "--pythonpath", &vendor])
}

#[test]
fn flask_guestbook() {
    let server = serve("flask", "app.py:app");
    check_guestbook(&server, "flask", "Flask");
}

#[test]
fn bottle_guestbook() {
    let server = serve("bottle", "app.py");
    check_guestbook(&server, "bottle", "Bottle");
}

#[test]
fn falcon_guestbook() {
    let server = serve("falcon", "app.py");
    check_guestbook(&server, "falcon", "Falcon");
}

#[test]
fn falcon_is_the_pure_python_build() {
    let vendor = vendor("falcon");
    let out = python(
        &[
            "--pythonpath",
            &path_str(&vendor),
            "-c",
            "import falcon; print(falcon.__version__, falcon.util.misc.__file__.endswith('.py'))",
        ],
        &[],
    );
    assert_eq!(stdout(&out).trim(), "4.4.0 True", "{}", stderr(&out));
}

#[test]
fn pyramid_guestbook() {
    let server = serve("pyramid", "app.py");
    check_guestbook(&server, "pyramid", "Pyramid");
}

#[test]
fn webapp2_guestbook() {
    let server = serve("webapp2", "main.py:app");
    check_guestbook(&server, "webapp2", "webapp2");
    // The App Engine tutorial's own route.
    let mut client = Client::new(&server);
    assert_redirect(
        &client.post_form("/newentry", &[("content", "from newentry")]),
        "/",
    );
    assert!(client.get("/").text().contains("from newentry"));
}

// ---- rwsgi python ----

#[test]
fn python_script_argv_path_and_exit_code() {
    let dir = TempDir::new("pyscript");
    let lib = dir.path().join("lib");
    std::fs::create_dir_all(&lib).expect("lib dir");
    std::fs::write(lib.join("helper.py"), "VALUE = 'from lib'\n").expect("write helper");
    let script = dir.path().join("script.py");
    std::fs::write(
        &script,
        "import sys, helper\n\
         print('argv', sys.argv[1:])\n\
         print('first', sys.path[0])\n\
         print(helper.VALUE, __name__)\n\
         sys.exit(int(sys.argv[1]))\n",
    )
    .expect("write script");
    let out = python(
        &[
            "--pythonpath",
            &path_str(&lib),
            &path_str(&script),
            "7",
            "--flag",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("argv ['7', '--flag']"), "{text}");
    let canonical = std::fs::canonicalize(dir.path()).expect("canonical");
    assert!(
        text.contains(&format!("first {}", canonical.display())),
        "{text}"
    );
    assert!(text.contains("from lib __main__"), "{text}");
}

#[test]
fn python_c_flushes_stdout_and_reports_errors() {
    // Buffered output reaches a pipe even when the process exits right after.
    let out = python(&["-c", "print('x' * 10000, end='')\nprint('!')", "a"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).len(), 10002);

    let out = python(&["-c", "import sys; print(sys.argv)", "a", "-b"], &[]);
    assert_eq!(stdout(&out).trim(), "['-c', 'a', '-b']");

    // An uncaught exception: traceback on stderr starting at the code, status 1.
    let out = python(
        &[
            "-c",
            "print('before')\ndef f():\n    raise KeyError('k')\nf()",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out).trim(), "before");
    let err = stderr(&out);
    assert!(
        err.starts_with("Traceback (most recent call last):"),
        "{err}"
    );
    assert!(err.contains("File \"<string>\", line 4"), "{err}");
    assert!(err.trim_end().ends_with("KeyError: 'k'"), "{err}");
    assert!(!err.contains("rwsgi._script"), "{err}");

    // SystemExit with a message: printed to stderr, status 1.
    let out = python(&["-c", "raise SystemExit('bye')"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).trim(), "bye");

    let out = python(&["-c", "print(1/0"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("SyntaxError"), "{}", stderr(&out));

    let out = python(&["/nonexistent/script.py"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("can't open file"), "{}", stderr(&out));
}

// ---- compatibility fixes (src/python/patch/) ----

fn assert_probe(json: &serde_json::Value) {
    for key in [
        "sqlite_select_1",
        "sqlite_count",
        "sqlite_colnames",
        "inspect_stack",
        "slots_dict_property",
        "property_subclass_get",
        "class_cell_super",
        "match_groups_default",
    ] {
        assert_eq!(json[key], true, "{key}: {json}");
    }
    if Path::new("/usr/share/zoneinfo").is_dir() {
        assert_eq!(json["zoneinfo_chicago"], true, "{json}");
    }
}

/// Each gap: sqlite3 PARSE_DECLTYPES on untyped columns, empty zoneinfo.TZPATH, missing
/// sys.modules['__main__'], `__dict__` in __slots__ beside a property; inside a served app.
#[test]
fn compat_fixes_in_served_app() {
    let server = Server::start(&[&fixture("compat_probe.py")]);
    let resp = server.get("/");
    assert_eq!(resp.status, 200, "{}", server.log_text());
    assert_probe(&resp.json());
}

/// The same fixes under `rwsgi python`.
#[test]
fn compat_fixes_in_python_script() {
    let out = python(&[&fixture("compat_probe.py")], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(&out)));
    assert_probe(&json);
}

// ---- Django ----

#[test]
fn django_manage_py_guestbook_and_admin() {
    let tmp = TempDir::new("django");
    let db = path_str(&tmp.path().join("db.sqlite3"));
    django_guestbook_and_admin(&tmp, &[("GUESTBOOK_DB", db.as_str())], 1);
    assert!(Path::new(&db).is_file(), "the database is in the temp dir");
}

/// The Django project in apps/django end to end on the database `db_env` selects: migrate,
/// createsuperuser and collectstatic through `rwsgi python manage.py`, then served by
/// `rwsgi run --workers N`: the guestbook contract, the ORM's typed values, and the admin (log
/// in, add an entry with 4-byte UTF-8 in it, see it listed). Static files go under `tmp`.
pub(crate) fn django_guestbook_and_admin(tmp: &TempDir, db_env: &[(&str, &str)], workers: usize) {
    let vendor = path_str(&vendor("django"));
    let project = app_dir("django");
    let static_root = path_str(&tmp.path().join("static"));
    let mut env = vec![
        ("GUESTBOOK_STATIC", static_root.as_str()),
        ("DJANGO_SUPERUSER_PASSWORD", "correct-horse-battery"),
    ];
    env.extend_from_slice(db_env);
    let manage = |args: &[&str]| -> Output {
        let mut all = vec!["--pythonpath", vendor.as_str(), "manage.py"];
        all.extend_from_slice(args);
        python_in(Some(&project), &all, &env)
    };

    let out = manage(&["migrate", "--noinput"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("Applying guestbook.0001_initial... OK"),
        "{}",
        stdout(&out)
    );

    let out = manage(&[
        "createsuperuser",
        "--noinput",
        "--username",
        "admin",
        "--email",
        "admin@example.com",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Superuser created successfully."));

    let out = manage(&["collectstatic", "--noinput"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(Path::new(&static_root).join("admin/css/base.css").is_file());

    // A management command that fails says why and exits 1.
    let out = manage(&["no_such_command"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("Unknown command"), "{}", stderr(&out));

    let mut cmd = Command::new(bin());
    cmd.current_dir(&project);
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let workers = workers.to_string();
    let server = Server::start_with(
        cmd,
        &[
            "mysite/wsgi.py",
            "--pythonpath",
            ".",
            "--pythonpath",
            &vendor,
            "--workers",
            &workers,
        ],
    );
    check_guestbook(&server, "django", "Django");

    // The ORM's typed values survive the sqlite3 PARSE_DECLTYPES fix.
    let mut client = Client::new(&server);
    let entries = client.get("/api/entries").json();
    assert_eq!(entries["count"], 1, "{entries}");
    let first = &entries["entries"][0];
    assert_eq!(first["content"], "Hi & <bye> ünï");
    assert_eq!(first["created_type"], "datetime");
    assert_eq!(first["aware"], true);
    assert_eq!(first["approved"], true);
    assert_eq!(first["rating"], "4.5");
    assert_eq!(first["rating_type"], "Decimal");

    // The admin: log in with the CSRF token and session cookie, add an entry, see it listed.
    let login = client.get("/admin/login/?next=/admin/");
    assert_eq!(login.status, 200, "{}", server.log_text());
    assert!(login.text().contains("Log in | Django site admin"));
    let token = csrf_token(&login).expect("login form has a CSRF token");
    assert!(client.cookie("csrftoken").is_some(), "{:?}", login.headers);
    let logged_in = client.post_form(
        "/admin/login/?next=/admin/",
        &[
            ("csrfmiddlewaretoken", &token),
            ("username", "admin"),
            ("password", "correct-horse-battery"),
            ("next", "/admin/"),
        ],
    );
    assert_redirect(&logged_in, "/admin/");
    assert!(client.cookie("sessionid").is_some());
    let index = client.get("/admin/");
    assert_eq!(index.status, 200, "{}", server.log_text());
    assert!(
        index.text().contains("Site administration"),
        "{}",
        index.text()
    );

    let add = client.get("/admin/guestbook/entry/add/");
    assert_eq!(add.status, 200, "{}", server.log_text());
    let token = csrf_token(&add).expect("add form has a CSRF token");
    let added = client.post_form(
        "/admin/guestbook/entry/add/",
        &[
            ("csrfmiddlewaretoken", &token),
            ("content", "Added through the admin 🎉 漢字"),
            ("approved", "on"),
            ("rating", "3.5"),
            ("_save", "Save"),
        ],
    );
    assert_redirect(&added, "/admin/guestbook/entry/");
    let list = client.get("/admin/guestbook/entry/");
    assert_eq!(list.status, 200, "{}", server.log_text());
    let text = list.text();
    assert!(text.contains("Added through the admin 🎉 漢字"), "{text}");
    assert!(text.contains("was added successfully"), "{text}");
    // The changelist's date filter and column touch America/Chicago (zoneinfo fix).
    assert!(text.contains("Hi &amp; &lt;bye&gt; ünï"), "{text}");
    assert_eq!(client.get("/api/entries").json()["count"], 2);

    // A form's errors as JSON: each is an ErrorList (a UserList and a list), which the JSON
    // encoder must read through its iterator (it answered `{"content": []}`).
    let token = csrf_token(&client.get("/")).expect("the index has a CSRF token");
    let refused = client.post_form(
        "/api/sign",
        &[("csrfmiddlewaretoken", &token), ("content", "")],
    );
    assert_eq!(refused.status, 400, "{}", server.log_text());
    assert_eq!(
        refused.json(),
        serde_json::json!({"content": ["This field is required."]})
    );

    // The public page lists the admin's entry too.
    assert!(
        client
            .get("/")
            .text()
            .contains("Added through the admin 🎉 漢字")
    );

    check_rest_api(&server, &mut client);
}

/// The guestbook's Django REST framework API (apps/django/guestbook/api.py): paginated and
/// searchable lists for anyone, writes only with the admin's session and CSRF token, the
/// serializer's validation, the browsable HTML API. `client` is logged in; two entries exist.
fn check_rest_api(server: &Server, client: &mut Client) {
    let mut anonymous = Client::new(server);
    let list = anonymous.get("/rest/entries/?ordering=-rating");
    assert_eq!(list.status, 200, "{}", server.log_text());
    let json = list.json();
    assert_eq!(json["count"], 2, "{json}");
    assert_eq!(json["results"][0]["rating"], "4.5", "{json}");
    assert_eq!(
        json["results"][1]["content"],
        "Added through the admin 🎉 漢字"
    );
    assert_eq!(
        json["results"][1]["shout"],
        "ADDED THROUGH THE ADMIN 🎉 漢字"
    );
    let search = anonymous.get("/rest/entries/?search=%C3%BCn%C3%AF").json();
    assert_eq!(search["count"], 1, "{search}");
    let json_post = |client: &mut Client, body: &str| {
        let csrf = client.cookie("csrftoken").unwrap_or_default().to_owned();
        client.request(
            "POST",
            "/rest/entries/",
            &format!(
                "Content-Type: application/json\r\nX-CSRFToken: {csrf}\r\nReferer: http://test/\r\n"
            ),
            body.as_bytes(),
        )
    };
    let refused = json_post(&mut anonymous, r#"{"content": "anon"}"#);
    assert_eq!(refused.status, 403, "{}", refused.text());
    let created = json_post(client, r#"{"content": "Via REST ✓", "rating": "2.5"}"#);
    assert_eq!(
        created.status,
        201,
        "{} {}",
        created.text(),
        server.log_text()
    );
    let entry = created.json();
    assert_eq!(entry["content"], "Via REST ✓", "{entry}");
    assert_eq!(entry["rating"], "2.5");
    assert!(
        entry["created"].as_str().is_some_and(|c| c.contains('T')),
        "{entry}"
    );
    let invalid = json_post(client, r#"{"content": "  ", "rating": "abc"}"#);
    assert_eq!(invalid.status, 400, "{}", invalid.text());
    assert_eq!(
        invalid.json(),
        serde_json::json!({"content": ["This field may not be blank."], "rating": ["A valid number is required."]})
    );
    let html = anonymous.request("GET", "/rest/entries/", "Accept: text/html\r\n", b"");
    assert_eq!(html.status, 200, "{}", server.log_text());
    assert!(
        html.text().contains("Django REST framework"),
        "{}",
        html.text()
    );
    assert!(html.text().contains("Via REST ✓"), "{}", html.text());
    assert_eq!(anonymous.get("/api/entries").json()["count"], 3);
}

/// Flask with Flask-SQLAlchemy, Flask-Migrate, Flask-Login and Flask-WTF (apps/flask_ext):
/// Alembic's `db init`, `db migrate` (autogenerate, a script rendered by Mako) and `db upgrade`
/// through `rwsgi python -m flask`, then served by two workers: a WTForms form with its CSRF
/// token and validators, a login session across workers, Decimal prices through SQLAlchemy.
#[test]
fn flask_extensions_migrations_login_and_forms() {
    let vendor = path_str(&vendor("flask_ext"));
    let app = path_str(&app_dir("flask_ext").join("app.py"));
    let tmp = TempDir::new("flask-ext");
    let db = path_str(&tmp.path().join("app.db"));
    let migrations = path_str(&tmp.path().join("migrations"));
    let env = [("FLASK_EXT_DB", db.as_str())];
    // `rwsgi python -m flask --app APP db ARGS -d MIGRATIONS`: succeeds; what it printed.
    let flask_db = |args: &[&str]| -> String {
        let mut all = vec![
            "--pythonpath",
            vendor.as_str(),
            "-m",
            "flask",
            "--app",
            app.as_str(),
            "db",
        ];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-d", migrations.as_str()]);
        let out = python_in(Some(tmp.path()), &all, &env);
        let said = format!("{}{}", stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(0), "{said}");
        said
    };
    flask_db(&["init"]);
    let said = flask_db(&["migrate", "-m", "users and items"]);
    assert!(said.contains("Detected added table 'item'"), "{said}");
    let said = flask_db(&["upgrade"]);
    assert!(said.contains("users and items"), "{said}");

    let mut cmd = Command::new(bin());
    cmd.env("FLASK_EXT_DB", &db);
    let server = Server::start_with(
        cmd,
        &[
            &format!("{app}:app"),
            "--pythonpath",
            &vendor,
            "--workers",
            "2",
        ],
    );
    let mut client = Client::new(&server);
    assert_redirect(&client.get("/items"), "/signup?next=%2Fitems");
    let page = client.get("/signup");
    assert_eq!(page.status, 200, "{}", server.log_text());
    let token = hidden_value(&page, "csrf_token").expect("the form has a CSRF token");
    let bad = client.post_form(
        "/signup",
        &[
            ("csrf_token", &token),
            ("email", "not-an-email"),
            ("password", "short"),
        ],
    );
    assert_eq!(bad.status, 400, "{}", server.log_text());
    assert!(
        bad.text().contains("Invalid email address."),
        "{}",
        bad.text()
    );
    assert!(
        bad.text().contains("at least 8 characters"),
        "{}",
        bad.text()
    );
    let signed_up = client.post_form(
        "/signup",
        &[
            ("csrf_token", &token),
            ("email", "ada@example.com"),
            ("password", "correct-horse"),
        ],
    );
    assert_redirect(&signed_up, "/items");
    for (name, price) in [("Café ☕", "12.5"), ("Tea", "3")] {
        let added = client.post_form(
            "/items",
            &[("csrf_token", &token), ("name", name), ("price", price)],
        );
        assert_redirect(&added, "/items");
    }
    let refused = client.post_form("/items", &[("name", "x"), ("price", "-1")]);
    assert_eq!(refused.status, 400, "{}", refused.text());
    let errors = &refused.json()["errors"];
    assert_eq!(
        errors["csrf_token"][0], "The CSRF token is missing.",
        "{errors}"
    );
    assert_eq!(errors["price"][0], "Number must be at least 0.", "{errors}");
    // Several requests: the session is honoured by both workers.
    for _ in 0..4 {
        let listed = client.get("/items");
        assert_eq!(listed.status, 200, "{}", server.log_text());
        assert_eq!(
            listed.json(),
            serde_json::json!({"user": "ada@example.com", "errors": {},
                "items": [{"name": "Café ☕", "price": "12.50"}, {"name": "Tea", "price": "3.00"}]})
        );
    }
    assert_redirect(&client.get("/logout"), "/signup");
    assert_redirect(&client.get("/items"), "/signup?next=%2Fitems");
    let mut other = Client::new(&server);
    let signin = other.post_form(
        "/signin",
        &[("email", "ada@example.com"), ("password", "nope")],
    );
    assert_eq!(signin.status, 401);
}
