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
//! that from `isatty`, as CPython).

use rustpython_vm::{
    FromArgs, PyObjectRef, PyResult, VirtualMachine,
    builtins::PyUtf8StrRef,
    function::{ItemDoc, PyMethodDef, PyMethodFlags},
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
    ItemDoc::static_text("Open file and return a stream.  Raise OSError upon failure."),
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

/// Install ours in `_io`, `io` and `builtins` (the same object in all three).
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let ours: PyObjectRef = OPEN_DEF.build_function(&vm.ctx).into();
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
    }
    vm.builtins.set_attr("open", ours, vm)?;
    Ok(())
}
