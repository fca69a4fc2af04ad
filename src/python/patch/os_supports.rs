//! `os.supports_effective_ids`.
//!
//! CPython's `os` has four sets that say which functions accept an option:
//! `supports_dir_fd`, `supports_fd`, `supports_follow_symlinks` and `supports_effective_ids`.
//! RustPython 0.6.0 has the first three, not the last, so code that asks `os.access in
//! os.supports_effective_ids` before passing `effective_ids=True` (CPython's own zipfile and
//! shutil tests) raised AttributeError. Reproducer: `os.supports_effective_ids`.
//!
//! It is set to an empty set: RustPython's `os.access` refuses `effective_ids=True`
//! (NotImplementedError), as CPython's does on a platform without it, where the set is empty.

use rustpython_vm::{AsObject, PyResult, VirtualMachine};

/// Set `os.supports_effective_ids` (and `posix`'s) in this interpreter.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    for name in ["posix", "os"] {
        let module = vm.import(name, 0)?;
        if module.get_attr("supports_effective_ids", vm).is_err() {
            let empty = vm.ctx.types.set_type.as_object().call((), vm)?;
            module.set_attr("supports_effective_ids", empty, vm)?;
        }
    }
    Ok(())
}
