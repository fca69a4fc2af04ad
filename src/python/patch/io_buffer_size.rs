//! The default buffer of `open()` and `io.DEFAULT_BUFFER_SIZE`: CPython 3.14's, not 3.15's.
//!
//! RustPython 0.6.0 (which is Python 3.14) took CPython 3.15's 128 KiB default
//! (`DEFAULT_BUFFER_SIZE` in vm/src/stdlib/_io.rs): `io.DEFAULT_BUFFER_SIZE` is 131072 and
//! every `open()` without `buffering` gets a zeroed 128 KiB buffer. CPython 3.14 says 8192 and
//! buffers a file by its block size (`st_blksize`, 4096 on most file systems). Each open file
//! and each socket's `makefile()` cost 16-32 times the memory, and a binary `readline()`, which
//! looks at what is buffered (patch/buffered_readline.rs), copies up to 128 KiB a line: 6.0 us
//! a line against 2.3 with 8 KiB. A `BufferedReader` over a short stream also asks it for more
//! than it has (WebOb's test of an interrupted request body).
//! Reproducer: `io.DEFAULT_BUFFER_SIZE` must be 8192, and `open(path, 'rb')` must not hold a
//! 128 KiB buffer.
//!
//! `_io.DEFAULT_BUFFER_SIZE` and `io.DEFAULT_BUFFER_SIZE` are set to 8192, and `open` (the
//! one object `builtins.open`, `io.open` and `_io.open` all name) is a native function that
//! parses `open`'s arguments and calls RustPython's public `io_open` with `buffering=8192`
//! where the caller gave none or -1. A terminal still gets line buffering (RustPython decides
//! that from `isatty`, as CPython). `open_code` (importlib's reader of source files) is ours
//! too, `open(path, 'rb')` with the same buffer.
//!
//! The buffered types take their own default from a constant: `io.BufferedReader(raw)` (what
//! gzip, bz2 and lzma wrap their decompressors in) still held 128 KiB. The `init` slot of
//! `BufferedReader`, `BufferedWriter`, `BufferedRandom` and `BufferedRWPair`, and the
//! `__init__` in their dicts (what a subclass's `super().__init__(raw)` finds), are native
//! functions that add `buffer_size=8192` when the caller gave none, then call the original.
//! Reproducer: `io.BufferedReader(io.BytesIO(b'x' * 200000)).peek()` must be 8192 bytes.

use std::sync::{Once, OnceLock};

use rustpython_vm::{
    FromArgs, PyObject, PyObjectRef, PyResult, VirtualMachine,
    builtins::{PyStrRef, PyUtf8StrRef},
    function::{FuncArgs, ItemDoc, PyMethodDef, PyMethodFlags},
    stdlib::_io::{OpenArgs, open as io_open},
};

/// CPython 3.14's `io.DEFAULT_BUFFER_SIZE`.
const BUFFER_SIZE: usize = 8192;

/// `open(file, mode='r', buffering=-1, encoding=None, errors=None, newline=None, closefd=True,
/// opener=None)`.
#[derive(FromArgs)]
struct Args {
    file: PyObjectRef,
    #[pyarg(any, default = "r")]
    mode: PyUtf8StrRef,
    #[pyarg(flatten)]
    opts: OpenArgs,
}

static OPEN_DEF: PyMethodDef = PyMethodDef::new_const(
    "open",
    open,
    PyMethodFlags::empty(),
    ItemDoc::static_text(
        "open(file, mode='r', buffering=-1, encoding=None, errors=None, newline=None, closefd=True, opener=None)\n--\n\nOpen file and return a stream.  Raise OSError upon failure.",
    ),
);

fn open(args: Args, vm: &VirtualMachine) -> PyResult {
    let Args {
        file,
        mode,
        mut opts,
    } = args;
    if opts.buffering == -1 {
        opts.buffering = BUFFER_SIZE as isize;
    }
    io_open(file, Some(mode.as_str()), opts, vm)
}

static OPEN_CODE_DEF: PyMethodDef = PyMethodDef::new_const(
    "open_code",
    open_code,
    PyMethodFlags::empty(),
    ItemDoc::static_text(
        "open_code(path)\n--\n\nOpens the provided file with the intent to import the contents.",
    ),
);

/// `open_code(path)`: `path` must be a str, as in CPython.
fn open_code(path: PyStrRef, vm: &VirtualMachine) -> PyResult {
    let opts = OpenArgs {
        buffering: BUFFER_SIZE as isize,
        ..OpenArgs::default()
    };
    io_open(path.into(), Some("rb"), opts, vm)
}

/// A buffered type's `init` slot.
type Init = fn(&PyObject, FuncArgs, &VirtualMachine) -> PyResult<()>;

