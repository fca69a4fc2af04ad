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
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rwsgi: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    rwsgi::config_file::apply(&args)?;
    let cli = Cli::parse_from(args);
    match cli.command {
        Command::Run(args) => {
            let config = Config::from_cli(&args)?;
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
        Command::Python(args) => rwsgi::python::script::run(&args),
    }
}
