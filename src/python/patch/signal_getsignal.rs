//! `signal.getsignal` for a handler not set from Python.
//!
//! CPython fills its handler table at start from the process's dispositions: `SIG_DFL`,
//! `SIG_IGN`, or `None` for a handler installed outside Python. RustPython 0.6.0 does so only
//! when it installs its own signal handlers (vm/src/stdlib/_signal.rs,
//! `init_signal_handlers`), which the server turns off (signals belong to the server), and
//! otherwise answers `None` for every signal. Code that saves a handler and restores it later
//! (`old = signal.getsignal(SIGALRM); signal.signal(SIGALRM, h); ...; signal.signal(SIGALRM,
//! old)`) then failed with TypeError. Reproducer, in an app: `signal.getsignal(signal.SIGALRM)`
//! must be `Handlers.SIG_DFL`.
//!
//! `_signal.getsignal` (behind `signal.getsignal`) is replaced: RustPython's answer when it has
//! one, else the disposition read with sigaction(2).

use rustpython_vm::{
    PyObjectRef, PyResult, VirtualMachine,
    function::{ItemDoc, PyMethodDef, PyMethodFlags},
};

use crate::sys::{self, Disposition};

static DEF: PyMethodDef = PyMethodDef::new_const(
    "getsignal",
    getsignal,
    PyMethodFlags::empty(),
    ItemDoc::static_text(
        "Return the current action for the given signal: SIG_IGN, SIG_DFL, None (a handler not installed from Python), or a callable.",
    ),
);

/// The original, kept on the module under this name.
const ORIGINAL_NAME: &str = "_rwsgi_getsignal";

fn getsignal(signalnum: i32, vm: &VirtualMachine) -> PyResult {
    let module = vm.import("_signal", 0)?;
    let current = module.get_attr(ORIGINAL_NAME, vm)?.call((signalnum,), vm)?;
    if !vm.is_none(&current) {
        return Ok(current);
    }
    Ok(match sys::signal_disposition(signalnum) {
        Ok(Disposition::Default) => vm.ctx.new_int(libc::SIG_DFL).into(),
        Ok(Disposition::Ignored) => vm.ctx.new_int(libc::SIG_IGN).into(),
        Ok(Disposition::Handled) | Err(_) => current,
    })
}

/// Replace `_signal.getsignal` in this interpreter.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let module = vm.import("_signal", 0)?;
    let original: PyObjectRef = module.get_attr("getsignal", vm)?;
    module.set_attr(ORIGINAL_NAME, original, vm)?;
    module.set_attr("getsignal", DEF.build_function(&vm.ctx), vm)?;
    Ok(())
}
