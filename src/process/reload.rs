//! `--reload` for development: the master watches the app's directory and the `--pythonpath`
//! directories with inotify and reloads the workers (as on SIGHUP) when a file changes. Plain
//! inotify on a non-blocking descriptor, polled on the master's tick: no watcher thread exists
//! in the master, which forks.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Directories watched at most: a bound on the kernel resources a huge tree could take.
const MAX_WATCHES: usize = 4096;

/// Events that mean "a file changed".
const MASK: u32 = libc::IN_CLOSE_WRITE
    | libc::IN_MODIFY
    | libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_MOVED_TO
    | libc::IN_MOVED_FROM;

pub struct Watcher {
    fd: OwnedFd,
    /// Watch descriptor → directory, to name the changed file in the log.
    dirs: Vec<(i32, PathBuf)>,
}

/// Names whose changes never call for a reload: bytecode caches, editor swap files, dot files.
fn ignored(name: &[u8]) -> bool {
    name.starts_with(b".")
        || name == b"__pycache__"
        || name.ends_with(b".pyc")
        || name.ends_with(b"~")
        || name.ends_with(b".swp")
}

impl Watcher {
    /// Watch `roots` and the directories below them.
    pub fn new(roots: &[PathBuf]) -> io::Result<Self> {
        let fd = crate::process::sys::inotify_init()?;
        let mut watcher = Self {
            fd,
            dirs: Vec::new(),
        };
        let mut pending: Vec<PathBuf> = roots.to_vec();
        while let Some(dir) = pending.pop() {
            if watcher.dirs.len() >= MAX_WATCHES {
                break;
            }
            watcher.add(&dir)?;
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for entry in entries.flatten() {
                    let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                    if is_dir && !ignored(entry.file_name().as_bytes()) {
                        pending.push(entry.path());
                    }
                }
            }
        }
        Ok(watcher)
    }

    fn add(&mut self, dir: &Path) -> io::Result<()> {
        let path = CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"))?;
        let wd = crate::process::sys::inotify_add_watch(self.fd.as_fd(), &path, MASK)?;
        self.dirs.push((wd, dir.to_path_buf()));
        Ok(())
    }

    /// The first changed file since the last call, if any (all pending events are consumed).
    pub fn changed(&mut self) -> Option<PathBuf> {
        let mut first = None;
        let mut buf = [0u8; 8192];
        loop {
            let Ok(n) = crate::process::sys::read(self.fd.as_fd(), &mut buf) else {
                return first;
            };
            if n == 0 {
                return first;
            }
            let mut at = 0;
            let header = std::mem::size_of::<libc::inotify_event>();
            while at + header <= n {
                // The kernel wrote a whole inotify_event at `at`: read its fields from the bytes.
                let field = |offset: usize| -> [u8; 4] {
                    let mut bytes = [0u8; 4];
                    bytes.copy_from_slice(&buf[at + offset..at + offset + 4]);
                    bytes
                };
                let event_wd =
                    i32::from_ne_bytes(field(std::mem::offset_of!(libc::inotify_event, wd)));
                let name_len =
                    u32::from_ne_bytes(field(std::mem::offset_of!(libc::inotify_event, len)))
                        as usize;
                let name_bytes = buf
                    .get(at + header..at + header + name_len)
                    .unwrap_or_default();
                let name: &[u8] = name_bytes.split(|&b| b == 0).next().unwrap_or_default();
                at += header + name_len;
                if name.is_empty() || ignored(name) || first.is_some() {
                    continue;
                }
                let dir = self
                    .dirs
                    .iter()
                    .find(|(wd, _)| *wd == event_wd)
                    .map(|(_, d)| d.clone())
                    .unwrap_or_default();
                first = Some(dir.join(std::ffi::OsStr::from_bytes(name)));
            }
        }
    }
}
