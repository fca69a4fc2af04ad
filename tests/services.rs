//! Real services around the app, tested against the real servers: PostgreSQL, MariaDB and
//! Redis from Debian's packages (each started by the test as its own process, on a free
//! loopback port and a private data directory, and stopped by pid), a local TLS server with a
//! CA made for the test, and an SMTP sink. The apps reach them through pure-Python drivers
//! (pg8000 under SQLAlchemy, PyMySQL under Django, redis-py, urllib.request, requests,
//! smtplib) and are served by `rwsgi run --workers 2`. tests/run installs the servers.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::{
    Response, Server, TempDir, bin, eventually, fixture, free_port, parse_one, program,
};
use crate::frameworks::{django_guestbook_and_admin, vendor};

/// How long a database server may take to initialise and start.
const SERVICE_START: Duration = Duration::from_secs(60);

/// A server process of ours, logging to a file; stopped by pid (`stop_signal`, then KILL)
/// when dropped, before its data directory goes.
struct Service {
    name: &'static str,
    child: Child,
    log: PathBuf,
    port: u16,
    stop_signal: &'static str,
    dir: TempDir,
}

impl Service {
    fn spawn(name: &'static str, mut cmd: Command, dir: TempDir, port: u16) -> Self {
        let log = dir.path().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("service log");
        let err = file.try_clone().expect("service log");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self {
            name,
            child,
            log,
            port,
            stop_signal: "TERM",
            dir,
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait for the server's own "ready" line in its log.
    fn wait_log(&mut self, needle: &str) {
        let deadline = Instant::now() + SERVICE_START;
        while !self.log_text().contains(needle) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}):\n{}", self.name, self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "{} did not log {needle:?}:\n{}",
                self.name,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill")
            .args([&format!("-{}", self.stop_signal), &pid])
            .status();
        let stopped = eventually(Duration::from_secs(15), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        });
        if !stopped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whether this process runs as root (PostgreSQL refuses to; MariaDB needs `--user=root`).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// The uid and gid of a system user, from /etc/passwd.
fn system_user(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("read_dir").flatten() {
            chown_tree(&entry.path(), uid, gid);
        }
    }
}

fn run_ok(mut cmd: Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---- PostgreSQL ----

/// A PostgreSQL server that accepts TLS connections only (a certificate from the test's CA,
/// `ca.pem` in its directory) with password (scram-sha-256) authentication for user `app`,
/// password `secret`, in UTC. As root it runs as the `postgres` system user the package
/// creates.
fn postgres() -> Service {
    let dir = TempDir::new("postgres");
    crate::tls::certificates(dir.path());
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    versions.sort();
    let bin_dir = versions.pop().unwrap_or_default();
    let initdb = program("initdb", "postgresql", &[bin_dir.join("initdb")]);
    let server = program("postgres", "postgresql", &[bin_dir.join("postgres")]);
    let password = dir.path().join("password");
    std::fs::write(&password, "secret\n").expect("password file");
    let owner = running_as_root().then(|| {
        system_user("postgres").expect("running as root, this test needs the postgres user")
    });
    if let Some((uid, gid)) = owner {
        chown_tree(dir.path(), uid, gid);
    }
    let as_owner = |program: &Path| {
        let mut cmd = Command::new(program);
        if let Some((uid, gid)) = owner {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid);
        }
        cmd
    };
    let data = dir.path().join("data");
    let mut init = as_owner(&initdb);
    init.arg("-D")
        .arg(&data)
        .args(["-U", "app", "--auth=scram-sha-256", "-E", "UTF8"])
        .args(["--locale=C.UTF-8", "--no-sync"])
        .arg(format!("--pwfile={}", password.display()));
    run_ok(init, "initdb");
    // TLS only, as managed PostgreSQL services require: plain TCP connections are refused.
    std::fs::write(
        data.join("pg_hba.conf"),
        "local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
    )
    .expect("pg_hba.conf");
    let key = dir.path().join("server.key");
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("key mode");
    if let Some((uid, gid)) = owner {
        chown_tree(dir.path(), uid, gid);
    }
    let port = free_port();
    let mut cmd = as_owner(&server);
    cmd.arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-k"])
        .arg(dir.path())
        .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
        .args([
            "-c",
            "timezone=UTC",
            "-c",
            "max_connections=40",
            "-c",
            "ssl=on",
        ])
        .arg(format!(
            "--ssl_cert_file={}",
            dir.path().join("server.pem").display()
        ))
        .arg(format!("--ssl_key_file={}", key.display()));
    let mut service = Service::spawn("postgres", cmd, dir, port);
    // SIGINT is PostgreSQL's fast shutdown (TERM waits for the clients to leave).
    service.stop_signal = "INT";
    service.wait_log("database system is ready to accept connections");
    service
}

