//! `rwsgi check APP` and `rwsgi run --check`: the edge of the check. The requests and the
//! validation are Python (`pylib/rwsgi/_check.py`, driven by `python::check`); this prints the
//! findings (stdout for `check`, the server log for `run --check`) and turns them into an exit
//! status. `run --check` checks in a child process forked before anything is bound, so that
//! the master stays free of interpreters and of whatever the app's import starts.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::edge::cli::CheckArgs;
use crate::edge::config::{self, AppSpec, Config};
use crate::observe::log;
use crate::process::sys::{self, ExitStatus, Forked};
use crate::process::worker;
use crate::python::app::AppSettings;
use crate::python::check::{self, CheckError, Report};

/// Exit status of `rwsgi check` (and of `run --check`'s child) when the app cannot be loaded;
/// 1 means findings.
const LOAD_FAILED: u8 = 2;

/// Exit status of `run --check`'s child when rwsgi's side of the check failed.
const CHECK_FAILED: u8 = 3;

/// How many `--timeout`s `run --check` gives the check as a whole (loading the app, then its
/// requests) before it gives up on an app that hangs.
const CHECK_TIMEOUTS: u32 = 2;

/// "1 finding", "3 findings".
fn findings(n: usize) -> String {
    format!("{n} finding{}", if n == 1 { "" } else { "s" })
}

/// `rwsgi check`: findings and the summary on stdout; exit 0 when the app passed, 1 with
/// findings, 2 when it cannot be loaded.
pub fn command(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let (app, pythonpath) = AppSpec::from_args(&args.source)?;
    // wsgi.multiprocess as `rwsgi run` with its default --workers would set it.
    let multiprocess = config::default_workers() > 1;
    let hash_seed = crate::python::interp::hash_seed_from_env().map_err(anyhow::Error::msg)?;
    let settings = worker::app_settings_of(&app, &pythonpath, None, multiprocess, hash_seed);
    let mount = match &args.mount {
        Some(prefix) => config::parse_mount(prefix)?.unwrap_or_default(),
        None => String::new(),
    };
    let report = match check::run(&settings, &mount) {
        Ok(report) => report,
        Err(CheckError::Load(e)) => {
            e.log_traceback();
            eprintln!("rwsgi: error: cannot load the app: {e}");
            return Ok(ExitCode::from(LOAD_FAILED));
        }
        Err(e) => return Err(e.into()),
    };
    if args.verbose {
        for detail in &report.details {
            eprintln!("{detail}");
        }
    }
    let Report {
        findings: found,
        requests,
        details,
    } = report;
    for finding in &found {
        println!("{finding}");
    }
    if found.is_empty() {
        println!("rwsgi check: {} passed {requests} requests", app.display());
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "rwsgi check: {} over {requests} requests",
        findings(found.len())
    );
    if !args.verbose && !details.is_empty() {
        eprintln!(
            "rwsgi check: --verbose shows the tracebacks and what the app wrote to wsgi.errors"
        );
    }
    Ok(ExitCode::FAILURE)
}

/// `rwsgi run --check`: check the app in a child process before anything is bound; true when it
/// passed. Findings, tracebacks and the verdict go to the log; an app that cannot be loaded is
/// an error, as without `--check`.
pub fn before_run(config: &Config) -> anyhow::Result<bool> {
    let settings = worker::app_settings(config);
    let (mut reader, writer) = std::io::pipe().context("cannot create a pipe for --check")?;
    // SAFETY: `run --check` forks from main before anything is bound and before any thread,
    // runtime or interpreter exists in this process.
    let pid = match unsafe { sys::fork() }.context("cannot fork to check the app")? {
        Forked::Child => {
            drop(reader);
            let mount = config.mount.clone().unwrap_or_default();
            std::process::exit(i32::from(in_child(&settings, &mount, writer)));
        }
        Forked::Parent(pid) => pid,
    };
    drop(writer);
    let read = read_within(
        &mut reader,
        config.timeouts.request.map(|t| t * CHECK_TIMEOUTS),
    );
    if read.is_err() {
        sys::kill(pid, libc::SIGKILL);
    }
    let status = sys::wait_pid(pid).context("cannot wait for the check of the app")?;
    let text = read?;
    let text = String::from_utf8_lossy(&text);
    match status {
        ExitStatus::Code(0) => {}
        ExitStatus::Code(c) if c == i32::from(LOAD_FAILED) => {
            bail!("cannot load the app: {}", text.trim_end())
        }
        ExitStatus::Code(c) if c == i32::from(CHECK_FAILED) => bail!("{}", text.trim_end()),
        ExitStatus::Code(c) => bail!("the check of the app exited with status {c}"),
        ExitStatus::Signal(s) => bail!("the check of the app died (signal {s})"),
    }
    let mut lines = text.lines();
    let requests = lines.next().unwrap_or_default();
    let found: Vec<&str> = lines.collect();
    if found.is_empty() {
        log::info(&format!(
            "rwsgi run --check: {} passed {requests} requests",
            config.app.display()
        ));
        return Ok(true);
    }
    for finding in &found {
        log::warning(finding);
    }
    log::error(&format!(
        "rwsgi run --check: {}; fix {} or run without --check",
        findings(found.len()),
        if found.len() == 1 { "it" } else { "them" }
    ));
    Ok(false)
}

/// Everything `pipe` carries until its other end closes, within `limit` (if any).
fn read_within(pipe: &mut std::io::PipeReader, limit: Option<Duration>) -> anyhow::Result<Vec<u8>> {
    use std::os::fd::AsRawFd;
    let deadline = limit.map(|l| (Instant::now() + l, l));
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let wait = match deadline {
            Some((at, limit)) => {
                let left = at.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    bail!(
                        "--check did not end within {}s ({CHECK_TIMEOUTS} times --timeout): \
                         does the app hang on one of its requests?",
                        limit.as_secs()
                    );
                }
                left
            }
            None => Duration::from_secs(3600),
        };
        let ready = sys::poll_readable(&[pipe.as_raw_fd()], wait)
            .context("cannot wait for the check's findings")?;
        if ready.first() != Some(&true) {
            continue;
        }
        match pipe.read(&mut buf) {
            Ok(0) => return Ok(text),
            Ok(n) => text.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context("cannot read the check's findings"),
        }
    }
}

/// The child of [`before_run`]: check (under the `--mount` prefix `mount`), log the details, and send the request count and the
/// findings, a line each, down `pipe`; its exit status says how it went.
fn in_child(settings: &AppSettings, mount: &str, mut pipe: std::io::PipeWriter) -> u8 {
    match check::run(settings, mount) {
        Ok(report) => {
            for detail in &report.details {
                log::python("warning", detail);
            }
            let mut text = format!("{}\n", report.requests);
            for finding in &report.findings {
                text.push_str(finding);
                text.push('\n');
            }
            if pipe.write_all(text.as_bytes()).is_ok() {
                0
            } else {
                CHECK_FAILED
            }
        }
        Err(CheckError::Load(e)) => {
            e.log_traceback();
            let _ = pipe.write_all(e.to_string().as_bytes());
            LOAD_FAILED
        }
        Err(e) => {
            let _ = pipe.write_all(e.to_string().as_bytes());
            CHECK_FAILED
        }
    }
}
