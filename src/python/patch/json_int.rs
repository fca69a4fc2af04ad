//! `json.loads` and the integer digit limit.
//!
//! CPython refuses to turn a string of more than `sys.get_int_max_str_digits()` digits (4300)
//! into an int, in `int()` and in `json.loads` alike: the defence against quadratic-time
//! parsing (CVE-2020-10735). RustPython 0.6.0's `int()` enforces it, but its native JSON
//! scanner (`_json.make_scanner`, stdlib/src/json.rs) parses integers itself when `parse_int`
//! is the default, so `json.loads('1' * 5000)` succeeded; a JSON request body is untrusted.
//!
//! `_json.make_scanner` is replaced (before `json` is first imported) by a native function
//! that builds RustPython's scanner with `int` itself as the integer parser whenever the
//! decoder asks for the default: RustPython treats `int` as "default" and parses natively,
//! so it is handed a native function that calls `int(text)`, which checks the limit.

use std::sync::OnceLock;

use rustpython_vm::{
    AsObject, PyObjectRef, PyResult, VirtualMachine,
    builtins::PyStrRef,
    function::{ItemDoc, PyMethodDef, PyMethodFlags},
};

/// RustPython's scanner type (`_json.make_scanner`).
static SCANNER: OnceLock<PyObjectRef> = OnceLock::new();

static MAKE_SCANNER_DEF: PyMethodDef = PyMethodDef::new_const(
    "make_scanner",
    make_scanner,
    PyMethodFlags::empty(),
    ItemDoc::static_text("JSON scanner object (integers parsed by int(), with its digit limit)"),
);

static PARSE_INT_DEF: PyMethodDef = PyMethodDef::new_const(
    "int",
    parse_int,
    PyMethodFlags::empty(),
    ItemDoc::static_text("int(text), for the JSON scanner"),
);

fn parse_int(text: PyStrRef, vm: &VirtualMachine) -> PyResult {
    vm.ctx.types.int_type.as_object().call((text,), vm)
}

fn make_scanner(ctx: PyObjectRef, vm: &VirtualMachine) -> PyResult {
    let scanner = SCANNER
        .get()
        .expect("make_scanner is only installed after the original is saved");
    let parse = ctx.get_attr("parse_int", vm)?;
    let default = vm.is_none(&parse) || parse.is(vm.ctx.types.int_type);
    if !default {
        return scanner.call((ctx,), vm);
    }
    // The scanner reads its settings from the decoder once, here.
    ctx.set_attr("parse_int", PARSE_INT_DEF.build_function(&vm.ctx), vm)?;
    let built = scanner.call((ctx.clone(),), vm);
    ctx.set_attr("parse_int", parse, vm)?;
    built
}

/// Replace `_json.make_scanner` in this interpreter's `_json` module.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let module = vm.import("_json", 0)?;
    let original = module.get_attr("make_scanner", vm)?;
    if original
        .class()
        .is(vm.ctx.types.builtin_function_or_method_type)
    {
        return Ok(()); // already ours
    }
    let _ = SCANNER.set(original);
    module.set_attr("make_scanner", MAKE_SCANNER_DEF.build_function(&vm.ctx), vm)?;
    Ok(())
}
