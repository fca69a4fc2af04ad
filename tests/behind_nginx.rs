//! rwsgi behind a real nginx (Debian's package, started on loopback by the test), proxying over
//! TCP and over a Unix socket: the proxy headers reach the app as REMOTE_ADDR, url_scheme and
//! HTTP_HOST, and bodies pass both ways.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{Server, TempDir, eventually, fixture, free_port, parse_one, program};

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_nginx(dir: &TempDir, tcp_upstream: u16, unix_upstream: &std::path::Path) -> (Nginx, u16) {
    let port = free_port();
    let prefix = dir.path().display().to_string();
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n\
           fastcgi_temp_path {prefix}/fcgi;\n  uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n\
           proxy_set_header Host $host;\n\
           proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
           proxy_set_header X-Forwarded-Proto https;\n\
           proxy_http_version 1.1;\n  proxy_set_header Connection \"\";\n\
           server {{\n    listen 127.0.0.1:{port};\n\
             location /tcp/ {{ proxy_pass http://127.0.0.1:{tcp_upstream}/; }}\n\
             location /unix/ {{ proxy_pass http://unix:{}:/; }}\n  }}\n}}\n",
        unix_upstream.display()
    );
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("nginx.conf");
    let child = Command::new(program("nginx", "nginx", &[]))
        .args(["-p", &prefix, "-c", &conf_path.to_string_lossy()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    let nginx = Nginx(child);
    assert!(
        eventually(Duration::from_secs(20), || std::net::TcpStream::connect((
            "127.0.0.1",
            port
        ))
        .is_ok()),
        "nginx did not start: {}",
        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
    );
    (nginx, port)
}

fn through(port: u16, raw: &[u8]) -> crate::common::Response {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect nginx");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(raw).expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    parse_one(&out)
}

#[test]
fn proxied_over_tcp_and_unix_socket() {
    let dir = TempDir::new("nginx");
    let sock = dir.path().join("rwsgi.sock");
    let server = Server::start(&[
        &fixture("behaviour.py"),
        "--bind",
        &format!("unix:{}", sock.display()),
        "--bind",
        "127.0.0.1:0",
        "--workers",
        "1",
    ]);
    let (_nginx, port) = start_nginx(&dir, server.port, &sock);
    for path in ["tcp", "unix"] {
        let env = through(
            port,
            format!(
                "GET /{path}/env?q=1 HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 198.51.100.7\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .json();
        assert_eq!(env["REMOTE_ADDR"], "198.51.100.7", "{path}: {env}");
        assert_eq!(env["wsgi.url_scheme"], "https", "{path}");
        assert_eq!(env["HTTP_HOST"], "shop.example", "{path}");
        assert_eq!(env["PATH_INFO"], "/env", "{path}");
        assert_eq!(env["QUERY_STRING"], "q=1", "{path}");
        let body = "x".repeat(200_000);
        let echoed = through(
            port,
            format!(
                "POST /{path}/read HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        assert_eq!(
            echoed.json()["pieces"][0].as_str().map(str::len),
            Some(body.len()),
            "{path}"
        );
        let streamed = through(
            port,
            format!("GET /{path}/no_length HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        assert_eq!(streamed.text(), "first second", "{path}");
    }
}
