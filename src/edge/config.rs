//! Validated settings. `Config::from_cli` turns the raw command line into values the rest of the
//! program can trust (the app spec resolved, binds parsed, counts in range); every rule lives here
//! and is unit-tested here.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

use crate::edge::cli::{AppArgs, RunArgs};
use crate::http::limits::{
    DEFAULT_LIMIT_REQUEST_FIELD_SIZE, DEFAULT_LIMIT_REQUEST_LINE, Limits, Timeouts,
};
use crate::http::static_files::StaticMount;
use crate::observe::log::{AccessLog, Level};
use crate::wsgi::forwarded::TrustedProxies;

/// The WSGI callable's default name (PEP 3333 convention, mod_wsgi's WSGICallableObject default).
pub const DEFAULT_CALLABLE: &str = "application";

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
    #[error("--{0} must be at least {1}")]
    TooSmall(&'static str, u64),
    #[error("bad --forwarded-allow-ips entry `{0}`: use an IP, a CIDR such as 10.0.0.0/8, or *")]
    Forwarded(String),
    #[error("bad --log-level `{0}`: use info, warning or error")]
    LogLevel(String),
    #[error("bad --static: {0}")]
    Static(String),
    #[error("bad --access-log-format: {0}")]
    AccessLogFormat(String),
    #[error("bad --log-format `{0}`: use text or json")]
    LogFormat(String),
    #[error("{0}")]
    HashSeed(String),
    #[error("--certfile and --keyfile go together (and --ca-certs needs both)")]
    Tls,
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
    /// APP, `--callable` and `--pythonpath`, validated: the app and the directories to add to
    /// sys.path.
    pub fn from_args(args: &AppArgs) -> Result<(Self, Vec<PathBuf>), ConfigError> {
        let app = Self::parse(&args.app, args.callable.as_deref())?;
        if let Some(dir) = args.pythonpath.iter().find(|dir| !dir.is_dir()) {
            return Err(ConfigError::PythonPath(dir.clone()));
        }
        Ok((app, args.pythonpath.clone()))
    }

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
pub fn is_dotted_identifier(s: &str) -> bool {
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

/// The app of a bundled executable (`bundle::Embedded::bundled`): its archive, which is this
/// executable, and the sys.path entries inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundled {
    pub archive: PathBuf,
    pub sys_path: Vec<String>,
}

/// Everything `rwsgi run` needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub app: AppSpec,
    pub binds: Vec<Bind>,
    /// URL prefix without a trailing slash; `None` serves at the root.
    pub mount: Option<String>,
    pub pythonpath: Vec<PathBuf>,
    /// `PYTHONHASHSEED` as a seed for every interpreter (`None`: random), as python takes it.
    pub hash_seed: Option<u32>,
    /// Set when this executable is a bundle: the app comes from the archive appended to it.
    pub bundle: Option<Bundled>,
    pub workers: usize,
    pub threads: usize,
    pub timeouts: Timeouts,
    pub limits: Limits,
    /// Retire a worker after this many requests, plus up to `.1` more at random.
    pub max_requests: Option<(u64, u64)>,
    /// Retire a worker whose private memory passes this many bytes.
    pub max_worker_memory: Option<u64>,
    pub max_connections: usize,
    pub backlog: i32,
    pub trusted_proxies: TrustedProxies,
    pub statics: Vec<StaticMount>,
    pub proxy_protocol: bool,
    pub reload: bool,
    /// Check the app with `rwsgi check`'s requests before serving (`--check`).
    pub check: bool,
    /// Load the app in the master before forking (`--preload`).
    pub preload: bool,
    pub metrics: Option<SocketAddr>,
    pub tls: Option<crate::http::tls::TlsFiles>,
    pub pid_file: Option<PathBuf>,
    pub access_log: AccessLog,
    pub access_log_format: String,
    pub log_json: bool,
    pub log_level: Level,
}

impl Config {
    /// The compiled access-log format (JSON lines with `--log-format json`).
    pub fn access_format(&self) -> crate::observe::access_log::Format {
        if self.log_json {
            return crate::observe::access_log::Format::Json;
        }
        crate::observe::access_log::Format::parse(&self.access_log_format)
            .unwrap_or(crate::observe::access_log::Format::Json)
    }

