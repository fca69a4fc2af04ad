//! Deploying as one file, the way a `FROM scratch` image runs it: the binary is static and
//! serves from a chroot that holds nothing but itself and the app (no libc, no /proc, no /dev,
//! no /tmp), including two workers and a graceful stop; `rwsgi bundle` writes one executable
//! that serves a Flask app from a root holding nothing else, and whose app reads its own files
//! (templates, data, resources) out of the executable.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::common::{Server, TempDir, bin, eventually, fixture, repo};
use crate::frameworks::{check_guestbook, vendor};

/// True when the ELF file has no program interpreter (PT_INTERP) and names no shared library
/// (DT_NEEDED): nothing for a dynamic loader to do.
fn is_static_elf(path: &str) -> bool {
    let elf = std::fs::read(path).expect("read binary");
    assert_eq!(&elf[..4], b"\x7fELF", "{path} is not ELF");
    let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]) as usize;
    let u64_at =
        |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().expect("8 bytes")) as usize;
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    (0..phnum).all(|i| {
        let header = phoff + i * phentsize;
        let kind = u32::from_le_bytes(elf[header..header + 4].try_into().expect("4 bytes"));
        match kind {
            3 => false, // PT_INTERP
            2 => {
                // PT_DYNAMIC: (tag, value) pairs; DT_NEEDED is tag 1.
                let (offset, size) = (u64_at(header + 8), u64_at(header + 32));
                (offset..offset + size)
                    .step_by(16)
                    .all(|entry| u64_at(entry) != 1)
            }
            _ => true,
        }
    })
}

/// A directory to chroot into, holding only `files` (source, path inside the root).
fn empty_root(dir: &TempDir, files: &[(&Path, &str)]) -> PathBuf {
    let root = dir.path().join("root");
    for (source, inside) in files {
        let target = root.join(inside.trim_start_matches('/'));
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::copy(source, &target).expect("copy into root");
    }
    root
}

/// `chroot ROOT EXE`: the command Server::start_with adds `run ...` to.
fn chrooted(root: &Path, exe: &str) -> Command {
    let mut cmd = Command::new("chroot");
    cmd.arg(root).arg(exe);
    cmd
}

fn bundle(args: &[&str], output: &Path) -> Output {
    Command::new(bin())
        .arg("bundle")
        .args(args)
        .arg("-o")
        .arg(output)
        .output()
        .expect("run rwsgi bundle")
}

fn bundled(args: &[&str], output: &Path) {
    let out = bundle(args, output);
    assert!(
        out.status.success(),
        "rwsgi bundle failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("modules compiled"), "progress: {stderr}");
}

#[test]
fn static_binary_serves_two_workers_from_an_empty_root_and_stops_gracefully() {
    assert!(is_static_elf(bin()), "{} is dynamically linked", bin());
    let dir = TempDir::new("scratch");
    let root = empty_root(
        &dir,
        &[
            (Path::new(bin()), "/rwsgi"),
            (Path::new(&fixture("behaviour.py")), "/app/app.py"),
        ],
    );
    let mut server = Server::start_with(
        chrooted(&root, "/rwsgi"),
        &["/app/app.py", "--workers", "2", "--graceful-timeout", "20"],
    );

    // Both workers answer: new connections until two pids are seen (bounded).
    let mut pids = std::collections::HashSet::new();
    let both = eventually(Duration::from_secs(30), || {
        let resp = server.get("/pid");
        assert_eq!(resp.status, 200, "{}", server.log_text());
        pids.insert(resp.json()["pid"].as_u64().expect("pid"));
        pids.len() == 2
    });
    assert!(both, "only {pids:?} answered:\n{}", server.log_text());

    // A request in flight when TERM arrives still gets its answer, then the master exits 0.
    let port = server.port;
    let slow = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        std::io::Write::write_all(
            &mut stream,
            b"GET /sleep?seconds=1.5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .expect("send");
        crate::common::read_to_close(&mut stream)
    });
    // The slow request is in the app (it logs this line before it sleeps) when TERM arrives.
    assert!(
        server.wait_log("sleeping in pid", Duration::from_secs(30)),
        "{}",
        server.log_text()
    );
    server.signal("TERM");
    let reply = slow.join().expect("slow request");
    let reply = crate::common::parse_one(&reply);
    assert_eq!(reply.status, 200, "{}", server.log_text());
    assert_eq!(reply.json()["slept"], true);
    let status = server.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status}\n{}", server.log_text());
}

#[test]
fn bundled_flask_app_serves_from_an_empty_root() {
    let vendor = vendor("flask");
    let app = repo().join("apps/flask/app.py");
    let dir = TempDir::new("bundle-flask");
    let out = dir.path().join("flaskapp");
    bundled(
        &[
            &format!("{}:app", app.display()),
            "--pythonpath",
            &vendor.to_string_lossy(),
        ],
        &out,
    );
    let root = empty_root(&dir, &[(&out, "/flaskapp")]);
    let mut server = Server::start_with(chrooted(&root, "/flaskapp"), &[]);
    assert!(
        server.log_contains("serving app:app"),
        "{}",
        server.log_text()
    );
    check_guestbook(&server, "flask", "Flask");
    let status = server.stop();
    assert!(status.success(), "{status}\n{}", server.log_text());
}

