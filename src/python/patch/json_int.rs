//! `json.loads` and the integer digit limit.
//!
//! CPython refuses to turn a string of more than `sys.get_int_max_str_digits()` digits (4300)
//! into an int, in `int()` and in `json.loads` alike: the defence against quadratic-time
//! parsing (CVE-2020-10735). RustPython 0.6.0's `int()` enforces it, but its native JSON
//! scanner (`_json.make_scanner`, stdlib/src/json.rs) parses integers itself when `parse_int`
//! is the default, so `json.loads('1' * 5000)` succeeded; a JSON request body is untrusted.
//!
//! `_json.make_scanner` is replaced (before `json` is first imported) by a native function
//! that, when the decoder asks for the default integer parser, builds two of RustPython's
//! scanners: one as it is (integers parsed natively, no limit) and one with a native function
//! that calls `int(text)`, which checks the limit (RustPython treats `int` itself as "the
//! default"). The decoder's `scan_once` is a native function over the pair: a document with no
//! run of digits longer than the limit (one pass over its bytes) is scanned by the first, any
//! other by the second. Every integer going through `int()` made `json.loads` of 100 integers
//! cost 59 us against 9 for 100 floats (CPython: 5).

use std::sync::OnceLock;

use rustpython_vm::{
    AsObject, PyObjectRef, PyResult, VirtualMachine,
    builtins::{PyStrRef, PyTupleRef},
    function::{FuncArgs, ItemDoc, PyMethodDef, PyMethodFlags},
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

static SCAN_DEF: PyMethodDef = PyMethodDef::new_const(
    "scan_once",
    scan_once,
    PyMethodFlags::empty(),
    ItemDoc::static_text("JSON scanner: scan_once(string, idx) -> (value, end)"),
);

/// Whether `text` holds a run of more than `limit` ASCII digits (0: no limit).
fn has_digit_run_over(text: &[u8], limit: usize) -> bool {
    if limit == 0 || text.len() <= limit {
        return false;
    }
    let mut run = 0;
    for &byte in text {
        if byte.is_ascii_digit() {
            run += 1;
            if run > limit {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// The decoder's `scan_once`: `pair` is (native integers, integers through `int()`).
fn scan_once(pair: PyTupleRef, args: FuncArgs, vm: &VirtualMachine) -> PyResult {
    let [fast, checked] = pair.as_slice() else {
        return Err(vm.new_runtime_error("json scanner pair is malformed"));
    };
    let limit = vm.state.int_max_str_digits.load();
    let long_digits = args
        .args
        .first()
        .and_then(|text| text.downcast_ref::<rustpython_vm::builtins::PyStr>())
        .is_some_and(|text| has_digit_run_over(text.as_bytes(), limit));
    if long_digits {
        checked.call(args, vm)
    } else {
        fast.call(args, vm)
    }
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
    let fast = scanner.call((ctx.clone(),), vm)?;
    // The scanner reads its settings from the decoder once, here.
    ctx.set_attr("parse_int", PARSE_INT_DEF.build_function(&vm.ctx), vm)?;
    let checked = scanner.call((ctx.clone(),), vm);
    ctx.set_attr("parse_int", parse, vm)?;
    let pair = vm.ctx.new_tuple(vec![fast, checked?]);
    Ok(SCAN_DEF.build_bound_function(&vm.ctx, pair.into()).into())
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
    let ours = super::module_function(&MAKE_SCANNER_DEF, &module, "_json", vm);
    module.set_attr("make_scanner", ours, vm)?;
    Ok(())
}
