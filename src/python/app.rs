//! The app as one interpreter holds it: loading it (and what every call needs) once, then
//! serving one job at a time: the environ dict, the call, the response.

use std::path::PathBuf;

use rustpython_vm::{
    Py, PyObjectRef, PyResult, VirtualMachine,
    builtins::{PyModule, PyStr, PyTuple, PyType},
};
use thiserror::Error;

use super::call::{self, CallConsts, exception_text};
use super::convert::{self, EnvironConsts};
use super::native::{self, ChannelSource};
use crate::job::{BodyChannel, Reply};
use crate::wsgi::environ::Environ;

/// Why the app could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The app's own error: one line for the user, the traceback for the log.
    #[error("{message}")]
    App { message: String, traceback: String },
    /// rwsgi's side failed (a bug): the Python error as text.
    #[error("internal error while loading the app: {0}")]
    Internal(String),
}

impl LoadError {
    /// Put the app's traceback, if any, in the log (the one-line error goes to the user).
    pub fn log_traceback(&self) {
        if let Self::App { traceback, .. } = self
            && !traceback.is_empty()
        {
            crate::observe::log::python("error", traceback.trim_end());
        }
    }
}

/// Where the app's module comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppSource {
    /// A file loaded by path.
    File(PathBuf),
    /// A module imported from sys.path (dotted).
    Module(String),
}

/// What every Python thread needs to load the app: plain values, resolved by the edge.
#[derive(Debug)]
pub struct AppSettings {
    pub source: AppSource,
    /// The WSGI callable's name in the module (dotted).
    pub callable: String,
    pub sys_path: Vec<String>,
    /// A bundled executable's path: its files are mounted read-only before the app loads.
    pub bundle: Option<String>,
    pub multiprocess: bool,
    /// `PYTHONHASHSEED` as a seed (`None`: random), for every interpreter of the app.
    pub hash_seed: Option<u32>,
}

/// The loaded app of one interpreter.
pub struct App {
    app: PyObjectRef,
    environ: EnvironConsts,
    call: CallConsts,
    /// `rwsgi._handler.start_watchdog`, bound before the app's code ran.
    start_watchdog: PyObjectRef,
}

fn internal(
    vm: &VirtualMachine,
) -> impl Fn(rustpython_vm::builtins::PyBaseExceptionRef) -> LoadError + '_ {
    move |exc| LoadError::Internal(exception_text(vm, &exc))
}

/// `rwsgi.<name>` (the frozen pylib package's submodule).
pub(super) fn import(vm: &VirtualMachine, name: &'static str) -> PyResult<PyObjectRef> {
    vm.import(vm.ctx.intern_str(format!("rwsgi.{name}").as_str()), 0)?
        .get_attr(name, vm)
}

/// A class of `module`, by name.
fn class(
    vm: &VirtualMachine,
    module: &Py<PyModule>,
    name: &'static str,
) -> Result<rustpython_vm::builtins::PyTypeRef, LoadError> {
    module
        .get_attr(name, vm)
        .map_err(internal(vm))?
        .downcast::<PyType>()
        .map_err(|_| LoadError::Internal(format!("rwsgi._handler.{name} is not a class")))
}

