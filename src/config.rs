//! Validated settings. `Config::from_cli` turns the raw command line into values the rest of the
//! program can trust (the app spec resolved, binds parsed, counts in range); every rule lives here
//! and is unit-tested here.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::cli::RunArgs;

/// Where `rwsgi run` listens without `--bind`: loopback only, as gunicorn and waitress do, so a
/// first run never exposes an app to the network by accident.
pub const DEFAULT_BIND: &str = "127.0.0.1:8000";

/// The WSGI callable's default name (PEP 3333 convention, mod_wsgi's WSGICallableObject default).
pub const DEFAULT_CALLABLE: &str = "application";

/// Python threads per worker. One: threads of one interpreter do not scale on CPU work
/// (RUSTPYTHON.md: 97k/s on 1 thread, 89k/s on 8), each thread here carries its own interpreter
/// and app copy (about 55 MB and up), and worker processes already give the parallelism.
pub const DEFAULT_THREADS: usize = 1;

/// Upper bounds that catch typos (`--workers 1000`) before they fork a thousand interpreters.
pub const MAX_WORKERS: usize = 512;
pub const MAX_THREADS: usize = 256;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("app file {0} does not exist (give a path to a .py file, or package.module:callable)")]
    AppFileMissing(PathBuf),
    #[error("`{0}` is not a valid app: use file.py, file.py:callable or package.module:callable")]
    AppSpec(String),
    #[error("`{0}` is not a valid Python identifier for the callable")]
    Callable(String),
    #[error("the callable is named twice: `{0}` in APP and `{1}` in --callable; keep one")]
    CallableTwice(String, String),
    #[error("bad --bind `{0}`: {1}")]
    Bind(String, String),
    #[error("bad --mount `{0}`: it must start with '/' (e.g. --mount /app)")]
    Mount(String),
    #[error("--pythonpath {0} is not a directory")]
    PythonPath(PathBuf),
    #[error("--workers must be between 1 and {MAX_WORKERS}, got {0}")]
    Workers(usize),
    #[error("--threads must be between 1 and {MAX_THREADS}, got {0}")]
    Threads(usize),
}

/// Which Python object to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppSpec {
    /// A file loaded by path, like mod_wsgi's WSGIScriptAlias target.
    File { path: PathBuf, callable: String },
    /// A module imported from sys.path, like gunicorn's `module:callable`.
    Module { module: String, callable: String },
}

impl AppSpec {
    /// Parse APP, with `--callable` as the name when APP carries none.
    pub fn parse(app: &str, callable_flag: Option<&str>) -> Result<Self, ConfigError> {
        let (target, suffix) = match app.rsplit_once(':') {
            // A Windows-style drive letter is not a callable; neither is an empty name.
            Some((left, right)) if !left.is_empty() => (left, Some(right)),
            _ => (app, None),
        };
        let callable = match (suffix, callable_flag) {
            (Some(a), Some(b)) if a != b => {
                return Err(ConfigError::CallableTwice(a.to_owned(), b.to_owned()));
            }
            (Some(name), _) | (None, Some(name)) => name,
            (None, None) => DEFAULT_CALLABLE,
        };
        if !is_dotted_identifier(callable) {
            return Err(ConfigError::Callable(callable.to_owned()));
        }
        let callable = callable.to_owned();
        let path = Path::new(target);
        if target.ends_with(".py") || target.contains('/') || path.is_file() {
            if !path.is_file() {
                return Err(ConfigError::AppFileMissing(path.to_path_buf()));
            }
            return Ok(Self::File {
                path: path.to_path_buf(),
                callable,
            });
        }
        if is_dotted_identifier(target) {
            return Ok(Self::Module {
                module: target.to_owned(),
                callable,
            });
        }
        Err(ConfigError::AppSpec(app.to_owned()))
    }

    /// How the app is named in logs and errors: `apps/hello.py:application`.
    pub fn display(&self) -> String {
        match self {
            Self::File { path, callable } => format!("{}:{callable}", path.display()),
            Self::Module { module, callable } => format!("{module}:{callable}"),
        }
    }
}

/// `name` or `a.b.c`, each part a Python identifier (ASCII subset).
fn is_dotted_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

/// One listening address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl Bind {
    pub fn parse(s: &str) -> Result<Self, ConfigError> {
        let bad = |why: &str| ConfigError::Bind(s.to_owned(), why.to_owned());
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(bad("unix: needs a socket path, e.g. unix:/run/app.sock"));
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(Self::Tcp(addr));
        }
        let Some((_, port)) = s.rsplit_once(':') else {
            return Err(bad("expected HOST:PORT or unix:/path"));
        };
        if port.parse::<u16>().is_err() {
            return Err(bad("the port must be a number from 0 to 65535"));
        }
        s.to_socket_addrs()
            .map_err(|e| bad(&format!("cannot resolve the host ({e})")))?
            .next()
            .map(Self::Tcp)
            .ok_or_else(|| bad("the host resolves to no address"))
    }
}

