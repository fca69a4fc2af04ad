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

/// A write lease on a file held by this process: another process's open(2) of it blocks (the
/// kernel asks us to give the lease up) until `release`, which simulates a disk that stalls.
struct Lease {
    file: std::fs::File,
}

/// F_SETSIG from Linux's <fcntl.h> (the libc crate does not export it).
const F_SETSIG: libc::c_int = 10;

impl Lease {
    fn take(path: &std::path::Path) -> Self {
        use std::os::fd::AsRawFd;
        let file = std::fs::File::open(path).expect("open for the lease");
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor this struct owns; F_SETSIG picks the signal the
        // kernel sends us when our lease is to be broken: SIGURG, ignored by default (SIGIO
        // would end the test process), and F_SETLEASE takes a write lease on our own file.
        let taken = unsafe {
            libc::fcntl(fd, F_SETSIG, libc::SIGURG) == 0
                && libc::fcntl(fd, libc::F_SETLEASE, libc::F_WRLCK) == 0
        };
        assert!(taken, "F_SETLEASE: {}", std::io::Error::last_os_error());
        Self { file }
    }

    /// Whether another process is blocked opening the file (the lease is being broken: its
    /// type reads as the read lease it must come down to).
    fn breaking(&self) -> bool {
        use std::os::fd::AsRawFd;
        // SAFETY: F_GETLEASE only reads the lease on a descriptor we own.
        unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_GETLEASE) == libc::F_RDLCK }
    }

    fn release(self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as above; F_UNLCK drops the lease and lets the blocked open go on.
        let released =
            unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_SETLEASE, libc::F_UNLCK) };
        assert_eq!(released, 0, "F_UNLCK: {}", std::io::Error::last_os_error());
    }
}

/// A static file whose open(2) stalls must not stall the worker's other connections: the
/// filesystem calls run off the worker's single-threaded runtime. With one worker, a request
/// to the app is answered while a static request waits on the disk.
#[test]
fn a_stalled_static_file_does_not_stall_other_requests() {
    use std::io::{Read, Write};
    let dir = TempDir::new("static-stall");
    let public = dir.path().join("public");
    std::fs::create_dir_all(&public).expect("dir");
    let slow = public.join("slow.txt");
    std::fs::write(&slow, "from a slow disk").expect("file");
    let spec = format!("/static={}", public.display());
    let server = Server::start(&[&fixture("behaviour.py"), "--static", &spec]);
    let lease = Lease::take(&slow);
    let mut stalled = server.connect();
    stalled
        .write_all(b"GET /static/slow.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    assert!(
        crate::common::eventually(std::time::Duration::from_secs(20), || lease.breaking()),
        "the server never opened the file:\n{}",
        server.log_text()
    );
    // The worker's runtime is free: the app answers while the open still waits.
    let other = get(&server, "/", "");
    assert_eq!(other.status, 200, "{}", server.log_text());
    assert!(
        lease.breaking(),
        "the static open finished before the lease was released"
    );
    lease.release();
    let mut raw = Vec::new();
    stalled
        .read_to_end(&mut raw)
        .expect("read the static reply");
    let reply = parse_one(&raw);
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "from a slow disk")
    );
}
