//! The command line: clap structs (and `rwsgi python`'s, handed on as the Python side's plain
//! [`Invocation`]). Each field's `///` comment is its `--help` text; the
//! defaults are constants, here or beside the code that enforces them (`http::limits`,
//! `access_log`), and `config::Config::from_cli` validates.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::http::limits;
use crate::python::script::Invocation;

/// Where `rwsgi run` listens without `--bind`: loopback only, as gunicorn and waitress do, so a
/// first run never exposes an app to the network by accident.
pub const DEFAULT_BIND: &str = "127.0.0.1:8000";

/// Python threads per worker. One: threads of one interpreter do not scale on CPU work
/// (RUSTPYTHON.md: 97k/s on 1 thread, 89k/s on 8), each thread here carries its own interpreter
/// and app copy (about 55 MB and up), and worker processes already give the parallelism.
pub const DEFAULT_THREADS: usize = 1;

/// Open connections per worker: gunicorn's worker_connections default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1000;
/// Listen backlog: gunicorn's default.
pub const DEFAULT_BACKLOG: i32 = 2048;
/// Proxies trusted by default: only the local machine (gunicorn: 127.0.0.1,::1).
pub const DEFAULT_FORWARDED_ALLOW_IPS: &str = "127.0.0.1,::1";

/// rwsgi: serve a Python WSGI application from one binary, on an embedded Python 3.14
/// (RustPython). No Python installation is needed; pure-Python packages only.
#[derive(Debug, Parser)]
#[command(name = "rwsgi", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a WSGI application.
    Run(Box<RunArgs>),
    /// Run a Python script (or -c CODE) on the embedded interpreter, as `python` would: e.g.
    /// `rwsgi python --pythonpath vendor manage.py migrate`.
    Python(PythonArgs),
    /// Write one executable holding rwsgi, the app and its pure-Python dependencies: run it as
    /// `./OUT [run options]` with no other file present.
    Bundle(BundleArgs),
    /// Load the app as `run` would and drive it with a few requests (GET /, HEAD, a POST with a
    /// body, a missing page, a non-ASCII path, a query string) through a PEP 3333 validator;
    /// print one line per problem found, with its fix. It really calls the app.
    Check(CheckArgs),
    /// Run pip on the embedded interpreter, for Python 3.14 and pure-Python packages: e.g.
    /// `rwsgi pip install --target vendor flask`, then `rwsgi run app.py --pythonpath vendor`.
    Pip(PipArgs),
}

/// Which app to load: the options `rwsgi run` and `rwsgi check` share.
#[derive(Debug, Args)]
pub struct AppArgs {
    /// The application: `file.py`, `file.py:callable` or `package.module:callable`.
    #[arg(env = "RWSGI_APP")]
    pub app: String,

    /// Name of the WSGI callable in the app module (mod_wsgi's WSGICallableObject). A
    /// `:callable` suffix on APP sets the same thing.
    #[arg(long, value_name = "NAME", env = "RWSGI_CALLABLE")]
    pub callable: Option<String>,

    /// Directory to add to the app's sys.path (mod_wsgi's WSGIPythonPath). Repeatable, or
    /// comma-separated. The app file's own directory is always on sys.path.
    #[arg(
        long = "pythonpath",
        value_name = "DIR",
        env = "RWSGI_PYTHONPATH",
        value_delimiter = ','
    )]
    pub pythonpath: Vec<PathBuf>,
}

/// `rwsgi check APP [--callable NAME] [--pythonpath DIR]... [--verbose]`
#[derive(Debug, Args)]
#[command(
    after_help = "The requests really reach the app, a form POST among them: point it \
at a development or test database, never at production. Each finding is one line, `METHOD \
PATH: problem: fix`, printed once however many requests showed it. Exit status: 0 when the \
app passed, 1 when something was found, 2 when the app cannot be loaded."
)]
pub struct CheckArgs {
    #[command(flatten)]
    pub source: AppArgs,

    /// Also print, to stderr, the traceback of each exception and what the app wrote to
    /// wsgi.errors.
    #[arg(long, short = 'v')]
    pub verbose: bool,

    /// Check the app as served under this URL prefix (`rwsgi run --mount`): its requests get
    /// SCRIPT_NAME=PREFIX.
    #[arg(long, value_name = "PREFIX")]
    pub mount: Option<String>,
}

