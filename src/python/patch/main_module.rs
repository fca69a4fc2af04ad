//! `sys.modules['__main__']`.
//!
//! CPython always has a `__main__` module; an embedded RustPython interpreter has none, so
//! `inspect.getmodule()`, and with it `inspect.stack()` (pyramid_jinja2's `includeme`,
//! venusian-style caller look-ups), raised `KeyError: '__main__'`. Reproducer, embedded:
//! `import inspect; inspect.stack()`. An empty `__main__` is registered, as CPython's server
//! processes (gunicorn, mod_wsgi) have one; `rwsgi python` replaces it with the script's.

use rustpython_vm::{PyResult, VirtualMachine};

/// Register an empty `__main__` unless there is one.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let modules = vm.sys_module.get_attr("modules", vm)?;
    if modules.get_item("__main__", vm).is_ok() {
        return Ok(());
    }
    let main = vm.new_module("__main__", vm.ctx.new_dict(), None);
    main.set_attr("__builtins__", vm.builtins.clone(), vm)?;
    modules.set_item("__main__", main.into(), vm)
}
