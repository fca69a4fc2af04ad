//! TLS and HTTP/2: HTTPS with rustls (certificates made by the openssl CLI for the test),
//! HTTP/2 by ALPN, h2c with prior knowledge, client certificates, and file bodies over TLS.
//! curl is the client: it speaks all of these.

use std::path::Path;
use std::process::Command;

use crate::common::{Server, TempDir, fixture};

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("this test needs the openssl CLI");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 signed by it, and a client certificate.
pub(crate) fn certificates(dir: &Path) {
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=rwsgi test CA",
        ],
        dir,
    );
    issue(
        dir,
        "server",
        "/CN=127.0.0.1",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    );
    issue(dir, "client", "/CN=client", "extendedKeyUsage=clientAuth\n");
}

/// `NAME.key` and `NAME.pem`: a key and a certificate for `subject` signed by the CA, with
/// the `extensions` (openssl extfile lines).
fn issue(dir: &Path, name: &str, subject: &str, extensions: &str) {
    let file = |suffix: &str| format!("{name}.{suffix}");
    let (key, csr, pem, ext) = (file("key"), file("csr"), file("pem"), file("ext"));
    std::fs::write(dir.join(&ext), extensions).expect("ext");
    openssl(
        &[
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj", subject,
        ],
        dir,
    );
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &ext,
        ],
        dir,
    );
}

/// curl's body and exit status.
fn curl(args: &[&str]) -> (bool, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .args(args)
        .output()
        .expect("this test needs curl");
    (out.status.success(), out.stdout)
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
}

/// A temp dir with fresh certificates, and an HTTPS server using them plus `extra` options.
fn tls_server(tag: &str, extra: &[&str]) -> (TempDir, Server) {
    let dir = TempDir::new(tag);
    certificates(dir.path());
    let file = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (cert, key) = (file("server.pem"), file("server.key"));
    let mut args = vec![
        fixture("behaviour.py"),
        "--certfile".into(),
        cert,
        "--keyfile".into(),
        key,
    ];
    args.extend(
        extra
            .iter()
            .map(|a| a.replace("{dir}", &dir.path().to_string_lossy())),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(&args);
    (dir, server)
}

#[test]
fn https_http2_and_files_over_tls() {
    let (dir, server) = tls_server("tls", &[]);
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    assert!(server.log_contains("Listening at: https://127.0.0.1:"));
    let url = |path: &str| format!("https://127.0.0.1:{}{path}", server.port);
    let (ok, body) = curl(&["--cacert", &p("ca.pem"), "--http1.1", &url("/env")]);
    assert!(ok, "{}", server.log_text());
    let env = json(&body);
    assert_eq!(env["wsgi.url_scheme"], "https");
    assert_eq!(env["SERVER_PROTOCOL"], "HTTP/1.1");
    let (ok, body) = curl(&["--cacert", &p("ca.pem"), "--http2", &url("/env?x=1")]);
    assert!(ok);
    let env = json(&body);
    assert_eq!(env["SERVER_PROTOCOL"], "HTTP/2");
    assert_eq!(env["wsgi.url_scheme"], "https");
    assert_eq!(env["QUERY_STRING"], "x=1");
    // A POST body over HTTP/2.
    let (ok, body) = curl(&[
        "--cacert",
        &p("ca.pem"),
        "--http2",
        "--data-binary",
        "hello h2",
        &url("/read"),
    ]);
    assert!(ok);
    assert_eq!(json(&body)["pieces"][0], "hello h2");
    // wsgi.file_wrapper over TLS cannot use sendfile: the bytes must still be exact.
    let data: Vec<u8> = (0..700_000u32).map(|i| (i * 13 % 251) as u8).collect();
    std::fs::write(dir.path().join("data.bin"), &data).expect("data");
    for proto in ["--http1.1", "--http2"] {
        let (ok, body) = curl(&[
            "--cacert",
            &p("ca.pem"),
            proto,
            &url(&format!("/file?path={}", p("data.bin"))),
        ]);
        assert!(ok && body == data, "{proto}: {} bytes", body.len());
    }
}

#[test]
fn h2c_with_prior_knowledge() {
    let server = Server::start(&[&fixture("behaviour.py")]);
    let (ok, body) = curl(&[
        "--http2-prior-knowledge",
        &format!("http://127.0.0.1:{}/env", server.port),
    ]);
    assert!(ok, "{}", server.log_text());
    let env = json(&body);
    assert_eq!(env["SERVER_PROTOCOL"], "HTTP/2");
    assert_eq!(env["wsgi.url_scheme"], "http");
    // HTTP/1.1 on the same listener still works.
    assert_eq!(server.get("/pid").status, 200);
}

#[test]
fn client_certificates_are_required_with_ca_certs() {
    let (dir, server) = tls_server("mtls", &["--ca-certs", "{dir}/ca.pem"]);
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let url = format!("https://127.0.0.1:{}/pid", server.port);
    let (ok, _) = curl(&["--cacert", &p("ca.pem"), &url]);
    assert!(!ok, "a client without a certificate got through");
    let (ok, body) = curl(&[
        "--cacert",
        &p("ca.pem"),
        "--cert",
        &p("client.pem"),
        "--key",
        &p("client.key"),
        &url,
    ]);
    assert!(ok, "{}", server.log_text());
    assert!(json(&body)["pid"].is_u64());
}

#[test]
fn tls_setup_errors_are_one_line() {
    let out = Command::new(crate::common::bin())
        .args([
            "run",
            &fixture("behaviour.py"),
            "--certfile",
            "/nonexistent.pem",
            "--keyfile",
            "/nonexistent.key",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rwsgi: error: cannot set up TLS"),
        "{stderr}"
    );
    assert!(stderr.contains("/nonexistent.pem"), "{stderr}");
}

/// hyper's h2 has no idle timeout and its PINGs kept an idle connection open for ever; an
/// HTTP/2 connection with no open stream is now closed with GOAWAY after --keep-alive, as an
/// HTTP/1 one is (and the socket after --header-timeout more, as this client does not answer
/// the closing PING).
#[test]
fn an_idle_http2_connection_is_closed_after_keep_alive() {
    use std::io::{Read, Write};
    let server = Server::start(&[
        &fixture("behaviour.py"),
        "--keep-alive",
        "1",
        "--header-timeout",
        "2",
    ]);
    let mut s = server.connect();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    // The preface and an empty SETTINGS frame: an h2c client that then says nothing.
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .expect("send");
    let started = std::time::Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) => panic!("still open after {:?}: {e}", started.elapsed()),
        }
    }
    let mut frames = Vec::new();
    let mut rest = &received[..];
    while rest.len() >= 9 {
        let len = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        frames.push(rest[3]);
        rest = &rest[(9 + len).min(rest.len())..];
    }
    assert!(
        frames.contains(&7),
        "no GOAWAY among frame types {frames:?}"
    );
}