/// One request on its own connection, with a JSON body.
fn json_request(server: &Server, method: &str, target: &str, body: &str) -> Response {
    request_with(
        server,
        method,
        target,
        "Content-Type: application/json\r\n",
        body,
    )
}

/// One request on its own connection, with `body` (possibly empty).
fn request(server: &Server, method: &str, target: &str, body: &str) -> Response {
    request_with(server, method, target, "", body)
}

fn request_with(server: &Server, method: &str, target: &str, extra: &str, body: &str) -> Response {
    let raw = format!(
        "{method} {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{extra}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    parse_one(&server.raw(raw.as_bytes()))
}

/// `clients` threads each calling `one(client, i)` `each` times; every result, in no order.
fn from_clients<T: Send>(
    clients: usize,
    each: usize,
    one: impl Fn(usize, usize) -> T + Sync,
) -> Vec<T> {
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..clients)
            .map(|c| {
                let one = &one;
                scope.spawn(move || (0..each).map(|i| one(c, i)).collect::<Vec<T>>())
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().expect("client thread"))
            .collect()
    })
}

#[test]
fn flask_sqlalchemy_pg8000_on_postgresql() {
    let db = postgres();
    let vendor = vendor("postgres").to_string_lossy().into_owned();
    let app = crate::common::repo().join("apps/postgres/app.py");
    let url = format!(
        "postgresql+pg8000://app:secret@127.0.0.1:{}/postgres",
        db.port
    );
    let ca = db.dir.path().join("ca.pem").to_string_lossy().into_owned();

    // The tables, as a migration would make them before the workers start.
    let init = Command::new(bin())
        .args(["python", "--pythonpath", &vendor])
        .arg(&app)
        .arg("init")
        .env("DATABASE_URL", &url)
        .env("DATABASE_CA", &ca)
        .output()
        .expect("rwsgi python app.py init");
    assert!(
        init.status.success() && String::from_utf8_lossy(&init.stdout).contains("tables created"),
        "{}{}",
        String::from_utf8_lossy(&init.stdout),
        String::from_utf8_lossy(&init.stderr)
    );

    let mut cmd = Command::new(bin());
    cmd.env("DATABASE_URL", &url).env("DATABASE_CA", &ca);
    let target = format!("{}:app", app.display());
    let server = Server::start_with(cmd, &[&target, "--pythonpath", &vendor, "--workers", "2"]);
    let context = |what: &str| format!("{what}\n{}\n{}", server.log_text(), db.log_text());

    // The connection is TLS (the server accepts nothing else), verified with the test's CA.
    let info = server.get("/db");
    assert_eq!(info.status, 200, "{}", context(&info.text()));
    let info = info.json();
    assert!(
        info["tls"]
            .as_str()
            .unwrap_or_default()
            .starts_with("TLSv1."),
        "{info}"
    );
    assert!(
        info["version"]
            .as_str()
            .unwrap_or_default()
            .starts_with("PostgreSQL "),
        "{info}"
    );

    // A customer and its first order in one transaction; unicode in and out.
    let name = "Zoë 🎉 漢字";
    let created = json_request(
        &server,
        "POST",
        "/customers",
        &serde_json::json!({"name": name, "orders": [
            {"amount": "12.50", "note": "première ✓", "at": "2024-03-01T10:00:00+05:30"}
        ]})
        .to_string(),
    );
    assert_eq!(created.status, 201, "{}", context(&created.text()));
    assert_eq!(created.json()["name"], name);

    // The same name again: the unique constraint's IntegrityError, rolled back, 409.
    let again = json_request(
        &server,
        "POST",
        "/customers",
        &serde_json::json!({"name": name}).to_string(),
    );
    assert_eq!(again.status, 409, "{}", context(&again.text()));

    // A customer whose second order is invalid: nothing of it is kept.
    let bad = json_request(
        &server,
        "POST",
        "/customers",
        &serde_json::json!({"name": "bob", "orders": [{"amount": "1"}, {"amount": "x"}]})
            .to_string(),
    );
    assert_eq!(bad.status, 400, "{}", context(&bad.text()));

    // NUMERIC and timestamptz round trips: microseconds and the offset, normalised to UTC.
    let order = json_request(
        &server,
        "POST",
        "/orders",
        &serde_json::json!({"customer": name, "amount": "0.10",
            "at": "2024-12-31T23:59:59.123456-08:00"})
        .to_string(),
    );
    assert_eq!(order.status, 201, "{}", context(&order.text()));
    let orders = server.get("/orders");
    assert_eq!(orders.status, 200, "{}", context(&orders.text()));
    assert_eq!(
        orders.json(),
        serde_json::json!([
            {"id": 1, "customer": name, "amount": "12.50", "note": "première ✓",
             "at": "2024-03-01T04:30:00+00:00"},
            {"id": 2, "customer": name, "amount": "0.10", "note": "",
             "at": "2025-01-01T07:59:59.123456+00:00"},
        ])
    );

    // Concurrent writes from several clients across both workers: every row accounted for.
    let created = json_request(
        &server,
        "POST",
        "/customers",
        &serde_json::json!({"name": "busy"}).to_string(),
    );
    assert_eq!(created.status, 201, "{}", context(&created.text()));
    const CLIENTS: usize = 6;
    const EACH: usize = 50;
    let statuses = from_clients(CLIENTS, EACH, |c, i| {
        let body = serde_json::json!({"customer": "busy", "amount": "1.01",
            "note": format!("{c}-{i}")});
        json_request(&server, "POST", "/orders", &body.to_string()).status
    });
    let failed = statuses.iter().filter(|s| **s != 201).count();
    assert_eq!(failed, 0, "{statuses:?}\n{}", context("concurrent writes"));
    let stats = server.get("/stats").json();
    assert_eq!(
        stats,
        serde_json::json!({
            "busy": {"orders": CLIENTS * EACH, "total": "303.00"},
            name: {"orders": 2, "total": "12.60"},
        }),
        "{}",
        context("stats")
    );
    assert!(
        !server.log_text().contains("Traceback"),
        "{}",
        server.log_text()
    );
}

