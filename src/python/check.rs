//! `rwsgi check` on the Python side: an interpreter with the app loaded exactly as `run` loads
//! it, handed to `pylib/rwsgi/_check.py`, which calls it with a few requests and validates what
//! it does. Takes plain settings and prints nothing: the edge reports.

use rustpython_vm::{
    PyObjectRef, PyResult, VirtualMachine,
    builtins::{PyStr, PyTuple},
};
use thiserror::Error;

use super::app::{self, App, AppSettings, LoadError};
use super::call::exception_text;
use super::interp;
use crate::wsgi::response::HOP_BY_HOP;

/// What the check found.
#[derive(Debug, Default)]
pub struct Report {
    /// One line each, `METHOD PATH: problem: fix`, each problem once.
    pub findings: Vec<String>,
    /// How many requests the app was given.
    pub requests: usize,
    /// Tracebacks and what the app wrote to wsgi.errors, each under its request.
    pub details: Vec<String>,
}

/// Why there is no report.
#[derive(Debug, Error)]
pub enum CheckError {
    /// The app could not be loaded, as `run` would say it.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// rwsgi's side failed (a bug): the Python error as text.
    #[error("internal error while checking the app: {0}")]
    Internal(String),
}

/// Build an interpreter, load the app into it as `run` does, and check it as served under
/// `script_name` (`--mount`; "" at the root).
pub fn run(settings: &AppSettings, script_name: &str) -> Result<Report, CheckError> {
    let interp = interp::build(settings.sys_path.clone(), settings.hash_seed);
    let outcome = interp.enter(|vm| {
        let app = App::load(vm, settings, None)?;
        check(vm, app.callable(), settings.multiprocess, script_name)
            .map_err(|e| CheckError::Internal(exception_text(vm, &e).trim_end().to_owned()))
    });
    // Flushes what the app printed (lost otherwise) and runs its atexit hooks.
    interp.finalize(None);
    outcome
}

/// `rwsgi._check.check(app, multiprocess, hop_by_hop, script_name)`, its answer as Rust values.
fn check(
    vm: &VirtualMachine,
    app: &PyObjectRef,
    multiprocess: bool,
    script_name: &str,
) -> PyResult<Report> {
    let hop_by_hop = HOP_BY_HOP
        .iter()
        .map(|name| vm.ctx.new_str(*name).into())
        .collect();
    let answer = app::import(vm, "_check")?.get_attr("check", vm)?.call(
        (
            app.clone(),
            vm.ctx.new_bool(multiprocess),
            vm.ctx.new_list(hop_by_hop),
            vm.ctx.new_str(script_name),
        ),
        vm,
    )?;
    let Some([findings, requests, details]) = answer
        .downcast_ref::<PyTuple>()
        .and_then(|t| <&[PyObjectRef; 3]>::try_from(t.as_slice()).ok())
    else {
        return Err(vm.new_type_error("rwsgi._check.check returned no triple"));
    };
    Ok(Report {
        findings: lines(vm, findings)?,
        requests: requests.try_to_value(vm)?,
        details: lines(vm, details)?,
    })
}

/// A list of str as Strings (a lone surrogate shows as U+FFFD).
fn lines(vm: &VirtualMachine, list: &PyObjectRef) -> PyResult<Vec<String>> {
    vm.extract_elements_with(list, |item| {
        item.downcast_ref::<PyStr>()
            .map(|s| s.to_string_lossy().into_owned())
            .ok_or_else(|| vm.new_type_error("rwsgi._check.check gave a line that is not a str"))
    })
}