/// Everything `rwsgi run` needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub app: AppSpec,
    pub binds: Vec<Bind>,
    /// URL prefix without a trailing slash; `None` serves at the root.
    pub mount: Option<String>,
    pub pythonpath: Vec<PathBuf>,
    pub workers: usize,
    pub threads: usize,
}

impl Config {
    pub fn from_cli(args: &RunArgs) -> Result<Self, ConfigError> {
        let app = AppSpec::parse(&args.app, args.callable.as_deref())?;
        let binds = args
            .binds
            .iter()
            .map(|b| Bind::parse(b))
            .collect::<Result<Vec<_>, _>>()?;
        let mount = args
            .mount
            .as_deref()
            .map(parse_mount)
            .transpose()?
            .flatten();
        for dir in &args.pythonpath {
            if !dir.is_dir() {
                return Err(ConfigError::PythonPath(dir.clone()));
            }
        }
        let workers = args.workers.unwrap_or_else(default_workers);
        if !(1..=MAX_WORKERS).contains(&workers) {
            return Err(ConfigError::Workers(workers));
        }
        if !(1..=MAX_THREADS).contains(&args.threads) {
            return Err(ConfigError::Threads(args.threads));
        }
        Ok(Self {
            app,
            binds,
            mount,
            pythonpath: args.pythonpath.clone(),
            workers,
            threads: args.threads,
        })
    }
}

/// `/app/` → `/app`; `/` → no prefix at all.
fn parse_mount(s: &str) -> Result<Option<String>, ConfigError> {
    if !s.starts_with('/') {
        return Err(ConfigError::Mount(s.to_owned()));
    }
    let trimmed = s.trim_end_matches('/');
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// One worker per CPU the process may use.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_form_with_callable() {
        assert_eq!(
            AppSpec::parse("pkg.wsgi:app", None),
            Ok(AppSpec::Module {
                module: "pkg.wsgi".into(),
                callable: "app".into()
            })
        );
    }

    #[test]
    fn module_form_defaults_to_application() {
        assert_eq!(
            AppSpec::parse("pkg.wsgi", None),
            Ok(AppSpec::Module {
                module: "pkg.wsgi".into(),
                callable: "application".into()
            })
        );
    }

    #[test]
    fn file_form_uses_callable_flag() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        // Cargo.toml exists, so it is taken as a file even without .py.
        assert_eq!(
            AppSpec::parse(path, Some("app")),
            Ok(AppSpec::File {
                path: path.into(),
                callable: "app".into()
            })
        );
    }

    #[test]
    fn missing_file_is_reported() {
        assert_eq!(
            AppSpec::parse("nope/missing.py:app", None),
            Err(ConfigError::AppFileMissing("nope/missing.py".into()))
        );
    }

    #[test]
    fn callable_named_twice_differently() {
        assert_eq!(
            AppSpec::parse("pkg.wsgi:app", Some("other")),
            Err(ConfigError::CallableTwice("app".into(), "other".into()))
        );
        assert!(AppSpec::parse("pkg.wsgi:app", Some("app")).is_ok());
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(matches!(
            AppSpec::parse("pkg.wsgi:1app", None),
            Err(ConfigError::Callable(_))
        ));
        assert!(matches!(
            AppSpec::parse("not a module", None),
            Err(ConfigError::AppSpec(_))
        ));
    }

    #[test]
    fn binds() {
        assert_eq!(
            Bind::parse("127.0.0.1:0"),
            Ok(Bind::Tcp("127.0.0.1:0".parse().expect("addr")))
        );
        assert_eq!(
            Bind::parse("[::1]:8080"),
            Ok(Bind::Tcp("[::1]:8080".parse().expect("addr")))
        );
        assert_eq!(
            Bind::parse("unix:/tmp/x.sock"),
            Ok(Bind::Unix("/tmp/x.sock".into()))
        );
        assert!(Bind::parse("localhost:8000").is_ok());
        assert!(Bind::parse("127.0.0.1").is_err());
        assert!(Bind::parse("127.0.0.1:99999").is_err());
        assert!(Bind::parse("unix:").is_err());
    }

    #[test]
    fn mounts() {
        assert_eq!(parse_mount("/app/"), Ok(Some("/app".into())));
        assert_eq!(parse_mount("/"), Ok(None));
        assert!(parse_mount("app").is_err());
    }
}