/// `rwsgi pip ARGS...`
#[derive(Debug, Args)]
#[command(
    after_help = "pip itself (a pinned release, checked by its SHA-256) is downloaded \
from PyPI on first use into $RWSGI_CACHE_DIR (default $XDG_CACHE_HOME/rwsgi or ~/.cache/rwsgi) \
and run from there. `install` needs --target DIR (or --prefix/--root): there is no \
site-packages to install into. Packages that ship only source are built on the embedded \
interpreter; optional C speedups are left out (they could not load anyway)."
)]
pub struct PipArgs {
    /// pip's own arguments.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

/// `rwsgi bundle APP [--pythonpath DIR]... -o OUT`
#[derive(Debug, Args)]
#[command(
    after_help = "What goes in: the app file's directory (for a `module:callable` APP, the \
current directory), then each --pythonpath directory, every file under them (templates, static \
files, data) except names starting with '.', __pycache__, node_modules and virtualenvs. Modules \
are stored with their bytecode, precompiled. The app reads its files as before, read-only, \
under the path of the executable (Flask's root_path, Jinja2 templates, open(), os.stat)."
)]
pub struct BundleArgs {
    /// The application, as for `rwsgi run`: `file.py`, `file.py:callable` or
    /// `package.module:callable`.
    pub app: String,

    /// Name of the WSGI callable (default: application); a `:callable` suffix on APP sets
    /// the same thing.
    #[arg(long, value_name = "NAME")]
    pub callable: Option<String>,

    /// Directory of dependencies to bundle and put on sys.path. Repeatable.
    #[arg(long = "pythonpath", value_name = "DIR", value_delimiter = ',')]
    pub pythonpath: Vec<PathBuf>,

    /// The executable to write.
    #[arg(long, short = 'o', value_name = "OUT")]
    pub output: PathBuf,
}

/// `rwsgi python [--pythonpath DIR]... [python's options] (SCRIPT | -c CODE | -m MODULE) [ARGS]...`
#[derive(Debug, Args)]
#[command(
    after_help = "sys.path: the script's directory (the current one for -c), then each \
--pythonpath DIR, then the frozen standard library, as for `rwsgi run`. The exit status is \
the script's (SystemExit), or 1 after an uncaught exception's traceback."
)]
pub struct PythonArgs {
    /// Program passed in as a string (terminates the option list, as python's -c does).
    #[arg(short = 'c', value_name = "CODE", conflicts_with = "module")]
    pub code: Option<String>,

    /// Run a library module as a script (terminates the option list, as python's -m does).
    #[arg(short = 'm', value_name = "MODULE")]
    pub module: Option<String>,

    /// python's -u, -I, -E, -s, -S and -B, so that tools that run `sys.executable -u ...`
    /// work: -u (or PYTHONUNBUFFERED) leaves stdout and stderr unbuffered, -I and -E ignore
    /// PYTHONPATH and PYTHONUNBUFFERED, -I/-S skip `site`; -s and -B change nothing.
    #[arg(short = 'u', hide = true)]
    pub unbuffered: bool,
    #[arg(short = 'I', hide = true)]
    pub isolated: bool,
    #[arg(short = 'E', hide = true)]
    pub ignore_environment: bool,
    #[arg(short = 's', hide = true)]
    pub no_user_site: bool,
    #[arg(short = 'S', hide = true)]
    pub no_site: bool,
    #[arg(short = 'B', hide = true)]
    pub no_bytecode: bool,

    /// python's -P (or PYTHONSAFEPATH; -I implies it): the script's directory (the current
    /// one for -c and -m) is not put first on sys.path.
    #[arg(short = 'P', hide = true)]
    pub safe_path: bool,

    /// python's -b, -v, -q and -d: sys.flags.bytes_warning, verbose, quiet and debug (the
    /// interpreter prints no import trace and no bytes warnings); -R changes nothing.
    #[arg(short = 'b', action = clap::ArgAction::Count, hide = true)]
    pub bytes_warning: u8,
    #[arg(short = 'v', action = clap::ArgAction::Count, hide = true)]
    pub verbose: u8,
    #[arg(short = 'q', hide = true)]
    pub quiet: bool,
    #[arg(short = 'd', hide = true)]
    pub debug: bool,
    #[arg(short = 'R', hide = true)]
    pub hash_randomization: bool,

    /// python's -V/--version: print the Python version ("Python 3.14.0a0") and exit; twice,
    /// with the interpreter's build.
    #[arg(short = 'V', long = "version", action = clap::ArgAction::Count)]
    pub version: u8,

