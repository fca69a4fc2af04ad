//! Bundled executables: the format and the plan, in plain Rust. The plan goes to the Python
//! side as a plain [`Archive`]; a bundle found at start goes into the config as a
//! [`Bundled`].
//!
//! `rwsgi bundle` writes the rwsgi binary followed by a zip archive of the app tree and its
//! pure-Python dependencies (`pylib/rwsgi/_bundle.py` writes the archive; `pylib/rwsgi/_mount.py`
//! serves imports and reads from it in the running bundle). The archive's end-of-central-directory comment carries a marker and the
//! bundle's settings, so a starting binary finds out whether it is a bundle by reading the last
//! few KiB of itself. Python's zipimport reads modules straight from the executable: nothing is
//! unpacked.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::edge::config::{AppSpec, Bundled, ConfigError};
use crate::python::bundler::Archive;

/// First line of the archive comment of every bundle.
const MARKER: &str = "rwsgi-bundle 1\n";
/// End-of-central-directory record: signature and fixed size (before the comment).
const EOCD_SIGNATURE: &[u8; 4] = b"PK\x05\x06";
const EOCD_LEN: usize = 22;
/// A zip comment is at most this long, so the record lies within the file's last 64 KiB.
const MAX_COMMENT: usize = u16::MAX as usize;
/// Where the app's own directory goes in the archive.
const APP_ROOT: &str = "app";

/// A bundle found in the running executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embedded {
    /// The executable, which is also the zip archive.
    pub archive: PathBuf,
    /// `module:callable`.
    pub app: String,
    /// Directories inside the archive that go on sys.path, in order.
    pub roots: Vec<String>,
    /// Length of the rwsgi binary before the archive.
    pub base_len: u64,
}

impl Embedded {
    /// A bundled executable is `rwsgi run <its app>`: every argument is a run option (a
    /// leading `run` is accepted too). Rewrites the command line to say so.
    pub fn make_run_args(&self, args: &mut Vec<std::ffi::OsString>) {
        if args.get(1).is_some_and(|a| a == "run") {
            args.remove(1);
        }
        let at = args.len().min(1);
        args.splice(at..at, ["run".into(), self.app.clone().into()]);
    }

    /// sys.path entries for zipimport: `<archive>/<root>`.
    pub fn sys_path(&self) -> Vec<String> {
        let archive = self.archive.to_string_lossy();
        self.roots
            .iter()
            .map(|root| format!("{archive}/{root}"))
            .collect()
    }

    /// What `rwsgi run` needs of it (`Config::bundle`).
    pub fn bundled(&self) -> Bundled {
        Bundled {
            archive: self.archive.clone(),
            sys_path: self.sys_path(),
        }
    }
}

/// Why a bundle cannot be written.
#[derive(Debug, Error)]
pub enum BundleError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("--pythonpath {0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("{0}: its module name `{1}` is not a Python identifier; rename the file (e.g. app.py)")]
    ModuleName(PathBuf, String),
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("cannot find the rwsgi executable to copy (is /proc mounted?)")]
    NoExecutable,
}

/// What `rwsgi bundle` will write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// `module:callable`, imported from the roots.
    pub app: String,
    /// (name in the archive, directory on disk); `None` for a directory already inside an
    /// earlier root, stored once under that root.
    pub roots: Vec<(String, Option<PathBuf>)>,
    pub output: PathBuf,
}

