//! sqlite3: a connection used again from inside one of its own row conversions.
//!
//! RustPython 0.6.0's `_sqlite3` calls converters, row factories and text factories while it
//! holds the cursor's and the connection's locks (stdlib/src/_sqlite3.rs, `Cursor::next`), so
//! a converter that executes on its own cursor deadlocked: the worker hung until `--timeout`.
//! CPython raises `ProgrammingError: Recursive use of cursors not allowed.` Reproducer:
//! `sqlite3.register_converter('X', lambda b: cur.execute('select 1'))` on a connection with
//! PARSE_COLNAMES, then `cur.execute('select 1 as "a [X]"').fetchall()`. A converter that
//! closes its cursor (`lambda b: cur.close()`) hung the same way (CPython's own
//! `test_sqlite3.test_regression.RecursiveUseOfCursors.test_recursive_cursor_close`), and so
//! did one that re-initialises it (`lambda b: cur.__init__(conn)`, `test_recursive_cursor_init`).
//!
//! The cursor and connection methods that take those locks are wrapped: while one runs, its
//! connection is marked busy on this thread (each interpreter has its own thread), and a
//! nested call on the same connection raises that ProgrammingError instead of waiting for
//! itself. Another connection stays usable from a converter. One difference remains: CPython
//! lets a converter use a *second cursor of the same connection*; here that is refused too
//! (RustPython holds the connection's lock), which beats a hang.

use std::cell::RefCell;
use std::sync::OnceLock;

use rustpython_vm::{
    PyObject, PyObjectRef, PyResult, VirtualMachine,
    function::{FuncArgs, ItemDoc, PyMethodDef, PyMethodFlags},
    protocol::PyIterReturn,
};

