//! The `rwsgi` binary: parse the command line, validate it, run the master. Errors print as
//! one line, `rwsgi: error: ...`, and exit 1.

use std::process::ExitCode;

use clap::Parser;

use rwsgi::cli::{Cli, Command};

/// RustPython allocates on every object; mimalloc is faster than glibc's malloc at that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use rwsgi::config::Config;

fn main() -> ExitCode {
    // mimalloc asks for transparent huge pages on its arenas: each first touch then zeroes
    // 2 MiB. Off for this process and its workers: hello-world worker RSS 64 -> 50 MiB and
    // start to first 200 150 -> 75 ms, throughput unchanged (BENCHMARKS.md). Best effort.
    let _ = rwsgi::sys::disable_transparent_huge_pages();
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rwsgi: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Started under a python name (pip's build steps run `sys.executable`, which `rwsgi pip`
    // points at such a link): behave as `rwsgi python`.
    let as_python = args.first().is_some_and(|argv0| {
        std::path::Path::new(argv0)
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("python"))
    });
    if as_python {
        args.insert(1, "python".into());
    }
    let embedded = if as_python {
        None
    } else {
        rwsgi::bundle::detect()
    };
    if let Some(embedded) = &embedded {
        embedded.make_run_args(&mut args);
    }
    rwsgi::config_file::apply(&args)?;
    let cli = Cli::parse_from(args);
    match cli.command {
        Command::Run(args) => {
            let mut config = Config::from_cli(&args)?;
            config.bundle = embedded;
            if args.print_config {
                print!("{}", config.to_toml());
                return Ok(ExitCode::SUCCESS);
            }
            rwsgi::log::configure(
                config.log_level,
                &config.access_log,
                config.access_format(),
                config.log_json,
            )?;
            rwsgi::supervisor::run(&config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Python(mut args) => {
            args.as_python = as_python;
            rwsgi::python::script::run(&args)
        }
        Command::Pip(args) => rwsgi::python::script::run(&rwsgi::cli::PythonArgs {
            module: Some("rwsgi._pip".to_owned()),
            args: args.args,
            ..Default::default()
        }),
        Command::Bundle(args) => {
            let plan = rwsgi::bundle::Plan::new(
                &args.app,
                args.callable.as_deref(),
                &args.pythonpath,
                &args.output,
            )?;
            let (exe, base_len) = rwsgi::bundle::rwsgi_binary()?;
            rwsgi::python::bundler::write(&plan, &exe, base_len)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