/// The buffered types, with the position of `buffer_size` among their arguments.
const BUFFERED: [(&str, usize); 4] = [
    ("BufferedReader", 1),
    ("BufferedWriter", 1),
    ("BufferedRandom", 1),
    ("BufferedRWPair", 2),
];

/// Each type's original `init` slot, in the order of [`BUFFERED`].
static ORIGINAL_INIT: [OnceLock<Init>; 4] = [const { OnceLock::new() }; 4];

/// `args` with `buffer_size=8192` where the caller gave none. `BufferedRWPair` takes its
/// arguments positionally only; the others take them either way, as in CPython, where
/// RustPython's `init` takes `raw` by position only (`BufferedReader(raw=r)` raised
/// TypeError), so a `raw` keyword is passed on by position.
fn with_buffer_size(mut args: FuncArgs, position: usize, vm: &VirtualMachine) -> FuncArgs {
    if position == 1
        && args.args.is_empty()
        && let Some(raw) = args.kwargs.shift_remove("raw")
    {
        args.args.push(raw);
    }
    if args.args.len() > position || args.kwargs.contains_key("buffer_size") {
        return args;
    }
    let size: PyObjectRef = vm.ctx.new_int(BUFFER_SIZE).into();
    if position == 2 {
        if args.args.len() == 2 {
            args.args.push(size);
        }
    } else {
        args.kwargs.insert("buffer_size".into(), size);
    }
    args
}

/// The `init` slot of the type `INDEX` of [`BUFFERED`].
fn init<const INDEX: usize>(zelf: &PyObject, args: FuncArgs, vm: &VirtualMachine) -> PyResult<()> {
    let original = ORIGINAL_INIT[INDEX]
        .get()
        .ok_or_else(|| vm.new_runtime_error("buffered init used before it was installed"))?;
    original(zelf, with_buffer_size(args, BUFFERED[INDEX].1, vm), vm)
}

/// `__init__` in the type `INDEX`'s dict: the same, for an explicit call.
fn init_method<const INDEX: usize>(
    zelf: PyObjectRef,
    args: FuncArgs,
    vm: &VirtualMachine,
) -> PyResult<()> {
    init::<INDEX>(&zelf, args, vm)
}

const fn init_def<const INDEX: usize>() -> [PyMethodDef; 1] {
    [PyMethodDef::new_const(
        "__init__",
        init_method::<INDEX>,
        PyMethodFlags::METHOD,
        ItemDoc::static_text(
            "__init__($self, /, *args, **kwargs)\n--\n\nInitialize self.  See help(type(self)) for accurate signature.",
        ),
    )]
}

static INIT_DEFS: [[PyMethodDef; 1]; 4] = [
    init_def::<0>(),
    init_def::<1>(),
    init_def::<2>(),
    init_def::<3>(),
];
const INITS: [Init; 4] = [init::<0>, init::<1>, init::<2>, init::<3>];

/// Replace the buffered types' `init` slots and `__init__` (process-wide, once).
fn install_buffered_init(vm: &VirtualMachine) -> PyResult<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = (|| {
            for (index, (name, _)) in BUFFERED.iter().enumerate() {
                let ty = super::module_type("_io", name, vm)?;
                let original = ty
                    .slots
                    .init
                    .load()
                    .ok_or_else(|| vm.new_type_error(format!("_io.{name} has no init slot")))?;
                let _ = ORIGINAL_INIT[index].set(original);
                super::replace_methods(ty, &INIT_DEFS[index], vm)?;
                ty.slots.init.store(Some(INITS[index]));
            }
            Ok(())
        })();
    });
    result
}

/// Install ours in `_io`, `io` and `builtins` (the same object in all three).
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    install_buffered_init(vm)?;
    let io = vm.import("_io", 0)?;
    let ours = super::module_function(&OPEN_DEF, &io, "io", vm);
    let open_code = super::module_function(&OPEN_CODE_DEF, &io, "io", vm);
    let size: PyObjectRef = vm.ctx.new_int(BUFFER_SIZE).into();
    let modules = vm.sys_module.get_attr("modules", vm)?;
    for name in ["_io", "io"] {
        let module = match name {
            "_io" => vm.import("_io", 0)?,
            _ => match modules.get_item(name, vm) {
                Ok(module) => module,
                Err(_) => continue,
            },
        };
        module.set_attr("DEFAULT_BUFFER_SIZE", size.clone(), vm)?;
        module.set_attr("open", ours.clone(), vm)?;
        module.set_attr("open_code", open_code.clone(), vm)?;
    }
    vm.builtins.set_attr("open", ours, vm)?;
    Ok(())
}