    /// python's -X OPTION: sys._xoptions, and what it sets (`utf8`, `utf8=0`, `dev`,
    /// `int_max_str_digits=N`). Repeatable.
    #[arg(short = 'X', value_name = "OPTION")]
    pub xoptions: Vec<String>,

    /// python's -W ARG: a warning filter (sys.warnoptions). Repeatable.
    #[arg(short = 'W', value_name = "ARG")]
    pub warnoptions: Vec<String>,

    /// python's -O (-OO): sys.flags.optimize; assert statements are still compiled in.
    #[arg(short = 'O', action = clap::ArgAction::Count)]
    pub optimize: u8,

    /// Set when the binary was started as a python (under a name beginning with `python`, or
    /// with python's own command line, as `sys.executable -c ...` is): then `site` is
    /// imported, as a python would.
    #[arg(skip)]
    pub as_python: bool,

    /// Directory to add to sys.path after the script's own. Repeatable.
    #[arg(long = "pythonpath", value_name = "DIR")]
    pub pythonpath: Vec<PathBuf>,

    /// The script, then its arguments (the rest of sys.argv); with -c, only the arguments.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

impl PythonArgs {
    /// The same command line as the Python side takes it.
    pub fn invocation(self) -> Invocation {
        Invocation {
            code: self.code,
            module: self.module,
            args: self.args,
            pythonpath: self.pythonpath,
            unbuffered: self.unbuffered,
            isolated: self.isolated,
            ignore_environment: self.ignore_environment,
            no_site: self.no_site,
            xoptions: self.xoptions,
            warnoptions: self.warnoptions,
            optimize: self.optimize,
            as_python: self.as_python,
            safe_path: self.safe_path,
            bytes_warning: self.bytes_warning,
            verbose: self.verbose,
            quiet: self.quiet,
            debug: self.debug,
            version: self.version,
        }
    }
}

/// `rwsgi run APP [options]`. Every option can also come from an `RWSGI_*` environment
/// variable (the option's name in upper case, `-` as `_`) or from the TOML file named by
/// `--config`; the command line wins over the environment, which wins over the file.
#[derive(Debug, Args)]
#[command(after_help = "APP forms:\n  \
    path/app.py               the file's `application` callable (or --callable)\n  \
    path/app.py:name          the file's `name` callable\n  \
    package.module:name       import package.module from sys.path (gunicorn's form)\n\n\
Signals to the master process: TERM/INT/QUIT stop gracefully (in-flight requests finish);\n\
HUP loads the app in fresh workers, then retires the old ones.")]
pub struct RunArgs {
    #[command(flatten)]
    pub source: AppArgs,

    /// Address to listen on: HOST:PORT (an IPv6 host in brackets) or unix:/path/to.sock. Repeat (or separate
    /// with commas) to listen on several. Port 0 picks a free port (the log says which).
    #[arg(long = "bind", short = 'b', value_name = "ADDRESS", env = "RWSGI_BIND",
          value_delimiter = ',', default_value = DEFAULT_BIND)]
    pub binds: Vec<String>,

    /// Serve the app under this URL prefix (mod_wsgi's WSGIScriptAlias): a request for
    /// PREFIX/rest gets SCRIPT_NAME=PREFIX and PATH_INFO=/rest; any other path gets 404.
    #[arg(long, value_name = "PREFIX", env = "RWSGI_MOUNT")]
    pub mount: Option<String>,

    /// Worker processes, each with its own interpreter: the source of CPU parallelism.
    /// Default: the number of CPUs.
    #[arg(long, short = 'w', value_name = "N", env = "RWSGI_WORKERS")]
    pub workers: Option<usize>,

    /// Python threads per worker, each with its own interpreter and copy of the app. More than
    /// one only helps apps that block on I/O (database, upstream HTTP); each costs the app's
    /// memory again.
    #[arg(long, value_name = "N", env = "RWSGI_THREADS", default_value_t = DEFAULT_THREADS)]
    pub threads: usize,

    /// Seconds a request may run in the app. Past it the client gets 504 (or the connection is
    /// cut if the response had begun) and the worker is replaced. 0 disables.
    #[arg(long, value_name = "SECS", env = "RWSGI_TIMEOUT", default_value_t = limits::DEFAULT_TIMEOUT)]
    pub timeout: u64,

