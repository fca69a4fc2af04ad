//! `rwsgi python`: run a script, `-c CODE` or `-m MODULE` on the same interpreter `rwsgi run` builds, so a
//! machine with no Python can still run `manage.py migrate` and friends. sys.path follows the
//! `run` rules (the script's directory first, then `--pythonpath`); exit status, stdout and
//! stderr behave as python's do. The Python half is `pylib/rwsgi/_script.py`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use rustpython_vm::{PyResult, VirtualMachine};

use super::interp;

/// What to run and how: python's command line as plain values (the edge's `cli::PythonArgs`).
#[derive(Debug, Default)]
pub struct Invocation {
    /// `-c CODE`.
    pub code: Option<String>,
    /// `-m MODULE`.
    pub module: Option<String>,
    /// The script, then its arguments; with `-c` or `-m`, only the arguments.
    pub args: Vec<String>,
    /// Directories to add to sys.path after the script's own.
    pub pythonpath: Vec<PathBuf>,
    /// `-u`: stdout and stderr unbuffered.
    pub unbuffered: bool,
    /// `-I`: ignore PYTHONPATH and PYTHONUNBUFFERED, skip `site`.
    pub isolated: bool,
    /// `-E`: ignore PYTHONPATH and PYTHONUNBUFFERED.
    pub ignore_environment: bool,
    /// `-S`: skip `site`.
    pub no_site: bool,
    /// `-X OPTION`s.
    pub xoptions: Vec<String>,
    /// `-W ARG`s.
    pub warnoptions: Vec<String>,
    /// `-O` counted.
    pub optimize: u8,
    /// Started as a python: `site` is imported, as a python would.
    pub as_python: bool,
    /// `-P`: the script's directory is not put first on sys.path.
    pub safe_path: bool,
    /// `-b` counted: sys.flags.bytes_warning.
    pub bytes_warning: u8,
    /// `-v` counted: sys.flags.verbose.
    pub verbose: u8,
    /// `-q`: sys.flags.quiet.
    pub quiet: bool,
    /// `-d`: sys.flags.debug.
    pub debug: bool,
    /// `-V` counted: print the version (with the build, twice) instead of running anything.
    pub version: u8,
}

/// What to run.
enum Source {
    File(PathBuf),
    Code(String),
    Module(String),
}