impl App {
    /// Load the app into `vm`'s interpreter as `settings` say.
    /// `watch`: this thread's line to its watchdog, started here, before the app's code; `None`
    /// when the serving thread is not known yet (`--preload`: see [`App::watch`]).
    pub fn load(
        vm: &VirtualMachine,
        settings: &AppSettings,
        watch: Option<&std::sync::Arc<super::watchdog::ThreadWatch>>,
    ) -> Result<Self, LoadError> {
        let (kind, target) = match &settings.source {
            AppSource::File(path) => ("file", path.to_string_lossy().into_owned()),
            AppSource::Module(module) => ("module", module.clone()),
        };
        // Everything rwsgi needs from Python is imported and bound before the app's first line
        // runs: an app may install an import hook (Mercurial's demandimport replaces
        // `__import__`) or edit sys.modules, and nothing of ours may go through those later.
        let handler = import(vm, "_handler")
            .map_err(internal(vm))?
            .downcast::<PyModule>()
            .map_err(|_| LoadError::Internal("rwsgi._handler is not a module".to_owned()))?;
        let environ =
            EnvironConsts::new(vm, &handler, settings.multiprocess).map_err(internal(vm))?;
        let start_watchdog = handler
            .get_attr("start_watchdog", vm)
            .map_err(internal(vm))?;
        if let Some(watch) = watch {
            super::watchdog::start(vm, &start_watchdog, watch).map_err(internal(vm))?;
        }
        let call = CallConsts::new(
            class(vm, &handler, "ClientDisconnected")?,
            class(vm, &handler, "FileWrapper")?,
        )
        .map_err(|e| LoadError::Internal(format!("the 500 response head: {e}")))?;
        if let Some(archive) = &settings.bundle {
            import(vm, "_mount")
                .and_then(|bundle| bundle.get_attr("mount", vm))
                .and_then(|mount| mount.call((vm.ctx.new_str(archive.as_str()),), vm))
                .map_err(internal(vm))?;
        }
        let loader = import(vm, "_loader").map_err(internal(vm))?;
        let outcome = loader
            .get_attr("load", vm)
            .and_then(|load| {
                load.call(
                    (
                        vm.ctx.new_str(kind),
                        vm.ctx.new_str(target),
                        vm.ctx.new_str(settings.callable.as_str()),
                    ),
                    vm,
                )
            })
            .map_err(internal(vm))?;
        let pair = outcome
            .downcast_ref::<PyTuple>()
            .filter(|t| t.len() == 2)
            .ok_or_else(|| {
                LoadError::Internal("rwsgi._loader.load returned a non-pair".to_owned())
            })?;
        let (app, failure) = (pair.as_slice()[0].clone(), pair.as_slice()[1].clone());
        if !vm.is_none(&failure) {
            let text = |i: usize| -> String {
                failure
                    .downcast_ref::<PyTuple>()
                    .and_then(|t| t.as_slice().get(i).cloned())
                    .and_then(|o| {
                        o.downcast_ref::<PyStr>()
                            .map(|s| s.to_string_lossy().into_owned())
                    })
                    .unwrap_or_default()
            };
            return Err(LoadError::App {
                message: text(0),
                traceback: text(1),
            });
        }
        Ok(Self {
            app,
            environ,
            call,
            start_watchdog,
        })
    }

    /// The WSGI callable itself.
    pub(super) fn callable(&self) -> &PyObjectRef {
        &self.app
    }

    /// Start the watchdog of the thread that calls this, for an app loaded without one.
    pub fn watch(
        &self,
        vm: &VirtualMachine,
        watch: &std::sync::Arc<super::watchdog::ThreadWatch>,
    ) -> Result<(), LoadError> {
        super::watchdog::start(vm, &self.start_watchdog, watch).map_err(internal(vm))
    }

    /// Run one request to the end: its response, or its failure, has gone to the HTTP side.
    pub fn run_request(
        &self,
        vm: &VirtualMachine,
        environ: Environ,
        body: Option<BodyChannel>,
        reply: flume::Sender<Reply>,
    ) {
        let input = match body {
            Some(body) => native::new_input(ChannelSource::new(Some(body)), vm).into(),
            None => self.environ.empty_input.clone(),
        };
        match convert::environ(vm, &environ, &self.environ, input) {
            Ok(environ) => call::call_app(vm, &self.app, environ, reply, &self.call),
            // Our bug, not the app's: the reply sender is dropped, so the HTTP side answers 500.
            Err(exc) => crate::observe::log::error(&format!(
                "internal error building the environ: {}",
                exception_text(vm, &exc).trim_end()
            )),
        }
    }
}