// ---- MariaDB ----

/// A MariaDB server with a database `guestbook` (utf8mb4) and a user `app` / `secret` that may
/// connect over TCP from 127.0.0.1.
fn mariadb() -> Service {
    let dir = TempDir::new("mariadb");
    let install = program("mariadb-install-db", "mariadb-server", &[]);
    let server = program("mariadbd", "mariadb-server", &[]);
    let client = program("mariadb", "mariadb-client", &[]);
    let data = dir.path().join("data");
    let socket = dir.path().join("sock");
    let as_root = running_as_root();
    let mut init = Command::new(install);
    init.args(["--no-defaults", "--auth-root-authentication-method=normal"])
        .arg(format!("--datadir={}", data.display()));
    if as_root {
        init.arg("--user=root");
    }
    run_ok(init, "mariadb-install-db");
    let port = free_port();
    let mut cmd = Command::new(server);
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--pid-file={}", dir.path().join("pid").display()))
        .args([&format!("--port={port}"), "--bind-address=127.0.0.1"])
        .args(["--skip-log-bin", "--innodb-flush-log-at-trx-commit=0"]);
    if as_root {
        cmd.arg("--user=root");
    }
    let mut service = Service::spawn("mariadb", cmd, dir, port);
    service.wait_log("ready for connections");
    let mut setup = Command::new(client);
    setup
        .args(["--no-defaults", "-uroot"])
        .arg(format!("--socket={}", socket.display()))
        .arg("-e")
        .arg(
            "CREATE DATABASE guestbook CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; \
             CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'secret'; \
             GRANT ALL ON *.* TO 'app'@'127.0.0.1';",
        );
    run_ok(setup, "creating the guestbook database");
    service
}

