//! `operator.length_hint(obj, default)` with a negative default.
//!
//! CPython takes any int as the default ("no hint"); RustPython 0.6.0 converts it to an
//! unsigned size first (vm/src/stdlib/_operator.rs) and raises `ValueError: can't convert
//! negative number to unsigned`. click's progress bar asks `length_hint(iterable, -1)`, so every
//! `click.progressbar` over an iterator failed (29 of click's own tests). Reproducer:
//! `operator.length_hint(iter([]), -1)` must give 0, and `length_hint(object(), -1)` -1.
//!
//! `_operator.length_hint` (which `operator` re-exports) is replaced by a native one on the
//! interpreter's own `length_hint_opt`.

use rustpython_vm::{
    AsObject, PyObjectRef, PyResult, VirtualMachine,
    function::{ItemDoc, OptionalArg, PyMethodDef, PyMethodFlags},
};

static LENGTH_HINT_DEF: PyMethodDef = PyMethodDef::new_const(
    "length_hint",
    length_hint,
    PyMethodFlags::empty(),
    ItemDoc::static_text(
        "length_hint(obj, default=0, /)\n--\n\nReturn an estimate of the number of items in obj, or default when there is none.",
    ),
);

fn length_hint(
    obj: PyObjectRef,
    default: OptionalArg<PyObjectRef>,
    vm: &VirtualMachine,
) -> PyResult {
    let default = default.unwrap_or_else(|| vm.ctx.new_int(0).into());
    if !default.fast_isinstance(vm.ctx.types.int_type) {
        return Err(vm.new_type_error(format!(
            "'{}' object cannot be interpreted as an integer",
            default.class().name()
        )));
    }
    Ok(match vm.length_hint_opt(obj)? {
        Some(hint) => vm.ctx.new_int(hint).into(),
        None => default,
    })
}

/// Replace `length_hint` in this interpreter's `_operator` (and `operator`, if imported).
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let module = vm.import("_operator", 0)?;
    let ours = super::module_function(&LENGTH_HINT_DEF, &module, "_operator", vm);
    module.set_attr("length_hint", ours.clone(), vm)?;
    let modules = vm.sys_module.get_attr("modules", vm)?;
    if let Ok(operator) = modules.get_item("operator", vm) {
        operator.set_attr("length_hint", ours, vm)?;
    }
    Ok(())
}