    pub fn from_cli(args: &RunArgs) -> Result<Self, ConfigError> {
        let (app, pythonpath) = AppSpec::from_args(&args.source)?;
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
        let workers = args.workers.unwrap_or_else(default_workers);
        if !(1..=MAX_WORKERS).contains(&workers) {
            return Err(ConfigError::Workers(workers));
        }
        if !(1..=MAX_THREADS).contains(&args.threads) {
            return Err(ConfigError::Threads(args.threads));
        }
        let secs = |name: &'static str, value: u64, min: u64| {
            if value < min {
                return Err(ConfigError::TooSmall(name, min));
            }
            Ok(Duration::from_secs(value))
        };
        let timeouts = Timeouts {
            request: (args.timeout > 0).then(|| Duration::from_secs(args.timeout)),
            graceful: secs("graceful-timeout", args.graceful_timeout, 0)?,
            keep_alive: secs("keep-alive", args.keep_alive, 1)?,
            header: secs("header-timeout", args.header_timeout, 1)?,
            body: secs("body-timeout", args.body_timeout, 1)?,
            body_min_rate: args.body_min_rate,
        };
        let at_least = |name: &'static str, value: usize, min: usize| {
            if value < min {
                return Err(ConfigError::TooSmall(name, min as u64));
            }
            Ok(value)
        };
        let limits = Limits {
            request_line: default_if_zero(args.limit_request_line, DEFAULT_LIMIT_REQUEST_LINE),
            fields: at_least("limit-request-fields", args.limit_request_fields, 1)?,
            field_size: default_if_zero(
                args.limit_request_field_size,
                DEFAULT_LIMIT_REQUEST_FIELD_SIZE,
            ),
            body: (args.limit_request_body > 0).then_some(args.limit_request_body),
        };
        let trusted_proxies =
            TrustedProxies::parse(&args.forwarded_allow_ips).map_err(ConfigError::Forwarded)?;
        let access_log = match args.access_log.as_str() {
            "-" => AccessLog::Stdout,
            "off" | "none" => AccessLog::Off,
            path => AccessLog::File(PathBuf::from(path)),
        };
        let log_level = match args.log_level.to_ascii_lowercase().as_str() {
            "info" | "debug" => Level::Info,
            "warning" | "warn" => Level::Warning,
            "error" | "critical" => Level::Error,
            other => return Err(ConfigError::LogLevel(other.to_owned())),
        };
        let log_json = match args.log_format.as_str() {
            "text" => false,
            "json" => true,
            other => return Err(ConfigError::LogFormat(other.to_owned())),
        };
        crate::observe::access_log::Format::parse(&args.access_log_format)
            .map_err(ConfigError::AccessLogFormat)?;
        let hash_seed =
            crate::python::interp::hash_seed_from_env().map_err(ConfigError::HashSeed)?;
        Ok(Self {
            app,
            binds,
            mount,
            pythonpath,
            hash_seed,
            bundle: None,
            workers,
            threads: args.threads,
            timeouts,
            limits,
            max_requests: (args.max_requests > 0)
                .then_some((args.max_requests, args.max_requests_jitter)),
            max_worker_memory: (args.max_worker_memory > 0)
                .then(|| args.max_worker_memory.saturating_mul(1024 * 1024)),
            max_connections: at_least("max-connections", args.max_connections, 1)?,
            backlog: args.backlog.max(1),
            trusted_proxies,
            statics: args
                .statics
                .iter()
                .map(|s| StaticMount::parse(s))
                .collect::<Result<_, _>>()
                .map_err(ConfigError::Static)?,
            proxy_protocol: args.proxy_protocol,
            reload: args.reload,
            check: args.check,
            preload: args.preload,
            tls: match (&args.certfile, &args.keyfile) {
                (Some(cert), Some(key)) => Some(crate::http::tls::TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                    client_ca: args.ca_certs.clone(),
                }),
                (None, None) if args.ca_certs.is_none() => None,
                _ => return Err(ConfigError::Tls),
            },
            metrics: match args.metrics.as_deref().map(Bind::parse).transpose()? {
                Some(Bind::Tcp(addr)) => Some(addr),
                Some(Bind::Unix(_)) => {
                    return Err(ConfigError::Bind(
                        args.metrics.clone().unwrap_or_default(),
                        "--metrics needs HOST:PORT".to_owned(),
                    ));
                }
                None => None,
            },
            pid_file: args.pid.clone(),
            access_log,
            access_log_format: args.access_log_format.clone(),
            log_json,
            log_level,
        })
    }

    /// The settings in effect, as TOML a `--config` file accepts.
    pub fn to_toml(&self) -> String {
        let list = |items: Vec<String>| {
            let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
            format!("[{}]", quoted.join(", "))
        };
        let binds = self
            .binds
            .iter()
            .map(|b| match b {
                Bind::Tcp(addr) => addr.to_string(),
                Bind::Unix(path) => format!("unix:{}", path.display()),
            })
            .collect();
        let mut out = String::new();
        let mut line = |key: &str, value: String| {
            out.push_str(key);
            out.push_str(" = ");
            out.push_str(&value);
            out.push('\n');
        };
        line("app", format!("{:?}", self.app.display()));
        line("bind", list(binds));
        if let Some(mount) = &self.mount {
            line("mount", format!("{mount:?}"));
        }
        line(
            "pythonpath",
            list(
                self.pythonpath
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect(),
            ),
        );
        line("workers", self.workers.to_string());
        line("threads", self.threads.to_string());
        line(
            "timeout",
            self.timeouts.request.map_or(0, |d| d.as_secs()).to_string(),
        );
        line(
            "graceful-timeout",
            self.timeouts.graceful.as_secs().to_string(),
        );
        line("keep-alive", self.timeouts.keep_alive.as_secs().to_string());
        line("header-timeout", self.timeouts.header.as_secs().to_string());
        line("body-timeout", self.timeouts.body.as_secs().to_string());
        line("body-min-rate", self.timeouts.body_min_rate.to_string());
        let (max, jitter) = self.max_requests.unwrap_or((0, 0));
        line("max-requests", max.to_string());
        line("max-requests-jitter", jitter.to_string());
        line(
            "max-worker-memory",
            self.max_worker_memory
                .map_or(0, |b| b / (1024 * 1024))
                .to_string(),
        );
        line("limit-request-line", self.limits.request_line.to_string());
        line("limit-request-fields", self.limits.fields.to_string());
        line(
            "limit-request-field-size",
            self.limits.field_size.to_string(),
        );
        line(
            "limit-request-body",
            self.limits.body.unwrap_or(0).to_string(),
        );
        line("max-connections", self.max_connections.to_string());
        line("backlog", self.backlog.to_string());
        line("forwarded-allow-ips", list(self.trusted_proxies.describe()));
        line(
            "static",
            list(
                self.statics
                    .iter()
                    .map(|m| format!("{}={}", m.prefix, m.dir.display()))
                    .collect(),
            ),
        );
        line("proxy-protocol", self.proxy_protocol.to_string());
        line("reload", self.reload.to_string());
        line("check", self.check.to_string());
        line("preload", self.preload.to_string());
        if let Some(tls) = &self.tls {
            line("certfile", format!("{:?}", tls.cert.display().to_string()));
            line("keyfile", format!("{:?}", tls.key.display().to_string()));
            if let Some(ca) = &tls.client_ca {
                line("ca-certs", format!("{:?}", ca.display().to_string()));
            }
        }
        if let Some(addr) = self.metrics {
            line("metrics", format!("{:?}", addr.to_string()));
        }
        if let Some(pid) = &self.pid_file {
            line("pid", format!("{:?}", pid.display().to_string()));
        }
        let access = match &self.access_log {
            AccessLog::Stdout => "-".to_owned(),
            AccessLog::Off => "off".to_owned(),
            AccessLog::File(p) => p.display().to_string(),
        };
        line("access-log", format!("{access:?}"));
        line("access-log-format", format!("{:?}", self.access_log_format));
        line(
            "log-format",
            format!("{:?}", if self.log_json { "json" } else { "text" }),
        );
        line(
            "log-level",
            format!("{:?}", self.log_level.name().to_ascii_lowercase()),
        );
        out
    }
}

/// gunicorn's convention for the size limits: 0 means the default.
fn default_if_zero(value: usize, default: usize) -> usize {
    if value == 0 { default } else { value }
}

/// `/app/` → `/app`; `/` → no prefix at all.
pub fn parse_mount(s: &str) -> Result<Option<String>, ConfigError> {
    if !s.starts_with('/') {
        return Err(ConfigError::Mount(s.to_owned()));
    }
    let trimmed = s.trim_end_matches('/');
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// One worker per CPU the process may use.
pub fn default_workers() -> usize {
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
    fn app_args_refuse_a_pythonpath_that_is_not_a_directory() {
        let args = |dir: &str| AppArgs {
            app: "pkg.wsgi:app".into(),
            callable: None,
            pythonpath: vec![dir.into()],
        };
        let (app, path) = AppSpec::from_args(&args(env!("CARGO_MANIFEST_DIR"))).expect("valid");
        assert_eq!(app.display(), "pkg.wsgi:app");
        assert_eq!(path, [PathBuf::from(env!("CARGO_MANIFEST_DIR"))]);
        assert_eq!(
            AppSpec::from_args(&args("no/such/dir")).err(),
            Some(ConfigError::PythonPath("no/such/dir".into()))
        );
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