impl Plan {
    /// The plan for APP (`file.py[:callable]` or `module:callable`, as for `rwsgi run`) and
    /// its --pythonpath directories. A file's directory is the app root; for a module, the
    /// current directory is (as gunicorn imports it from there).
    pub fn new(
        app: &str,
        callable: Option<&str>,
        pythonpath: &[PathBuf],
        output: &Path,
    ) -> Result<Self, BundleError> {
        let canonical =
            |p: &Path| std::fs::canonicalize(p).map_err(|e| BundleError::Io(p.to_path_buf(), e));
        let (root, module, callable) = match AppSpec::parse(app, callable)? {
            AppSpec::File { path, callable } => {
                let file = canonical(&path)?;
                let module = file
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if module.contains('.') || !crate::edge::config::is_dotted_identifier(&module) {
                    return Err(BundleError::ModuleName(path, module));
                }
                let root = file.parent().map(Path::to_path_buf).unwrap_or_default();
                (root, module, callable)
            }
            AppSpec::Module { module, callable } => (canonical(Path::new("."))?, module, callable),
        };
        let mut roots = vec![(APP_ROOT.to_owned(), Some(root.clone()))];
        for (i, dir) in pythonpath.iter().enumerate() {
            if !dir.is_dir() {
                return Err(BundleError::NotADirectory(dir.clone()));
            }
            let dir = canonical(dir)?;
            let entry = match dir.strip_prefix(&root) {
                Ok(rel) if rel.as_os_str().is_empty() => continue,
                Ok(rel) => (format!("{APP_ROOT}/{}", rel.to_string_lossy()), None),
                Err(_) => (format!("path{}", i + 1), Some(dir)),
            };
            roots.push(entry);
        }
        let output = std::path::absolute(output).unwrap_or_else(|_| output.to_path_buf());
        Ok(Self {
            app: format!("{module}:{callable}"),
            roots,
            output,
        })
    }

    /// The app's top-level module name (the Python side refuses a standard-library name).
    pub fn top_module(&self) -> &str {
        self.app.split([':', '.']).next().unwrap_or_default()
    }

    /// What the Python side writes for this plan, from the first `base_len` bytes of `exe`.
    pub fn archive(&self, exe: PathBuf, base_len: u64) -> Archive {
        Archive {
            exe,
            base_len,
            output: self.output.clone(),
            comment: self.comment(base_len),
            roots: self.roots.clone(),
            top_module: self.top_module().to_owned(),
        }
    }

    /// The archive comment that makes the output a bundle, for a binary `base_len` long.
    pub fn comment(&self, base_len: u64) -> String {
        let mut comment = format!("{MARKER}app={}\nbase={base_len}\n", self.app);
        for (name, _) in &self.roots {
            comment.push_str(&format!("root={name}\n"));
        }
        comment
    }
}

/// The running executable's path: /proc/self/exe, or `argv[0]` where /proc is not mounted.
pub fn current_exe() -> Option<PathBuf> {
    if let Ok(path) = std::env::current_exe() {
        return Some(path);
    }
    let argv0 = PathBuf::from(std::env::args_os().next()?);
    if argv0.components().count() > 1 {
        return std::path::absolute(argv0).ok();
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(&argv0))
        .find(|p| p.is_file())
}

/// The running rwsgi binary and how many of its bytes are rwsgi: all of them, or, when it is
/// itself a bundle, those before its archive (bundling from a bundle copies only rwsgi).
pub fn rwsgi_binary() -> Result<(PathBuf, u64), BundleError> {
    let exe = current_exe().ok_or(BundleError::NoExecutable)?;
    let io = |e| BundleError::Io(exe.clone(), e);
    let base_len = match read(&exe).map_err(io)? {
        Some(embedded) => embedded.base_len,
        None => std::fs::metadata(&exe).map_err(io)?.len(),
    };
    Ok((exe, base_len))
}

/// The bundle appended to the running executable, if there is one.
pub fn detect() -> Option<Embedded> {
    let exe = current_exe()?;
    read(&exe).ok().flatten()
}

/// The bundle appended to `path`, if there is one.
pub fn read(path: &Path) -> std::io::Result<Option<Embedded>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let want = (EOCD_LEN + MAX_COMMENT).min(usize::try_from(len).unwrap_or(usize::MAX));
    file.seek(SeekFrom::End(-(want as i64)))?;
    let mut tail = vec![0; want];
    file.read_exact(&mut tail)?;
    Ok(archive_comment(&tail).and_then(|comment| parse_comment(path, comment)))
}

