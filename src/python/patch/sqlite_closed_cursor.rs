//! A closed sqlite3 cursor keeps its `lastrowid`, `rowcount` and `description`, as in CPython.
//!
//! RustPython 0.6.0's `_sqlite3.Cursor` getters check the cursor's state first, so once
//! `close()` has run they raise `ProgrammingError: Cannot operate on a closed cursor.`
//! (stdlib/src/_sqlite3.rs: `lastrowid`, `rowcount` and `description` go through
//! `Cursor::inner`). CPython's are plain members, readable after `close()`. SQLAlchemy closes
//! the cursor of a statement that returns no rows as soon as it has run, then answers
//! `result.lastrowid` from it: every `conn.execute(insert(...)).lastrowid` on SQLite raised.
//! Reproducer: `c = sqlite3.connect(':memory:'); c.execute('create table t(x)'); cur =
//! c.cursor(); cur.execute('insert into t values (1)'); cur.close(); cur.lastrowid` must be 1.
//!
//! `Cursor.close` is replaced by a native method that reads the three values through the
//! original getters before it calls the original `close`, and keeps them in a table keyed by
//! the cursor, with a weak reference whose callback drops the entry when the cursor goes. The
//! three getters are replaced by native ones that ask the original first and, only when it
//! fails on a cursor that this `close` closed, answer from the table. An open cursor's
//! getters cost one more native call; nothing is kept for a cursor that is never closed.
//! Left as RustPython has it: a converter (or text factory) that reads its own cursor's
//! attributes waits for ever, since RustPython calls it holding the cursor's lock; a row
//! factory, called after the lock is released, reads them (the `dict_factory` of the docs).
//! Left (RustPython's, open cursors too): a cursor that never ran a statement says
//! `lastrowid` -1 (CPython: None), and a failed `execute` leaves `rowcount` as it was
//! (CPython: -1).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, OnceLock};

use rustpython_vm::{
    AsObject, Py, PyObjectRef, PyRef, PyResult, VirtualMachine,
    builtins::{PyType, PyWeak},
    function::{FuncArgs, ItemDoc, PyMethodDef, PyMethodFlags},
};

use super::sqlite_recursion;

/// The getters a closed cursor keeps, in the order of [`Closed::values`].
const KEPT: [&str; 3] = ["lastrowid", "rowcount", "description"];

/// The interpreter's own `close` and getters, read once (the type is process-wide).
struct Originals {
    close: PyObjectRef,
    getters: [PyObjectRef; 3],
}

static ORIGINALS: OnceLock<Originals> = OnceLock::new();

/// What a cursor answered just before this `close` closed it.
struct Closed {
    /// The cursor, weakly: it tells a live entry from one left by a cursor that has gone.
    cursor: PyRef<PyWeak>,
    values: [PyObjectRef; 3],
}

/// Closed cursors by address. Each interpreter only ever finds its own cursors here (an
/// object lives in one interpreter); an entry goes when its cursor's weak reference fires.
static CLOSED: LazyLock<Mutex<HashMap<usize, Closed>>> = LazyLock::new(Default::default);

fn closed_table() -> std::sync::MutexGuard<'static, HashMap<usize, Closed>> {
    CLOSED.lock().unwrap_or_else(|e| e.into_inner())
}

fn address(obj: &PyObjectRef) -> usize {
    obj.get_id()
}

fn originals(vm: &VirtualMachine) -> PyResult<&'static Originals> {
    ORIGINALS
        .get()
        .ok_or_else(|| vm.new_runtime_error("sqlite3 cursor patch used before it was installed"))
}

/// What the original `getter` answers for `cursor`.
fn original_get(getter: &PyObjectRef, cursor: &PyObjectRef, vm: &VirtualMachine) -> PyResult {
    vm.call_get_descriptor(getter, cursor)
        .unwrap_or_else(|| Ok(getter.clone()))
}

static DEFS: [PyMethodDef; 1] = [PyMethodDef::new_const(
    "close",
    close,
    PyMethodFlags::METHOD,
    ItemDoc::static_text("close($self, /)\n--\n\nCloses the cursor."),
)];