thread_local! {
    /// Addresses of the connections, and of the cursors, with a call in progress on this
    /// thread.
    static BUSY: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// The iternext slot's signature (crate-private in rustpython-vm).
type IterNextSlot = fn(&PyObject, &VirtualMachine) -> PyResult<PyIterReturn>;
/// The init slot's signature (crate-private in rustpython-vm).
type InitSlot = fn(&PyObject, FuncArgs, &VirtualMachine) -> PyResult<()>;

static CURSOR_NEXT: OnceLock<IterNextSlot> = OnceLock::new();
static CURSOR_INIT: OnceLock<InitSlot> = OnceLock::new();

fn address(obj: &PyObject) -> usize {
    obj as *const PyObject as usize
}

/// Whether a call on `obj` (a connection or a cursor) is in progress on this thread.
pub(super) fn is_busy(obj: &PyObject) -> bool {
    let key = address(obj);
    BUSY.with(|busy| busy.borrow().contains(&key))
}

/// CPython's error for a nested use.
fn recursive_use(vm: &VirtualMachine) -> PyResult<rustpython_vm::builtins::PyBaseExceptionRef> {
    let error = vm
        .import("_sqlite3", 0)?
        .get_attr("ProgrammingError", vm)?
        .call(("Recursive use of cursors not allowed.",), vm)?;
    error
        .downcast()
        .map_err(|_| vm.new_type_error("_sqlite3.ProgrammingError is not an exception"))
}

/// Run `f` with `connection` (and `cursor`, the one `f` uses, if any) marked busy, or refuse
/// a nested use of the connection.
fn guarded<R>(
    connection: &PyObject,
    cursor: Option<&PyObject>,
    vm: &VirtualMachine,
    f: impl FnOnce() -> PyResult<R>,
) -> PyResult<R> {
    if is_busy(connection) {
        return Err(recursive_use(vm)?);
    }
    let keys = [Some(address(connection)), cursor.map(address)];
    BUSY.with(|busy| busy.borrow_mut().extend(keys.iter().flatten()));
    let result = f();
    BUSY.with(|busy| {
        let mut busy = busy.borrow_mut();
        for key in keys.iter().flatten().rev() {
            if let Some(at) = busy.iter().rposition(|k| k == key) {
                busy.remove(at);
            }
        }
    });
    result
}

/// The connection of a cursor (its `connection` attribute), or the connection itself.
fn connection_of(obj: &PyObject, is_cursor: bool, vm: &VirtualMachine) -> PyResult<PyObjectRef> {
    if is_cursor {
        obj.get_attr("connection", vm)
    } else {
        Ok(obj.to_owned())
    }
}

fn cursor_next(obj: &PyObject, vm: &VirtualMachine) -> PyResult<PyIterReturn> {
    let next = *CURSOR_NEXT
        .get()
        .expect("the slot is only installed after the original is saved");
    let connection = obj.get_attr("connection", vm)?;
    guarded(&connection, Some(obj), vm, || next(obj, vm))
}

/// `Cursor.__init__` on a cursor in use (from its own converter) waited for itself; CPython
/// refuses it. Another cursor of the connection can still be made.
fn cursor_init(obj: &PyObject, args: FuncArgs, vm: &VirtualMachine) -> PyResult<()> {
    let init = *CURSOR_INIT
        .get()
        .expect("the slot is only installed after the original is saved");
    if is_busy(obj) {
        return Err(recursive_use(vm)?);
    }
    init(obj, args, vm)
}

fn cursor_init_method(zelf: PyObjectRef, args: FuncArgs, vm: &VirtualMachine) -> PyResult<()> {
    cursor_init(&zelf, args, vm)
}

/// `__init__` as a native method too: the wrapper descriptor on Cursor holds the original
/// function, so `cur.__init__(conn)` and subclasses created later would not reach the slot.
static INIT_DEF: PyMethodDef = PyMethodDef::new_const(
    "__init__",
    cursor_init_method,
    PyMethodFlags::METHOD,
    ItemDoc::static_text(
        "__init__($self, /, *args, **kwargs)\n--\n\nInitialize self.  See help(type(self)) for accurate signature.",
    ),
);

/// The wrapped methods: Cursor's, then Connection's.
const METHODS: [&str; 13] = [
    "execute",
    "executemany",
    "executescript",
    "fetchone",
    "fetchmany",
    "fetchall",
    "close",
    "execute",
    "executemany",
    "executescript",
    "commit",
    "rollback",
    "close",
];
/// Their text signatures (CPython's), in METHODS order: `inspect.signature` reads them.
const SIGNATURES: [&str; 13] = [
    "execute($self, sql, parameters=(), /)\n--\n\n",
    "executemany($self, sql, seq_of_parameters, /)\n--\n\n",
    "executescript($self, sql_script, /)\n--\n\n",
    "fetchone($self, /)\n--\n\n",
    "fetchmany($self, /, size=1)\n--\n\n",
    "fetchall($self, /)\n--\n\n",
    "close($self, /)\n--\n\n",
    "execute($self, sql, parameters=(), /)\n--\n\n",
    "executemany($self, sql, parameters, /)\n--\n\n",
    "executescript($self, sql_script, /)\n--\n\n",
    "commit($self, /)\n--\n\n",
    "rollback($self, /)\n--\n\n",
    "close($self, /)\n--\n\n",
];
/// How many of METHODS are Cursor's.
const CURSOR_METHODS: usize = 7;

/// The original method descriptors, in METHODS order.
static ORIGINAL: OnceLock<Vec<PyObjectRef>> = OnceLock::new();

fn call_original(
    index: usize,
    zelf: PyObjectRef,
    mut args: FuncArgs,
    vm: &VirtualMachine,
) -> PyResult {
    let original = &ORIGINAL
        .get()
        .expect("the methods are only installed after the originals are saved")[index];
    let is_cursor = index < CURSOR_METHODS;
    let connection = connection_of(&zelf, is_cursor, vm)?;
    let cursor = is_cursor.then(|| zelf.clone());
    args.prepend_arg(zelf);
    guarded(&connection, cursor.as_deref(), vm, || {
        original.call(args, vm)
    })
}

macro_rules! wrappers {
    ($($index:literal => $fn:ident),* $(,)?) => {
        $(fn $fn(zelf: PyObjectRef, args: FuncArgs, vm: &VirtualMachine) -> PyResult {
            call_original($index, zelf, args, vm)
        })*
        static DEFS: [PyMethodDef; METHODS.len()] = [
            $(PyMethodDef::new_const(
                METHODS[$index],
                $fn,
                PyMethodFlags::METHOD,
                ItemDoc::static_text(SIGNATURES[$index]),
            )),*
        ];
    };
}

wrappers! {
    0 => cursor_execute,
    1 => cursor_executemany,
    2 => cursor_executescript,
    3 => cursor_fetchone,
    4 => cursor_fetchmany,
    5 => cursor_fetchall,
    6 => cursor_close,
    7 => connection_execute,
    8 => connection_executemany,
    9 => connection_executescript,
    10 => connection_commit,
    11 => connection_rollback,
    12 => connection_close,
}

/// Wrap the methods and Cursor's iternext slot. The types are process-wide: once.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    if ORIGINAL.get().is_some() {
        return Ok(());
    }
    let (cursor_defs, connection_defs) = DEFS.split_at(CURSOR_METHODS);
    let cursor = super::module_type("_sqlite3", "Cursor", vm)?;
    let connection = super::module_type("_sqlite3", "Connection", vm)?;
    let mut originals = super::replace_methods(cursor, cursor_defs, vm)?;
    originals.extend(super::replace_methods(connection, connection_defs, vm)?);
    let _ = ORIGINAL.set(originals);
    if let Some(next) = cursor.slots.iternext.load() {
        let _ = CURSOR_NEXT.set(next);
        let ours: IterNextSlot = cursor_next;
        cursor.slots.iternext.store(Some(ours));
    }
    if let Some(init) = cursor.slots.init.load() {
        let _ = CURSOR_INIT.set(init);
        let ours: InitSlot = cursor_init;
        cursor.slots.init.store(Some(ours));
        super::replace_methods(cursor, std::slice::from_ref(&INIT_DEF), vm)?;
    }
    cursor.modified();
    Ok(())
}
