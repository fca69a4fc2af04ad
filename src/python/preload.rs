//! `--preload`: the app loaded once, in the master, before the workers fork, so that every
//! worker starts from it and shares its memory copy-on-write. The master runs no Python
//! thread and no runtime. Forking goes through the interpreter's own `os.fork()`: the child
//! then gets what CPython does after a fork (the interpreter's locks and thread table
//! repaired, the `os.register_at_fork` hooks run, so `random` reseeds in each worker), and the
//! worker's first Python thread serves from this interpreter on the thread that forked. The
//! loaded objects are frozen (`gc.freeze()`) before the first fork.

use rustpython_vm::{PyObjectRef, VirtualMachine, convert::TryFromObject};

use super::app::{App, AppSettings, LoadError};
use super::call::exception_text;
use super::interp;
use crate::process::sys::Forked;

/// An interpreter with the app loaded, owned by the thread that built it.
pub struct Preloaded {
    pub(super) interp: rustpython_vm::Interpreter,
    pub(super) app: App,
    /// `posix.fork`, bound before the app's code ran (an app may replace `os.fork`).
    fork: PyObjectRef,
}

impl Preloaded {
    /// Build an interpreter and load the app into it, on this thread.
    pub fn load(settings: &AppSettings) -> Result<Self, LoadError> {
        let interp = interp::build(settings.sys_path.clone(), settings.hash_seed);
        let loaded = interp.enter(|vm| {
            let fork = vm
                .import("posix", 0)
                .and_then(|posix| posix.get_attr("fork", vm))
                .map_err(|e| LoadError::Internal(exception_text(vm, &e)))?;
            let app = App::load(vm, settings, None)?;
            // What the import built lives as long as the workers do. Frozen (what gunicorn
            // users do with gc.freeze() before forking), it is left out of every collection,
            // so the workers' collectors never write to the inherited pages and break their
            // sharing; the garbage the import left is collected first.
            vm.state.gc.collect_force(2);
            vm.state.gc.freeze();
            Ok::<_, LoadError>((fork, app))
        });
        let (fork, app) = loaded?;
        Ok(Self { interp, app, fork })
    }

    /// Fork the process through the interpreter's `os.fork()`.
    pub fn fork(&self) -> std::io::Result<Forked> {
        self.interp.enter(|vm: &VirtualMachine| {
            let pid = self
                .fork
                .call((), vm)
                .and_then(|pid| i32::try_from_object(vm, pid))
                .map_err(|e| std::io::Error::other(exception_text(vm, &e).trim_end().to_owned()))?;
            Ok(if pid == 0 {
                Forked::Child
            } else {
                Forked::Parent(pid)
            })
        })
    }
}