#[test]
fn bundled_app_reads_its_files_from_the_executable() {
    let dir = TempDir::new("bundle-files");
    let out = dir.path().join("probe");
    bundled(&[&fixture("bundled/app.py")], &out);
    let root = empty_root(&dir, &[(&out, "/srv/probe")]);
    // Options after the bundle's name are run options; a leading `run` is accepted.
    let server = Server::start_with(chrooted(&root, "/srv/probe"), &["--threads", "2"]);
    let resp = server.get("/");
    assert_eq!(resp.status, 200, "{}", server.log_text());
    let report = resp.json();
    let expect = serde_json::json!({
        "parent_is_file": true,
        "text": "hello from the bundle\n",
        "blob": [0, 1, 98, 105, 110, 97, 114, 121, 255],
        "size": 22,
        "mtime_positive": true,
        "listdir": ["blob.bin", "greeting.txt", "sub"],
        "scandir": [["blob.bin", false, true], ["greeting.txt", false, true], ["sub", true, false]],
        "isfile": true,
        "isdir": true,
        "exists_missing": false,
        "pathlib": "nested\n",
        "walk": ["blob.bin", "greeting.txt", "sub/deep.txt"],
        "metadata_version": "1.2",
        "resource": "resource text\n",
        "write": "EROFS",
        "missing": "ENOENT",
        "hidden_skipped": true,
        "pycache_skipped": true,
        "helpers_file": "helpers/__init__.pyc",
    });
    assert_eq!(report, expect);
    // wsgi.file_wrapper over a file from the bundle (no file descriptor: iterated).
    let blob = server.get("/blob");
    assert_eq!(blob.status, 200);
    assert_eq!(blob.body, b"\x00\x01binary\xff");
}

#[test]
fn bundle_errors_are_one_line() {
    let dir = TempDir::new("bundle-errors");
    let one_line = |out: Output, needle: &str| {
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("rwsgi: error: "), "{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
    };
    let out = dir.path().join("out");
    one_line(
        bundle(&[&dir.path().join("missing.py").to_string_lossy()], &out),
        "missing.py does not exist",
    );
    let email = dir.path().join("email.py");
    std::fs::write(&email, "application = None\n").expect("write");
    one_line(
        bundle(&[&email.to_string_lossy()], &out),
        "standard-library module",
    );
    assert!(!out.exists() && !dir.path().join("out.part").exists());
}

/// deploy/kubernetes.yaml stays true to rwsgi: every RWSGI_* variable it sets is an option
/// rwsgi accepts with that value, and the pod's grace period outlasts the preStop pause plus
/// rwsgi's own graceful timeout.
#[test]
fn kubernetes_manifest_matches_the_options() {
    let manifest =
        std::fs::read_to_string(repo().join("deploy/kubernetes.yaml")).expect("read manifest");
    let number_after = |key: &str| -> u64 {
        let line = manifest
            .lines()
            .find(|l| l.contains(key))
            .unwrap_or_else(|| panic!("{key} missing"));
        let digits: String = line
            .split(key)
            .nth(1)
            .unwrap_or_default()
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().expect("a number")
    };
    let env: Vec<(String, String)> = manifest
        .lines()
        .filter_map(|l| {
            let rest = l.split("{name: ").nth(1)?;
            let (name, value) = rest.split_once(", value: ")?;
            let value = value.trim_end_matches('}').trim_matches('"');
            Some((name.to_owned(), value.to_owned()))
        })
        .collect();
    assert!(env.len() >= 4, "{env:?}");
    let graceful: u64 = env
        .iter()
        .find(|(name, _)| name == "RWSGI_GRACEFUL_TIMEOUT")
        .and_then(|(_, v)| v.parse().ok())
        .expect("RWSGI_GRACEFUL_TIMEOUT");
    assert!(
        number_after("terminationGracePeriodSeconds:") > number_after("seconds:") + graceful,
        "the grace period must cover preStop + --graceful-timeout"
    );

    let out = Command::new(bin())
        .args([
            "run",
            &repo().join("apps/hello.py").to_string_lossy(),
            "--print-config",
        ])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("print-config");
    let config = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, value) in &env {
        let key = name
            .trim_start_matches("RWSGI_")
            .to_lowercase()
            .replace('_', "-");
        let line = config
            .lines()
            .find(|l| l.starts_with(&format!("{key} =")))
            .unwrap_or_else(|| panic!("{key} not in --print-config:\n{config}"));
        assert!(line.contains(value.as_str()), "{name}={value}: {line}");
    }
}
