//! The command line: clap structs only. Each field's `///` comment is its `--help` text; the
//! defaults refer to the constants in `config`, and `config::Config::from_cli` validates.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config;

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
    Run(RunArgs),
    /// Run a Python script (or -c CODE) on the embedded interpreter, as `python` would: e.g.
    /// `rwsgi python --pythonpath vendor manage.py migrate`.
    Python(PythonArgs),
}

/// `rwsgi python [--pythonpath DIR]... (SCRIPT | -c CODE) [ARGS]...`
#[derive(Debug, Args)]
#[command(
    after_help = "sys.path: the script's directory (the current one for -c), then each \
--pythonpath DIR, then the frozen standard library, as for `rwsgi run`. The exit status is \
the script's (SystemExit), or 1 after an uncaught exception's traceback."
)]
pub struct PythonArgs {
    /// Program passed in as a string (terminates the option list, as python's -c does).
    #[arg(short = 'c', value_name = "CODE")]
    pub code: Option<String>,

    /// Directory to add to sys.path after the script's own. Repeatable.
    #[arg(long = "pythonpath", value_name = "DIR")]
    pub pythonpath: Vec<PathBuf>,

    /// The script, then its arguments (sys.argv[1:]); with -c, only the arguments.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

/// `rwsgi run APP [options]`
#[derive(Debug, Args)]
#[command(after_help = "APP forms:\n  \
    path/app.py               the file's `application` callable (or --callable)\n  \
    path/app.py:name          the file's `name` callable\n  \
    package.module:name       import package.module from sys.path (gunicorn's form)\n\n\
Signals to the master process: TERM/INT stop gracefully (in-flight requests finish).")]
pub struct RunArgs {
    /// The application: `file.py`, `file.py:callable` or `package.module:callable`.
    pub app: String,

    /// Address to listen on: HOST:PORT, [IPv6]:PORT or unix:/path/to.sock. Repeat to listen on
    /// several. Port 0 picks a free port (the log says which).
    #[arg(long = "bind", short = 'b', value_name = "ADDRESS", default_value = config::DEFAULT_BIND)]
    pub binds: Vec<String>,

    /// Name of the WSGI callable in the app module (mod_wsgi's WSGICallableObject). A
    /// `:callable` suffix on APP sets the same thing.
    #[arg(long, value_name = "NAME")]
    pub callable: Option<String>,

    /// Serve the app under this URL prefix (mod_wsgi's WSGIScriptAlias): a request for
    /// PREFIX/rest gets SCRIPT_NAME=PREFIX and PATH_INFO=/rest; any other path gets 404.
    #[arg(long, value_name = "PREFIX")]
    pub mount: Option<String>,

    /// Directory to add to the app's sys.path (mod_wsgi's WSGIPythonPath). Repeatable. The app
    /// file's own directory is always on sys.path.
    #[arg(long = "pythonpath", value_name = "DIR")]
    pub pythonpath: Vec<PathBuf>,

    /// Worker processes, each with its own interpreter: the source of CPU parallelism.
    /// Default: the number of CPUs.
    #[arg(long, short = 'w', value_name = "N")]
    pub workers: Option<usize>,

    /// Python threads per worker, each with its own interpreter and copy of the app. More than
    /// one only helps apps that block on I/O (database, upstream HTTP); each costs the app's
    /// memory again.
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_THREADS)]
    pub threads: usize,
}
