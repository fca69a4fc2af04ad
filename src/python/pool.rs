//! The worker's Python threads. Each builds its own interpreter, loads its own copy of the app,
//! then takes jobs from the shared queue one at a time until the queue closes.

use std::sync::Arc;
use std::thread::JoinHandle;

use rustpython_vm::{
    PyObjectRef, PyResult, VirtualMachine,
    builtins::{PyBaseExceptionRef, PyStr, PyTuple},
};
use thiserror::Error;

use crate::config::AppSpec;

use super::convert::{self, EnvironConsts};
use super::native::{self, ChannelSource};
use super::{Job, interp};

/// Stack for each Python thread: deep framework call chains recurse through Rust frames.
const PYTHON_STACK: usize = 16 * 1024 * 1024;

/// Jobs queued per Python thread before the HTTP side waits: enough to keep a thread busy
/// between requests, small enough that a stalled app pushes back on accept.
const QUEUE_PER_THREAD: usize = 4;

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

/// What every Python thread needs to load the app.
#[derive(Debug)]
pub struct AppSettings {
    pub spec: AppSpec,
    pub sys_path: Vec<String>,
    /// A bundled executable's path: its files are mounted read-only before the app loads.
    pub bundle: Option<String>,
    pub multiprocess: bool,
}

/// The running Python threads and the queue that feeds them.
pub struct Pool {
    jobs: flume::Sender<Job>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Start `threads` Python threads and wait until each has loaded the app.
    pub fn start(settings: AppSettings, threads: usize) -> Result<Self, LoadError> {
        let settings = Arc::new(settings);
        let (jobs, queue) = flume::bounded(threads * QUEUE_PER_THREAD);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let mut handles = Vec::with_capacity(threads);
        for i in 0..threads {
            let settings = Arc::clone(&settings);
            let queue = queue.clone();
            let ready = ready_tx.clone();
            let handle = std::thread::Builder::new()
                .name(format!("python-{i}"))
                .stack_size(PYTHON_STACK)
                .spawn(move || python_thread(&settings, &queue, ready))
                .map_err(|e| LoadError::Internal(format!("cannot start a Python thread: {e}")))?;
            handles.push(handle);
        }
        drop(ready_tx);
        let pool = Self {
            jobs,
            threads: handles,
        };
        for _ in 0..threads {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    return Err(LoadError::Internal(
                        "a Python thread stopped while loading the app".to_owned(),
                    ));
                }
            }
        }
        Ok(pool)
    }

    /// Where the HTTP side sends jobs.
    pub fn sender(&self) -> flume::Sender<Job> {
        self.jobs.clone()
    }

    /// Close the queue and wait for every thread to finish its job and exit.
    pub fn shutdown(self) {
        drop(self.jobs);
        for handle in self.threads {
            let _ = handle.join();
        }
    }
}

/// One interpreter's loaded state.
struct Loaded {
    app: PyObjectRef,
    handle: PyObjectRef,
    consts: EnvironConsts,
}

fn python_thread(
    settings: &AppSettings,
    queue: &flume::Receiver<Job>,
    ready: std::sync::mpsc::Sender<Result<(), LoadError>>,
) {
    let interp = interp::build(settings.sys_path.clone());
    let loaded = interp.enter(|vm| load(vm, settings));
    let loaded = match loaded {
        Ok(loaded) => {
            let _ = ready.send(Ok(()));
            loaded
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    drop(ready);
    // Waiting happens outside the interpreter: a thread blocked while attached could stall
    // the interpreter's stop-the-world pauses (RUSTPYTHON.md).
    while let Ok(job) = queue.recv() {
        interp.enter(|vm| run(vm, &loaded, job));
    }
    interp.enter(|_vm| drop(loaded));
    interp.finalize(None);
}

pub(super) fn exception_text(vm: &VirtualMachine, exc: &PyBaseExceptionRef) -> String {
    let mut text = String::new();
    if vm.write_exception(&mut text, exc).is_err() {
        text = "(the exception could not be formatted)".to_owned();
    }
    text
}

fn internal(vm: &VirtualMachine) -> impl Fn(PyBaseExceptionRef) -> LoadError + '_ {
    move |exc| LoadError::Internal(exception_text(vm, &exc))
}

/// `rwsgi.<name>` (the frozen pylib package's submodule).
fn import(vm: &VirtualMachine, name: &'static str) -> PyResult<PyObjectRef> {
    vm.import(vm.ctx.intern_str(format!("rwsgi.{name}").as_str()), 0)?
        .get_attr(name, vm)
}

fn load(vm: &VirtualMachine, settings: &AppSettings) -> Result<Loaded, LoadError> {
    let (kind, target, callable) = match &settings.spec {
        AppSpec::File { path, callable } => ("file", path.to_string_lossy().into_owned(), callable),
        AppSpec::Module { module, callable } => ("module", module.clone(), callable),
    };
    if let Some(archive) = &settings.bundle {
        import(vm, "_bundle")
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
                    vm.ctx.new_str(callable.as_str()),
                ),
                vm,
            )
        })
        .map_err(internal(vm))?;
    let pair = outcome
        .downcast_ref::<PyTuple>()
        .filter(|t| t.len() == 2)
        .ok_or_else(|| LoadError::Internal("rwsgi._loader.load returned a non-pair".to_owned()))?;
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
    let handler = import(vm, "_handler").map_err(internal(vm))?;
    let handler = handler
        .downcast::<rustpython_vm::builtins::PyModule>()
        .map_err(|_| LoadError::Internal("rwsgi._handler is not a module".to_owned()))?;
    let handle = handler.get_attr("handle", vm).map_err(internal(vm))?;
    let consts = EnvironConsts::new(vm, &handler, settings.multiprocess).map_err(internal(vm))?;
    Ok(Loaded {
        app,
        handle,
        consts,
    })
}

fn run(vm: &VirtualMachine, loaded: &Loaded, job: Job) {
    let outcome: PyResult<()> = (|| {
        let input = match job.body {
            Some(body) => native::new_input(ChannelSource::new(Some(body)), vm).into(),
            None => loaded.consts.empty_input.clone(),
        };
        let reply = native::new_reply(job.reply, vm);
        let environ = convert::environ(vm, &job.environ, &loaded.consts, input)?;
        loaded
            .handle
            .call((loaded.app.clone(), environ, reply), vm)
            .map(drop)
    })();
    if let Err(exc) = outcome {
        // rwsgi._handler catches the app's errors itself; reaching here is our bug. The reply
        // sender is gone, so the HTTP side answers 500 or cuts the connection.
        crate::log::error(&format!(
            "internal error running the app: {}",
            exception_text(vm, &exc).trim_end()
        ));
    }
}
