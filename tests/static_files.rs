//! `--static /url=DIR`: files from Rust with validators, ranges, precompressed siblings, and no
//! way out of DIR.

use crate::common::{Server, TempDir, fixture, parse_one};

fn setup() -> (TempDir, Server) {
    let dir = TempDir::new("static");
    let public = dir.path().join("public");
    std::fs::create_dir_all(public.join("css")).expect("dirs");
    std::fs::write(public.join("css/site.css"), "body { color: red }").expect("css");
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(public.join("data.bin"), &data).expect("bin");
    std::fs::write(public.join("app.js"), "console.log('plain')").expect("js");
    std::fs::write(public.join("app.js.gz"), "GZIPPED-BYTES").expect("gz");
    std::fs::write(public.join("index.html"), "<h1>index</h1>").expect("index");
    std::fs::write(dir.path().join("secret.txt"), "secret").expect("secret");
    let _ = std::os::unix::fs::symlink(dir.path().join("secret.txt"), public.join("escape.txt"));
    let spec = format!("/static={}", public.display());
    let server = Server::start(&[&fixture("behaviour.py"), "--static", &spec]);
    (dir, server)
}

fn get(server: &Server, target: &str, extra: &str) -> crate::common::Response {
    let req = format!("GET {target} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n");
    parse_one(&server.raw(req.as_bytes()))
}

#[test]
fn files_types_validators_and_304() {
    let (_dir, server) = setup();
    let css = get(&server, "/static/css/site.css", "");
    assert_eq!(css.status, 200);
    assert_eq!(css.text(), "body { color: red }");
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    let etag = css.header("etag").expect("etag").to_owned();
    let modified = css
        .header("last-modified")
        .expect("last-modified")
        .to_owned();
    let again = get(
        &server,
        "/static/css/site.css",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let again = get(
        &server,
        "/static/css/site.css",
        &format!("If-Modified-Since: {modified}\r\n"),
    );
    assert_eq!(again.status, 304);
    assert_eq!(get(&server, "/static/", "").text(), "<h1>index</h1>");
    // A missing file is our 404, not the app's (whose 404 is JSON): the app is never asked.
    let missing = get(&server, "/static/nope.txt", "");
    assert_eq!(
        (missing.status, missing.text().as_str()),
        (404, "Not Found\n")
    );
    // Paths outside the prefix still reach the app.
    assert_eq!(get(&server, "/pid", "").status, 200);
}

#[test]
fn ranges_and_large_files() {
    let (_dir, server) = setup();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let whole = get(&server, "/static/data.bin", "");
    assert!(whole.body == data, "{} bytes", whole.body.len());
    let part = get(&server, "/static/data.bin", "Range: bytes=1000-1999\r\n");
    assert_eq!(part.status, 206);
    assert_eq!(part.header("content-range"), Some("bytes 1000-1999/100000"));
    assert!(part.body == data[1000..2000]);
    let tail = get(&server, "/static/data.bin", "Range: bytes=-10\r\n");
    assert!(tail.body == data[99_990..]);
    let bad = get(&server, "/static/data.bin", "Range: bytes=200000-\r\n");
    assert_eq!(bad.status, 416);
    assert_eq!(bad.header("content-range"), Some("bytes */100000"));
}

#[test]
fn precompressed_siblings() {
    let (_dir, server) = setup();
    let plain = get(&server, "/static/app.js", "");
    assert_eq!(plain.text(), "console.log('plain')");
    assert_eq!(plain.header("content-encoding"), None);
    let gz = get(
        &server,
        "/static/app.js",
        "Accept-Encoding: gzip, deflate\r\n",
    );
    assert_eq!(gz.text(), "GZIPPED-BYTES");
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(
        gz.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(gz.header("vary"), Some("Accept-Encoding"));
}

#[test]
fn no_path_traversal() {
    let (_dir, server) = setup();
    for target in [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E%2Fsecret.txt",
        "/static/css/..%2F..%2Fsecret.txt",
        "/static/escape.txt",
    ] {
        let resp = get(&server, target, "");
        assert_eq!(resp.status, 404, "{target}");
        assert!(!resp.text().contains("secret"), "{target}");
    }
    let post = parse_one(&server.raw(
        b"POST /static/app.js HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    ));
    assert_eq!(post.status, 405);
}

#[test]
fn head_then_get_on_one_connection() {
    let (_dir, server) = setup();
    let raw = server.raw(
        b"HEAD /static/data.bin HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /static/css/site.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let (head, used) = crate::common::parse_head_only(&raw);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("100000"));
    // No file bytes were promised for the HEAD, so the next body is the CSS, intact.
    assert_eq!(parse_one(&raw[used..]).text(), "body { color: red }");
}