/// The zip comment of the end-of-central-directory record that `tail` ends with, when it starts
/// with the bundle marker.
fn archive_comment(tail: &[u8]) -> Option<&str> {
    let last_start = tail.len().checked_sub(EOCD_LEN)?;
    (0..=last_start).rev().find_map(|pos| {
        let record = &tail[pos..];
        if &record[..4] != EOCD_SIGNATURE {
            return None;
        }
        let comment_len = usize::from(u16::from_le_bytes([record[20], record[21]]));
        if EOCD_LEN + comment_len != record.len() {
            return None;
        }
        let comment = std::str::from_utf8(&record[EOCD_LEN..]).ok()?;
        comment.starts_with(MARKER).then_some(comment)
    })
}

fn parse_comment(archive: &Path, comment: &str) -> Option<Embedded> {
    let mut app = None;
    let mut base_len = None;
    let mut roots = Vec::new();
    for line in comment.strip_prefix(MARKER)?.lines() {
        match line.split_once('=')? {
            ("app", value) => app = Some(value.to_owned()),
            ("base", value) => base_len = value.parse().ok(),
            ("root", value) => roots.push(value.to_owned()),
            _ => {}
        }
    }
    Some(Embedded {
        archive: archive.to_path_buf(),
        app: app?,
        roots,
        base_len: base_len?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eocd(comment: &str) -> Vec<u8> {
        let mut record = EOCD_SIGNATURE.to_vec();
        record.extend_from_slice(&[0; 16]);
        record.extend_from_slice(&(comment.len() as u16).to_le_bytes());
        record.extend_from_slice(comment.as_bytes());
        record
    }

    #[test]
    fn finds_the_marked_comment_at_the_end() {
        let comment = "rwsgi-bundle 1\napp=app:app\nbase=42\nroot=app\nroot=app/vendor\n";
        let mut file = b"ELF...PK\x05\x06 not this one".to_vec();
        file.extend(eocd(comment));
        let found = archive_comment(&file).expect("marker");
        let embedded = parse_comment(Path::new("/srv/out"), found).expect("parsed");
        assert_eq!(embedded.app, "app:app");
        assert_eq!(embedded.base_len, 42);
        assert_eq!(
            embedded.sys_path(),
            vec!["/srv/out/app".to_owned(), "/srv/out/app/vendor".to_owned()]
        );
    }

    #[test]
    fn ignores_other_zips_and_plain_binaries() {
        assert_eq!(archive_comment(&eocd("made by zip")), None);
        assert_eq!(archive_comment(b"\x7fELF plain binary"), None);
        assert_eq!(archive_comment(b""), None);
        // A record whose length does not reach the end exactly is not the last one.
        let mut file = eocd("rwsgi-bundle 1\napp=a:b\nbase=1\n");
        file.push(0);
        assert_eq!(archive_comment(&file), None);
        // Marked but incomplete: no app.
        let comment = archive_comment(&eocd("rwsgi-bundle 1\nbase=1\n")).map(str::to_owned);
        assert_eq!(
            comment.and_then(|c| parse_comment(Path::new("/x"), &c)),
            None
        );
    }

    #[test]
    fn plan_keeps_a_pythonpath_inside_the_app_once() {
        let dir = std::env::temp_dir().join(format!("rwsgi-plan-{}", std::process::id()));
        let vendor = dir.join("vendor");
        std::fs::create_dir_all(&vendor).expect("mkdir");
        std::fs::write(dir.join("shop.py"), "application = None\n").expect("write");
        let app = format!("{}:app", dir.join("shop.py").display());
        let plan = Plan::new(
            &app,
            None,
            &[vendor, std::env::temp_dir()],
            Path::new("out"),
        )
        .expect("plan");
        assert_eq!(plan.app, "shop:app");
        assert_eq!(plan.top_module(), "shop");
        assert_eq!(plan.roots[0].0, "app");
        assert_eq!(plan.roots[1], ("app/vendor".to_owned(), None));
        assert_eq!(plan.roots[2].0, "path2");
        assert!(
            plan.comment(7)
                .contains("base=7\nroot=app\nroot=app/vendor\nroot=path2\n")
        );
        let bad = Plan::new(
            &format!("{}/no-such.py", dir.display()),
            None,
            &[],
            Path::new("o"),
        );
        assert!(matches!(bad, Err(BundleError::Config(_))));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