#[test]
fn django_pymysql_on_mariadb() {
    let db = mariadb();
    let url = format!("mysql://app:secret@127.0.0.1:{}/guestbook", db.port);
    let tmp = TempDir::new("django-mariadb");
    django_guestbook_and_admin(&tmp, &[("GUESTBOOK_MYSQL_URL", url.as_str())], 2);
    // The rows really are in MariaDB, the emoji as 4 bytes: read back by MariaDB's own client.
    let out = Command::new(program("mariadb", "mariadb-client", &[]))
        .args(["--no-defaults", "-uroot", "-N", "-B"])
        .arg("--default-character-set=utf8mb4")
        .arg(format!("--socket={}", db.dir.path().join("sock").display()))
        .args([
            "-e",
            "SELECT content FROM guestbook.guestbook_entry ORDER BY id",
        ])
        .output()
        .expect("mariadb client");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hi & <bye> ünï\nAdded through the admin 🎉 漢字\nVia REST ✓\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---- Redis, outbound HTTPS and SMTP (apps/services) ----

fn redis() -> Service {
    let dir = TempDir::new("redis");
    let port = free_port();
    let mut cmd = Command::new(program("redis-server", "redis-server", &[]));
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--dir"])
        .arg(dir.path());
    let mut service = Service::spawn("redis", cmd, dir, port);
    service.wait_log("Ready to accept connections");
    service
}

/// apps/services served by two workers, with `env` (REDIS_URL, SMTP_PORT) set.
fn services_app(env: &[(&str, String)]) -> Server {
    let vendor = vendor("services").to_string_lossy().into_owned();
    let app = crate::common::repo().join("apps/services/app.py");
    let mut cmd = Command::new(bin());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Server::start_with(
        cmd,
        &[
            &app.to_string_lossy(),
            "--pythonpath",
            &vendor,
            "--workers",
            "2",
        ],
    )
}

#[test]
fn redis_counter_across_workers_and_expiry() {
    let redis = redis();
    let server = services_app(&[("REDIS_URL", format!("redis://127.0.0.1:{}/0", redis.port))]);
    const CLIENTS: usize = 4;
    const EACH: usize = 50;
    let values = from_clients(CLIENTS, EACH, |_, _| {
        let reply = request(&server, "POST", "/counter", "");
        assert_eq!(reply.status, 200, "{}", server.log_text());
        reply.json()["value"].as_i64().expect("a counter value")
    });
    // INCR is atomic: every value from 1 to N was handed out exactly once.
    let mut sorted = values.clone();
    sorted.sort_unstable();
    let expected: Vec<i64> = (1..=(CLIENTS * EACH) as i64).collect();
    assert_eq!(sorted, expected);
    assert_eq!(
        server.get("/counter").json()["value"],
        (CLIENTS * EACH) as i64
    );

    // SET with EX, read back with its TTL, gone once it expires.
    let put = request(&server, "PUT", "/cache/greeting?ttl=1", "héllo ✓");
    assert_eq!(put.status, 201, "{}", server.log_text());
    let got = server.get("/cache/greeting").json();
    assert_eq!(got["value"], "héllo ✓");
    let ttl = got["ttl"].as_i64().expect("ttl");
    assert!((0..=1).contains(&ttl), "{got}");
    assert!(
        eventually(Duration::from_secs(5), || server
            .get("/cache/greeting")
            .status
            == 404),
        "the key did not expire"
    );
}

#[test]
fn outbound_https_is_verified_with_the_test_ca() {
    let dir = TempDir::new("outbound-tls");
    crate::tls::certificates(dir.path());
    let file = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let upstream = Server::start(&[
        &fixture("behaviour.py"),
        "--certfile",
        &file("server.pem"),
        "--keyfile",
        &file("server.key"),
    ]);
    let server = services_app(&[]);
    let url = format!("https://127.0.0.1:{}/env", upstream.port);
    for client in ["urllib", "requests"] {
        let verified = server.get(&format!(
            "/fetch?client={client}&url={url}&cafile={}",
            file("ca.pem")
        ));
        assert_eq!(verified.status, 200, "{client}: {}", server.log_text());
        let reply = verified.json();
        assert_eq!(reply["status"], 200, "{client}: {reply}");
        let env: serde_json::Value =
            serde_json::from_str(reply["body"].as_str().expect("body")).expect("upstream JSON");
        assert_eq!(env["wsgi.url_scheme"], "https", "{client}: {env}");

        // Without the CA, the default trust store refuses the certificate: a clean SSL error.
        let refused = server.get(&format!("/fetch?client={client}&url={url}"));
        assert_eq!(refused.status, 502, "{client}: {}", refused.text());
        let reason = refused.json()["reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            reason.contains("CERTIFICATE_VERIFY_FAILED"),
            "{client}: {reason}"
        );
    }
    assert!(
        !server.log_text().contains("Traceback"),
        "{}",
        server.log_text()
    );
}

/// One message as an SMTP sink received it.
#[derive(Debug)]
struct Mail {
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

/// A minimal SMTP server (RFC 5321's commands a client needs to send one message) on a
/// loopback port; each message received goes to the returned channel.
fn smtp_sink() -> (u16, mpsc::Receiver<Mail>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind smtp sink");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let _ = smtp_session(stream, &tx);
            });
        }
    });
    (port, rx)
}

