//! sqlite3 with `detect_types=PARSE_DECLTYPES` (Django always sets it).
//!
//! Any result column with no declared type (`select 1`, `count(*)`, an expression,
//! RETURNING) made RustPython 0.6.0's `_sqlite3` raise `MemoryError: string pointer is null`:
//! it reads the NULL `sqlite3_column_decltype` as a string (stdlib/src/_sqlite3.rs,
//! `build_row_cast_map`). Reproducer: `sqlite3.connect(':memory:',
//! detect_types=sqlite3.PARSE_DECLTYPES).execute('select 1').fetchall()`.
//!
//! `_sqlite3.connect` (which `sqlite3.connect` is) is replaced by a native function that
//! drops PARSE_DECLTYPES and keeps the other flags (PARSE_COLNAMES still converts `"x
//! [type]"` columns). Values of declared-type columns then come back as SQLite stores them (a
//! datetime as its ISO text). Django's ORM converts those itself through its backend's
//! converters, so typed model fields keep their Python types; a raw cursor query on a
//! declared-type column sees the stored text. A full fix needs `_sqlite3` itself (upstream).

use rustpython_vm::{
    PyObjectRef, PyResult, VirtualMachine,
    builtins::PyInt,
    function::{FuncArgs, ItemDoc, PyMethodDef, PyMethodFlags},
};

/// `sqlite3.PARSE_DECLTYPES`.
const PARSE_DECLTYPES: i64 = 1;

static CONNECT_DEF: PyMethodDef = PyMethodDef::new_const(
    "connect",
    connect,
    PyMethodFlags::empty(),
    ItemDoc::static_text("Open a connection to the SQLite database file 'database'."),
);

/// Without PARSE_DECLTYPES: `flags` as an int, with that bit cleared.
fn without_decltypes(flags: &PyObjectRef, vm: &VirtualMachine) -> PyResult<PyObjectRef> {
    let Some(int) = flags.downcast_ref::<PyInt>() else {
        return Ok(flags.clone()); // not an int: the original reports it
    };
    let value: i64 = int.try_to_primitive(vm)?;
    Ok(vm.ctx.new_int(value & !PARSE_DECLTYPES).into())
}

/// Each interpreter's original `_sqlite3.connect`.
static ORIGINAL: super::PerInterpreter = super::PerInterpreter::new();

/// `connect`: the interpreter's original `_sqlite3.connect`, without PARSE_DECLTYPES.
fn connect(mut args: FuncArgs, vm: &VirtualMachine) -> PyResult {
    let original = ORIGINAL.get(vm)?;
    if let Some(flags) = args.args.get_mut(2) {
        *flags = without_decltypes(flags, vm)?;
    } else if let Some((_, flags)) = args
        .kwargs
        .iter_mut()
        .find(|(name, _)| name.as_bytes() == b"detect_types")
    {
        *flags = without_decltypes(flags, vm)?;
    }
    original.call(args, vm)
}

/// Replace this interpreter's `_sqlite3.connect`.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let module = vm.import("_sqlite3", 0)?;
    ORIGINAL.set(vm, module.get_attr("connect", vm)?);
    let ours = super::module_function(&CONNECT_DEF, &module, "_sqlite3", vm);
    module.set_attr("connect", ours, vm)?;
    Ok(())
}