    /// Seconds a stopping worker waits for requests in flight before cutting them off.
    #[arg(long, value_name = "SECS", env = "RWSGI_GRACEFUL_TIMEOUT",
          default_value_t = limits::DEFAULT_GRACEFUL_TIMEOUT)]
    pub graceful_timeout: u64,

    /// Seconds an idle keep-alive connection is kept open waiting for the next request.
    #[arg(long, value_name = "SECS", env = "RWSGI_KEEP_ALIVE", default_value_t = limits::DEFAULT_KEEP_ALIVE)]
    pub keep_alive: u64,

    /// Seconds a client may take to send a whole request head once it has started (slowloris
    /// protection); past it, 408 and the connection closes.
    #[arg(long, value_name = "SECS", env = "RWSGI_HEADER_TIMEOUT",
          default_value_t = limits::DEFAULT_HEADER_TIMEOUT)]
    pub header_timeout: u64,

    /// Seconds `wsgi.input` waits for the next piece of the request body before the read fails.
    #[arg(long, value_name = "SECS", env = "RWSGI_BODY_TIMEOUT", default_value_t = limits::DEFAULT_BODY_TIMEOUT)]
    pub body_timeout: u64,

    /// Least average rate, in bytes per second, of a request body once --body-timeout has
    /// passed; slower gets 408 (a body sent a byte at a time). 0 disables.
    #[arg(long, value_name = "BYTES", env = "RWSGI_BODY_MIN_RATE",
          default_value_t = limits::DEFAULT_BODY_MIN_RATE)]
    pub body_min_rate: u64,

    /// Replace a worker after it has served this many requests (0: never). Guards against slow
    /// leaks in the app.
    #[arg(
        long,
        value_name = "N",
        env = "RWSGI_MAX_REQUESTS",
        default_value_t = 0
    )]
    pub max_requests: u64,

    /// Add up to this many requests, at random per worker, to --max-requests so workers do not
    /// all restart at once.
    #[arg(
        long,
        value_name = "N",
        env = "RWSGI_MAX_REQUESTS_JITTER",
        default_value_t = 0
    )]
    pub max_requests_jitter: u64,

    /// Retire a worker gracefully once its private memory (USS: private clean + dirty pages,
    /// from /proc/PID/smaps_rollup) passes this many MiB; it is replaced. 0: no limit.
    #[arg(
        long,
        value_name = "MIB",
        env = "RWSGI_MAX_WORKER_MEMORY",
        default_value_t = 0
    )]
    pub max_worker_memory: u64,

    /// Longest request line (method, target, version) in bytes; longer gets 414. 0 means the
    /// default (as in gunicorn).
    #[arg(long, value_name = "BYTES", env = "RWSGI_LIMIT_REQUEST_LINE",
          default_value_t = limits::DEFAULT_LIMIT_REQUEST_LINE)]
    pub limit_request_line: usize,

    /// Most header fields in a request; more gets 431.
    #[arg(long, value_name = "N", env = "RWSGI_LIMIT_REQUEST_FIELDS",
          default_value_t = limits::DEFAULT_LIMIT_REQUEST_FIELDS)]
    pub limit_request_fields: usize,

    /// Longest header field line in bytes, CRLF included; longer gets 431. 0 means the
    /// default (as in gunicorn).
    #[arg(long, value_name = "BYTES", env = "RWSGI_LIMIT_REQUEST_FIELD_SIZE",
          default_value_t = limits::DEFAULT_LIMIT_REQUEST_FIELD_SIZE)]
    pub limit_request_field_size: usize,

    /// Largest request body in bytes (0: no limit). A larger Content-Length gets 413 before the
    /// app runs; a chunked body that grows past it fails the read and gets 413.
    #[arg(
        long,
        value_name = "BYTES",
        env = "RWSGI_LIMIT_REQUEST_BODY",
        default_value_t = 0
    )]
    pub limit_request_body: u64,

    /// Most open connections per worker; more wait in the listen backlog.
    #[arg(long, value_name = "N", env = "RWSGI_MAX_CONNECTIONS",
          default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// Length of the listen backlog.
    #[arg(long, value_name = "N", env = "RWSGI_BACKLOG", default_value_t = DEFAULT_BACKLOG)]
    pub backlog: i32,

    /// Proxies whose X-Forwarded-For/-Proto/-Host and Forwarded headers are trusted: IPs or
    /// CIDRs, comma-separated, or `*`. From any other peer those headers are ignored.
    #[arg(long, value_name = "ADDRS", env = "RWSGI_FORWARDED_ALLOW_IPS", value_delimiter = ',',
          default_value = DEFAULT_FORWARDED_ALLOW_IPS)]
    pub forwarded_allow_ips: Vec<String>,

    /// Serve the files of DIR under the URL prefix, from Rust without calling the app:
    /// `/static=./public`. Repeatable, or comma-separated.
    #[arg(
        long = "static",
        value_name = "/URL=DIR",
        env = "RWSGI_STATIC",
        value_delimiter = ','
    )]
    pub statics: Vec<String>,

    /// Development: reload the workers when a file under the app's directory or a --pythonpath
    /// directory changes.
    #[arg(long, env = "RWSGI_RELOAD")]
    pub reload: bool,

    /// Before serving, drive the app with `rwsgi check`'s requests (a POST among them: they
    /// really reach the app) and refuse to start if anything is found; the findings go to the
    /// log.
    #[arg(long, env = "RWSGI_CHECK")]
    pub check: bool,

    /// Load the app once in the master, before forking the workers: they share its memory
    /// and start at once. Not for an app that opens connections or starts threads at import.
    #[arg(long, env = "RWSGI_PRELOAD")]
    pub preload: bool,

    /// PEM certificate chain: serve HTTPS on every TCP bind, with HTTP/2 offered by ALPN.
    /// Needs --keyfile.
    #[arg(long, value_name = "FILE", env = "RWSGI_CERTFILE")]
    pub certfile: Option<PathBuf>,

    /// PEM private key of --certfile.
    #[arg(long, value_name = "FILE", env = "RWSGI_KEYFILE")]
    pub keyfile: Option<PathBuf>,

    /// PEM CA certificates: require client certificates signed by one of them.
    #[arg(long, value_name = "FILE", env = "RWSGI_CA_CERTS")]
    pub ca_certs: Option<PathBuf>,

    /// Accept a PROXY protocol header (HAProxy v1 or v2) at the start of each connection, from
    /// the peers in --forwarded-allow-ips; it sets REMOTE_ADDR and REMOTE_PORT.
    #[arg(long, env = "RWSGI_PROXY_PROTOCOL")]
    pub proxy_protocol: bool,

    /// Serve Prometheus metrics (requests by status class, a latency histogram, requests in
    /// flight, worker restarts) at http://HOST:PORT/metrics, totals over all workers.
    #[arg(long, value_name = "HOST:PORT", env = "RWSGI_METRICS")]
    pub metrics: Option<String>,

    /// Write the master's process id to this file (removed at exit).
    #[arg(long, value_name = "FILE", env = "RWSGI_PID")]
    pub pid: Option<PathBuf>,

    /// Where the access log goes: `-` (stdout), a file path, or `off`.
    #[arg(
        long,
        value_name = "FILE",
        env = "RWSGI_ACCESS_LOG",
        default_value = "-"
    )]
    pub access_log: String,

    /// The access-log line, in gunicorn's atoms: h remote address, l '-', u Basic-auth user,
    /// t time, r request line, m method, U path, q query, H protocol, s status, B body bytes,
    /// b body bytes or '-', f referer, a user agent, T/M/D/L duration (s, ms, µs, decimal s),
    /// p pid, %({header}i)s request and %({header}o)s response headers.
    #[arg(long, value_name = "FORMAT", env = "RWSGI_ACCESS_LOG_FORMAT",
          default_value = crate::observe::access_log::DEFAULT_FORMAT)]
    pub access_log_format: String,

    /// `text`, or `json` for one JSON object per server-log and access-log line.
    #[arg(
        long,
        value_name = "FORMAT",
        env = "RWSGI_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: String,

    /// Least severe server-log messages shown: info, warning or error.
    #[arg(
        long,
        value_name = "LEVEL",
        env = "RWSGI_LOG_LEVEL",
        default_value = "info"
    )]
    pub log_level: String,

    /// Read settings from this TOML file (keys are the option names: `workers = 4`,
    /// `bind = ["127.0.0.1:8000"]`); the environment and the command line override it.
    #[arg(long, value_name = "FILE", env = "RWSGI_CONFIG")]
    pub config: Option<PathBuf>,

    /// Print the settings in effect, as TOML, and exit.
    #[arg(long)]
    pub print_config: bool,
}