/// Run the script and return its exit status. Errors are rwsgi's own (a missing script), not
/// the script's: those become a traceback and status 1, as in python.
pub fn run(args: &Invocation) -> anyhow::Result<ExitCode> {
    if args.version > 0 {
        println!("{}", version_line(args.version > 1));
        return Ok(ExitCode::SUCCESS);
    }
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let flagged = |flag: &str| {
        std::iter::once(flag.to_owned())
            .chain(args.args.iter().cloned())
            .collect::<Vec<_>>()
    };
    // The program from stdin, as python reads it for `-` or with no script and a stdin that
    // is not a terminal; argv[0] is '-' or '', and sys.path[0] the current directory.
    let from_stdin = |argv: Vec<String>| -> anyhow::Result<(Source, Vec<String>)> {
        let mut code = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut code)
            .context("cannot read the program from stdin")?;
        Ok((Source::Code(code), argv))
    };
    let (source, argv) = match (&args.code, &args.module, args.args.split_first()) {
        (Some(code), _, _) => (Source::Code(code.clone()), flagged("-c")),
        // runpy replaces argv[0] with the module's file, as python -m does.
        (None, Some(module), _) => (Source::Module(module.clone()), flagged("-m")),
        (None, None, Some((script, _))) if script == "-" => from_stdin(args.args.clone())?,
        (None, None, Some((script, _))) => {
            (Source::File(absolute(Path::new(script))), args.args.clone())
        }
        (None, None, None) if !std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            from_stdin(vec![String::new()])?
        }
        (None, None, None) => {
            bail!("rwsgi python needs a script, -c CODE or -m MODULE (there is no REPL)")
        }
    };
    let first = match &source {
        Source::File(path) => {
            if !path.is_file() {
                bail!("can't open file {}: no such file", path.display());
            }
            let path = std::fs::canonicalize(path)
                .with_context(|| format!("can't open file {}", path.display()))?;
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        }
        Source::Code(_) | Source::Module(_) => absolute(Path::new(".")),
    };
    // PYTHONPATH comes after the script's directory, as in python (not with -E or -I).
    let env_path = std::env::var_os("PYTHONPATH")
        .filter(|_| !args.ignore_environment && !args.isolated)
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    // -P, PYTHONSAFEPATH (not with -E) or -I: no script directory first.
    let safe_path = args.safe_path
        || args.isolated
        || std::env::var_os("PYTHONSAFEPATH")
            .filter(|_| !args.ignore_environment)
            .is_some_and(|v| !v.is_empty());
    let sys_path = std::iter::once(first)
        .filter(|_| !safe_path)
        .chain(env_path)
        .chain(args.pythonpath.iter().map(|p| absolute(p)))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    // As python: -u, or PYTHONUNBUFFERED set non-empty (not with -E or -I).
    let unbuffered = args.unbuffered
        || std::env::var_os("PYTHONUNBUFFERED")
            .filter(|_| !args.ignore_environment && !args.isolated)
            .is_some_and(|v| !v.is_empty());
    let hash_seed = if args.ignore_environment || args.isolated {
        None
    } else {
        interp::hash_seed_from_env().map_err(anyhow::Error::msg)?
    };
    let flags = interp::Flags {
        xoptions: args.xoptions.clone(),
        warnoptions: args.warnoptions.clone(),
        optimize: args.optimize,
        signals: true,
        unbuffered,
        bytes_warning: args.bytes_warning,
        verbose: args.verbose,
        quiet: args.quiet,
        debug: args.debug,
        safe_path,
        hash_seed,
    };
    let interp = interp::build_with(sys_path, &flags);
    let import_site = args.as_python && !args.no_site && !args.isolated;
    let outcome = interp.enter(|vm| execute(vm, &source, argv, import_site));
    // finalize flushes stdout/stderr (print output is lost otherwise), runs atexit, and turns
    // a SystemExit into its status, printing any other exception.
    let status = interp.finalize(outcome.err());
    // As a Unix exit status: the low byte, like python's exit(256) == 0.
    Ok(ExitCode::from((status & 0xff) as u8))
}

/// python's `-V` line: "Python 3.14.0a0" (CPython's spelling of the version the interpreter
/// reports in sys.version_info); with `full`, the interpreter and rwsgi after it, as `-VV`.
fn version_line(full: bool) -> String {
    use rustpython_vm::version;
    let level = match version::RELEASELEVEL {
        "alpha" => "a",
        "beta" => "b",
        "candidate" => "rc",
        _ => "",
    };
    let serial = if level.is_empty() {
        String::new()
    } else {
        version::SERIAL.to_string()
    };
    let short = format!(
        "Python {}.{}.{}{level}{serial}",
        version::MAJOR,
        version::MINOR,
        version::MICRO
    );
    if full {
        format!(
            "{short} (RustPython {}.{}.{}, rwsgi {})",
            version::MAJOR_IMPL,
            version::MINOR_IMPL,
            version::MICRO_IMPL,
            env!("CARGO_PKG_VERSION")
        )
    } else {
        short
    }
}

fn execute(
    vm: &VirtualMachine,
    source: &Source,
    argv: Vec<String>,
    import_site: bool,
) -> PyResult<()> {
    if import_site {
        // As python does at start: site, and through it sitecustomize (pip's build
        // environments put their packages on sys.path that way).
        // sys.flags.no_site is set (the server never imports site), so site's import does not
        // run its main(): call it.
        vm.import("site", 0)?.get_attr("main", vm)?.call((), vm)?;
    }
    let argv = argv
        .into_iter()
        .map(|a| vm.ctx.new_str(a).into())
        .collect::<Vec<_>>();
    vm.sys_module.set_attr("argv", vm.ctx.new_list(argv), vm)?;
    let (kind, target) = match source {
        Source::File(path) => ("file", path.to_string_lossy().into_owned()),
        Source::Code(code) => ("code", code.clone()),
        Source::Module(name) => ("module", name.clone()),
    };
    let script = vm.import("rwsgi._script", 0)?.get_attr("_script", vm)?;
    script
        .get_attr("main", vm)?
        .call((vm.ctx.new_str(kind), vm.ctx.new_str(target)), vm)
        .map(drop)
}
