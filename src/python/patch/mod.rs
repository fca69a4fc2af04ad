//! Where RustPython 0.6.0 differs from CPython, mended natively when an interpreter starts.
//! One file per difference; each opens with the difference, its reproducer and what we do.
//! The README's table "Where RustPython differs and what rwsgi does" lists them all.

pub mod buffered_readline;
pub mod bytes_strip;
pub mod compile;
pub mod dict_subclass;
pub mod gc_generations;
pub mod io_buffer_size;
pub mod json_encoder;
pub mod json_int;
pub mod length_hint;
pub mod main_module;
pub mod mro;
pub mod os_supports;
pub mod path_normpath;
pub mod property_get;
pub mod random_seed;
pub mod re_sub;
pub mod signal_dispositions;
pub mod socket_recvmsg_into;
pub mod socket_timeout;
pub mod sqlite_closed_cursor;
pub mod sqlite_decltypes;
pub mod sqlite_recursion;
pub mod sysconfig;
pub mod thread_local_setattr;
pub mod time_tzset;
pub mod type_new;
pub mod xml_wellformed;

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use rustpython_vm::{
    Py, PyObjectRef, PyResult, VirtualMachine, builtins::PyType, function::PyMethodDef,
};

/// A module-level native function as CPython's are: `__module__` is `module_name`,
/// `__self__` the module, `__qualname__` the bare name (so it pickles by name and its repr is
/// `<built-in function NAME>`). Bound functions would show their bound object instead
/// (`tuple.compile`).
fn module_function(
    def: &'static PyMethodDef,
    module: &PyObjectRef,
    module_name: &str,
    vm: &VirtualMachine,
) -> PyObjectRef {
    def.to_function()
        .with_module(vm.ctx.intern_str(module_name))
        .with_module_object(module.clone())
        .into_ref(&vm.ctx)
        .into()
}

/// What a patch keeps for each interpreter (the original it wraps, say), found again from
/// the running interpreter; its functions stay unbound, as CPython's module functions are.
/// Keyed by the interpreter's global state, which all its threads share.
struct PerInterpreter(LazyLock<Mutex<HashMap<usize, PyObjectRef>>>);

impl PerInterpreter {
    const fn new() -> Self {
        Self(LazyLock::new(Default::default))
    }

    fn key(vm: &VirtualMachine) -> usize {
        std::ptr::from_ref(&*vm.state) as usize
    }

    fn set(&self, vm: &VirtualMachine, value: PyObjectRef) {
        let replaced = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(Self::key(vm), value);
        drop(replaced); // outside the lock
    }

    fn get(&self, vm: &VirtualMachine) -> PyResult<PyObjectRef> {
        let kept = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&Self::key(vm))
            .cloned();
        kept.ok_or_else(|| vm.new_runtime_error("a compatibility patch is not installed here"))
    }
}

/// A native type of `module`, by name, for the life of the process (native types are never
/// freed): method descriptors built on it need a static reference.
fn module_type(module: &str, name: &str, vm: &VirtualMachine) -> PyResult<&'static Py<PyType>> {
    let ty = vm
        .import(vm.ctx.intern_str(module), 0)?
        .get_attr(vm.ctx.intern_str(name), vm)?
        .downcast::<PyType>()
        .map_err(|_| vm.new_type_error(format!("{module}.{name} is not a type")))?;
    Ok(Box::leak(Box::new(ty)))
}

/// Replace the methods `defs` name on `ty` by theirs, returning the originals in order.
fn replace_methods(
    ty: &'static Py<PyType>,
    defs: &'static [PyMethodDef],
    vm: &VirtualMachine,
) -> PyResult<Vec<PyObjectRef>> {
    let mut originals = Vec::with_capacity(defs.len());
    for def in defs {
        let name = vm.ctx.intern_str(def.name);
        let original = ty
            .get_attr(name)
            .ok_or_else(|| vm.new_attribute_error(format!("{} has no {}", ty.name(), def.name)))?;
        originals.push(original);
    }
    for def in defs {
        let method = def.build_method(&vm.ctx, ty);
        ty.set_attr(vm.ctx.intern_str(def.name), method.into());
    }
    ty.modified();
    Ok(originals)
}

/// Apply every fix to the interpreter `vm` belongs to, before any app or script code runs.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    // The process-wide parts (native types' methods and slots) are done by the first
    // interpreter; one at a time, so that no install reads another's replacement as the
    // original.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // Waiting is done detached from the interpreter: a thread blocked while attached can
    // stall the stop-the-world that another interpreter's collector asks for.
    let _one_at_a_time = vm.allow_threads(|| INSTALLING.lock().unwrap_or_else(|e| e.into_inner()));
    mro::install(vm);
    type_new::install(vm);
    re_sub::install(vm)?;
    json_int::install(vm)?;
    json_encoder::install(vm)?;
    sysconfig::install(vm)?;
    sqlite_decltypes::install(vm)?;
    sqlite_recursion::install(vm)?;
    sqlite_closed_cursor::install(vm)?;
    main_module::install(vm)?;
    time_tzset::install(vm)?;
    compile::install(vm)?;
    xml_wellformed::install(vm)?;
    length_hint::install(vm)?;
    socket_recvmsg_into::install(vm)?;
    socket_timeout::install(vm)?;
    bytes_strip::install(vm)?;
    buffered_readline::install(vm)?;
    io_buffer_size::install(vm)?;
    thread_local_setattr::install(vm)?;
    dict_subclass::install(vm)?;
    signal_dispositions::install(vm)?;
    random_seed::install(vm)?;
    path_normpath::install(vm)?;
    os_supports::install(vm)?;
    Ok(())
}