fn smtp_session(stream: TcpStream, tx: &mpsc::Sender<Mail>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 sink ESMTP\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        let arg = |prefix: &str| {
            line[prefix.len()..]
                .trim()
                .split(' ')
                .next()
                .unwrap_or_default()
                .trim_matches(['<', '>'])
                .to_owned()
        };
        if upper.starts_with("EHLO") {
            out.write_all(b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?;
        } else if upper.starts_with("HELO")
            || upper.starts_with("RSET")
            || upper.starts_with("NOOP")
        {
            out.write_all(b"250 OK\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = arg("MAIL FROM:");
            out.write_all(b"250 OK\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(arg("RCPT TO:"));
            out.write_all(b"250 OK\r\n")?;
        } else if upper.starts_with("DATA") {
            out.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")?;
            let mut data = Vec::new();
            loop {
                let mut raw = Vec::new();
                if lines.read_until(b'\n', &mut raw)? == 0 {
                    return Ok(());
                }
                if raw == b".\r\n" {
                    break;
                }
                // Dot-stuffing (RFC 5321 4.5.2).
                let raw = raw.strip_prefix(b".").unwrap_or(&raw);
                data.extend_from_slice(raw);
            }
            out.write_all(b"250 OK queued\r\n")?;
            let _ = tx.send(Mail {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data,
            });
        } else if upper.starts_with("QUIT") {
            out.write_all(b"221 Bye\r\n")?;
            return Ok(());
        } else {
            out.write_all(b"502 Command not implemented\r\n")?;
        }
    }
}

#[test]
fn smtplib_delivers_to_a_local_sink() {
    let (port, inbox) = smtp_sink();
    let server = services_app(&[
        ("SMTP_HOST", "127.0.0.1".into()),
        ("SMTP_PORT", port.to_string()),
    ]);
    let sent = request(
        &server,
        "POST",
        "/mail?to=zoe@example.test",
        "Merci, Zoë ✓\n.leading dot",
    );
    assert_eq!(sent.status, 200, "{}", server.log_text());
    assert_eq!(sent.json()["sent"], true);
    let mail = inbox
        .recv_timeout(Duration::from_secs(20))
        .expect("the message arrives");
    assert_eq!(mail.from, "shop@example.test");
    assert_eq!(mail.to, ["zoe@example.test"]);
    let text = String::from_utf8(mail.data).expect("UTF-8 message");
    assert!(
        text.contains("Subject: Commande =?utf-8?q?re=C3=A7ue_=E2=9C=93?=\r\n"),
        "{text}"
    );
    assert!(text.contains("To: zoe@example.test\r\n"), "{text}");
    assert!(
        text.contains("\r\n\r\nMerci, Zoë ✓\r\n.leading dot"),
        "{text}"
    );
}
