//! The binary serves with nothing else on disk: run it in a private mount namespace where the
//! cargo registry (where RustPython's Lib/ lives), rustup, every Python installation and the
//! source tree are hidden under empty tmpfs mounts, with an empty environment.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Server, TempDir, bin, fixture, repo};

/// Directories that could supply a Python or its standard library.
fn hidden_dirs() -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    let cargo_home =
        std::env::var_os("CARGO_HOME").map_or_else(|| home.join(".cargo"), PathBuf::from);
    let rustup_home =
        std::env::var_os("RUSTUP_HOME").map_or_else(|| home.join(".rustup"), PathBuf::from);
    let mut dirs = vec![
        cargo_home,
        rustup_home,
        home.join(".pyenv"),
        home.join(".local"),
        repo(),
    ];
    for parent in ["/usr/lib", "/usr/local/lib", "/usr/lib64", "/opt"] {
        if let Ok(entries) = std::fs::read_dir(parent) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with("python") || name.starts_with("pypy") || parent == "/opt" {
                    dirs.push(entry.path());
                }
            }
        }
    }
    dirs.retain(|d| d.is_dir());
    dirs
}

/// `unshare -m ... BINARY`: run BINARY (then the arguments the caller adds) in a private mount
/// namespace where every directory of `hidden_dirs` is covered by an empty tmpfs, with an empty
/// environment but `env`, after checking that no python is runnable there.
pub(crate) fn without_python(binary: &Path, cwd: &Path, env: &[(&str, &str)]) -> Command {
    let hidden = hidden_dirs();
    assert!(
        hidden
            .iter()
            .any(|d| d.ends_with(".cargo") || d.ends_with("cargo")),
        "{hidden:?}"
    );
    let mut script = String::from("set -e\n");
    for d in &hidden {
        script.push_str(&format!(
            "mount -t tmpfs -o size=1m rwsgi-hidden '{}'\n",
            d.display()
        ));
    }
    // Prove the hiding worked before starting: no python anywhere on a default PATH.
    script.push_str("for p in python3 python; do if PATH=/usr/local/bin:/usr/bin:/bin command -v $p >/dev/null 2>&1; then v=$(PATH=/usr/local/bin:/usr/bin:/bin $p -c 'import sys; print(sys.prefix)' 2>&1) && { echo \"python still usable: $v\" >&2; exit 97; }; fi; done\n");
    let env: String = env.iter().map(|(k, v)| format!(" '{k}={v}'")).collect();
    script.push_str(&format!("exec env -i{env} \"$0\" \"$@\"\n"));

    let probe = Command::new("unshare")
        .args(["-m", "--propagation", "private", "true"])
        .status();
    assert!(
        probe.is_ok_and(|s| s.success()),
        "this test needs `unshare -m` (root, util-linux); it cannot prove the binary is self-contained without it"
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", &script])
        .arg(binary)
        .current_dir(cwd);
    cmd
}

#[test]
fn serves_with_python_and_sources_hidden() {
    let dir = TempDir::new("hidden");
    let binary = dir.path().join("rwsgi");
    std::fs::copy(bin(), &binary).expect("copy binary");
    let app = dir.path().join("probe.py");
    std::fs::copy(fixture("stdlib_probe.py"), &app).expect("copy app");

    let cmd = without_python(&binary, dir.path(), &[]);
    let server = Server::start_with(cmd, &[&app.to_string_lossy()]);
    let resp = server.get("/");
    assert_eq!(resp.status, 200, "{}", server.log_text());
    let probe = resp.json();
    assert_eq!(probe["sqlite"], "from sqlite");
    assert_eq!(probe["decimal"], "3.3");
    assert_eq!(probe["subject"], "ok");
    assert_eq!(probe["version"], serde_json::json!([3, 14]));
    // The stdlib's build-time location is hidden, yet everything imported.
    assert_eq!(probe["stdlib_dir_exists"], false, "{probe}");
    assert!(
        probe["stdlib_dir"].as_str().is_some_and(|d| !d.is_empty()),
        "{probe}"
    );
}
