//! The `rwsgi` binary: parse the command line, validate it, run the master. Errors print as
//! one line, `rwsgi: error: ...`, and exit 1.

use std::process::ExitCode;

use clap::Parser;

use rwsgi::edge::cli::{Cli, Command};
use rwsgi::edge::python_cmdline;

/// RustPython allocates on every object; mimalloc is faster than glibc's malloc at that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use rwsgi::edge::config::Config;
use rwsgi::python::script::Invocation;

fn main() -> ExitCode {
    // mimalloc asks for transparent huge pages on its arenas: each first touch then zeroes
    // 2 MiB. Off for this process and its workers: hello-world worker RSS 64 -> 50 MiB and
    // start to first 200 150 -> 75 ms, throughput unchanged (BENCHMARKS.md). Best effort.
    let _ = rwsgi::process::sys::disable_transparent_huge_pages();
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rwsgi: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A first argument that names an existing file and no subcommand: `sys.executable
/// script.py` (CPython's own tests and tools re-run the interpreter on a script that way).
fn is_python_script(arg: &std::ffi::OsStr) -> bool {
    use clap::CommandFactory;
    let text = arg.to_string_lossy();
    if text.starts_with('-') || text == "help" || !std::path::Path::new(arg).is_file() {
        return false;
    }
    // Built only for an existing file (rarely): clap's whole command tree costs start-up.
    !Cli::command()
        .get_subcommands()
        .any(|c| c.get_name() == text || c.get_all_aliases().any(|a| a == text))
}

fn run() -> anyhow::Result<ExitCode> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Started as a python: behave as `rwsgi python`. Either under a python name (pip's build
    // steps run `sys.executable`, which `rwsgi pip` points at such a link), or with python's
    // own command line: `sys.executable` is this binary, so `subprocess.run([sys.executable,
    // '-c', ...])`, `-m json.tool` and multiprocessing's spawn arrive here that way.
    let python_name = args.first().is_some_and(|argv0| {
        std::path::Path::new(argv0)
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("python"))
    });
    let as_python = python_name
        || args
            .get(1)
            .is_some_and(|a| python_cmdline::is_python_option(a) || is_python_script(a));
    if as_python {
        args.insert(1, "python".into());
    }
    if args.get(1).is_some_and(|a| a == "python") {
        python_cmdline::lay_out(&mut args);
    }
    let embedded = if as_python {
        None
    } else {
        rwsgi::edge::bundle::detect()
    };
    if let Some(embedded) = &embedded {
        embedded.make_run_args(&mut args);
    }
    rwsgi::edge::config_file::apply(&args)?;
    let cli = Cli::parse_from(args);
    match cli.command {
        Command::Run(args) => {
            let mut config = Config::from_cli(&args)?;
            config.bundle = embedded
                .as_ref()
                .map(rwsgi::edge::bundle::Embedded::bundled);
            if args.print_config {
                print!("{}", config.to_toml());
                return Ok(ExitCode::SUCCESS);
            }
            rwsgi::observe::log::configure(
                config.log_level,
                &config.access_log,
                config.access_format(),
                config.log_json,
            )?;
            if config.check && !rwsgi::edge::check::before_run(&config)? {
                return Ok(ExitCode::FAILURE);
            }
            rwsgi::process::supervisor::run(&config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(args) => rwsgi::edge::check::command(&args),
        Command::Python(mut args) => {
            args.as_python = as_python;
            rwsgi::python::script::run(&args.invocation())
        }
        Command::Pip(args) => rwsgi::python::script::run(&Invocation {
            module: Some("rwsgi._pip".to_owned()),
            args: args.args,
            ..Default::default()
        }),
        Command::Bundle(args) => {
            let plan = rwsgi::edge::bundle::Plan::new(
                &args.app,
                args.callable.as_deref(),
                &args.pythonpath,
                &args.output,
            )?;
            let (exe, base_len) = rwsgi::edge::bundle::rwsgi_binary()?;
            rwsgi::python::bundler::write(&plan.archive(exe, base_len))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
