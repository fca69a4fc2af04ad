//! `signal.getsignal` and `signal.signal`'s answer for a handler not set from Python.
//!
//! CPython fills its handler table at start from the process's dispositions: `SIG_DFL`,
//! `SIG_IGN`, or `None` for a handler installed outside Python. RustPython 0.6.0 does so only
//! when it installs its own signal handlers (vm/src/stdlib/_signal.rs,
//! `init_signal_handlers`), which the server turns off (signals belong to the server), and
//! otherwise answers `None` for every signal, from `getsignal` and as the previous handler
//! `signal.signal` returns. Code that saves a handler and restores it later failed with
//! TypeError: `old = signal.signal(SIGALRM, h); ...; signal.signal(SIGALRM, old)` (the usual
//! way to put a time limit on a call) and `old = signal.getsignal(SIGALRM)`, then the same.
//! Reproducer, in an app: `signal.getsignal(signal.SIGALRM)` and
//! `signal.signal(signal.SIGALRM, signal.SIG_IGN)` must both be `Handlers.SIG_DFL`.
//!
//! `_signal.getsignal` and `_signal.signal` (behind `signal.getsignal` and `signal.signal`)
//! are replaced: RustPython's answer when it has one, else the disposition sigaction(2)
//! reported (before the change, for `signal`).

use rustpython_vm::{
    PyObjectRef, PyResult, VirtualMachine,
    function::{ItemDoc, PyMethodDef, PyMethodFlags},
};

use crate::process::sys::{self, Disposition};

static GETSIGNAL: PyMethodDef = PyMethodDef::new_const(
    "getsignal",
    getsignal,
    PyMethodFlags::empty(),
    ItemDoc::static_text(
        "Return the current action for the given signal: SIG_IGN, SIG_DFL, None (a handler not installed from Python), or a callable.",
    ),
);

static SIGNAL: PyMethodDef = PyMethodDef::new_const(
    "signal",
    signal,
    PyMethodFlags::empty(),
    ItemDoc::static_text(
        "Set the action for the given signal: SIG_IGN, SIG_DFL or a callable. Returns the previous action.",
    ),
);

/// The originals, kept on the module under these names.
const ORIGINAL_GETSIGNAL: &str = "_rwsgi_getsignal";
const ORIGINAL_SIGNAL: &str = "_rwsgi_signal";

/// RustPython's `answer`, or the disposition `before` names when it answered None.
fn or_disposition(
    answer: PyObjectRef,
    before: std::io::Result<Disposition>,
    vm: &VirtualMachine,
) -> PyObjectRef {
    if !vm.is_none(&answer) {
        return answer;
    }
    match before {
        Ok(Disposition::Default) => vm.ctx.new_int(libc::SIG_DFL).into(),
        Ok(Disposition::Ignored) => vm.ctx.new_int(libc::SIG_IGN).into(),
        Ok(Disposition::Handled) | Err(_) => answer,
    }
}

fn getsignal(signalnum: i32, vm: &VirtualMachine) -> PyResult {
    let module = vm.import("_signal", 0)?;
    let current = module
        .get_attr(ORIGINAL_GETSIGNAL, vm)?
        .call((signalnum,), vm)?;
    Ok(or_disposition(
        current,
        sys::signal_disposition(signalnum),
        vm,
    ))
}

fn signal(signalnum: i32, handler: PyObjectRef, vm: &VirtualMachine) -> PyResult {
    let module = vm.import("_signal", 0)?;
    let before = sys::signal_disposition(signalnum);
    let previous = module
        .get_attr(ORIGINAL_SIGNAL, vm)?
        .call((signalnum, handler), vm)?;
    Ok(or_disposition(previous, before, vm))
}

/// Replace `_signal.getsignal` and `_signal.signal` in this interpreter.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let module = vm.import("_signal", 0)?;
    for (name, original, def) in [
        ("getsignal", ORIGINAL_GETSIGNAL, &GETSIGNAL),
        ("signal", ORIGINAL_SIGNAL, &SIGNAL),
    ] {
        let function: PyObjectRef = module.get_attr(name, vm)?;
        module.set_attr(original, function, vm)?;
        module.set_attr(
            name,
            super::module_function(def, &module, "_signal", vm),
            vm,
        )?;
    }
    Ok(())
}