static FORGET_DEF: PyMethodDef = PyMethodDef::new_const(
    "forget_closed_cursor",
    forget,
    PyMethodFlags::empty(),
    ItemDoc::static_text("Drops what a closed cursor kept, once the cursor is gone."),
);

/// `Cursor.close()`: the original, with the cursor's values kept if it was open.
fn close(zelf: PyObjectRef, vm: &VirtualMachine) -> PyResult<()> {
    let originals = originals(vm)?;
    if sqlite_recursion::is_busy(&zelf) {
        // Closed from its own converter: its getters would wait for the lock the fetch
        // holds; the original close (sqlite_recursion's) refuses the nested use.
        originals.close.call((zelf,), vm)?;
        return Ok(());
    }
    // Fails when the cursor is already closed (what it kept stays) or was never initialised
    // (the original close says so).
    let before: PyResult<Vec<PyObjectRef>> = originals
        .getters
        .iter()
        .map(|getter| original_get(getter, &zelf, vm))
        .collect();
    originals.close.call((zelf.clone(),), vm)?;
    let Ok(values) = before else {
        return Ok(());
    };
    let Ok(values) = <[PyObjectRef; 3]>::try_from(values) else {
        return Ok(());
    };
    let key = address(&zelf);
    let callback = FORGET_DEF.build_bound_function(&vm.ctx, vm.ctx.new_int(key).into());
    let cursor = zelf.downgrade(Some(callback.into()), vm)?;
    let replaced = closed_table().insert(key, Closed { cursor, values });
    drop(replaced); // outside the lock
    Ok(())
}

/// The weak reference's callback: drop the entry at `key` if it is still this cursor's.
fn forget(key: PyObjectRef, args: FuncArgs, vm: &VirtualMachine) -> PyResult<()> {
    let key: usize = key.try_into_value(vm)?;
    let Some(weak) = args.args.first() else {
        return Ok(());
    };
    let removed = {
        let mut table = closed_table();
        match table.get(&key) {
            Some(entry) if entry.cursor.as_object().is(weak) => table.remove(&key),
            _ => None,
        }
    };
    drop(removed); // outside the lock
    Ok(())
}

/// The getter `index` of [`KEPT`]: the original's answer, or what `close` kept.
fn get(index: usize, cursor: PyObjectRef, vm: &VirtualMachine) -> PyResult {
    let originals = originals(vm)?;
    let err = match original_get(&originals.getters[index], &cursor, vm) {
        Ok(value) => return Ok(value),
        Err(err) => err,
    };
    let kept = closed_table().get(&address(&cursor)).and_then(|entry| {
        let alive = entry.cursor.upgrade()?;
        alive.is(&cursor).then(|| entry.values[index].clone())
    });
    kept.ok_or(err)
}

/// Replace `_sqlite3.Cursor`'s `close`, `lastrowid`, `rowcount` and `description`.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    if ORIGINALS.get().is_some() {
        return Ok(());
    }
    let ty: &'static Py<PyType> = super::module_type("_sqlite3", "Cursor", vm)?;
    let attr = |name: &str| {
        ty.get_attr(vm.ctx.intern_str(name))
            .ok_or_else(|| vm.new_attribute_error(format!("_sqlite3.Cursor has no {name}")))
    };
    let getters = [attr(KEPT[0])?, attr(KEPT[1])?, attr(KEPT[2])?];
    let close = super::replace_methods(ty, &DEFS, vm)?
        .pop()
        .ok_or_else(|| vm.new_runtime_error("no original Cursor.close"))?;
    let _ = ORIGINALS.set(Originals { close, getters });
    for (index, name) in KEPT.iter().enumerate() {
        let getter = vm.ctx.new_readonly_getset(
            name,
            ty,
            move |cursor: PyObjectRef, vm: &VirtualMachine| get(index, cursor, vm),
        );
        ty.set_attr(vm.ctx.intern_str(*name), getter.into());
    }
    ty.modified();
    Ok(())
}
