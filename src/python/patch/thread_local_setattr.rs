//! Setting and deleting attributes of a `threading.local`.
//!
//! CPython's `_thread._local` sets attributes as any object does, with the calling thread's
//! own dict as the instance dict: a data descriptor of the class (a property with a setter in
//! a `threading.local` subclass) is called, a missing attribute's `del` raises
//! AttributeError. RustPython 0.6.0's `Local::setattro` (vm/src/stdlib/_thread.rs) writes the
//! thread's dict directly: a property's setter is bypassed (the value lands in the dict under
//! the property's name, and the getter then fails), and `del` of a missing attribute raises
//! KeyError, which `except AttributeError` does not catch (SQLAlchemy's
//! `SingletonThreadPool` disposing of a connection another thread never made).
//! Reproducer: `l = threading.local(); del l.missing` must raise AttributeError, and
//! `class L(threading.local): x = property(lambda s: s._x, lambda s, v: setattr(s, '_x', v))`,
//! `l = L(); l.x = 3` must call the setter.
//!
//! `_thread._local`'s setattro slot (which subclasses created afterwards inherit) and its
//! `__setattr__`/`__delattr__` methods are replaced by the generic rule over the thread's
//! dict, which `__dict__` gives.

use std::sync::Once;

use rustpython_vm::{
    AsObject, Py, PyObject, PyObjectRef, PyResult, VirtualMachine,
    builtins::{PyDict, PyStr, PyStrRef},
    function::{ItemDoc, PyMethodDef, PyMethodFlags, PySetterValue},
};

fn setattro(
    obj: &PyObject,
    name: &Py<PyStr>,
    value: PySetterValue,
    vm: &VirtualMachine,
) -> PyResult<()> {
    let type_name = || {
        let class = obj.class();
        if &*class.name() == "_local" {
            "_thread._local".to_owned()
        } else {
            class.name().to_string()
        }
    };
    if name.as_bytes() == b"__dict__" {
        return Err(vm.new_attribute_error(format!(
            "'{}' object attribute '__dict__' is read-only",
            type_name()
        )));
    }
    let descriptor = obj.class().get_attr(vm.ctx.intern_str(name.as_wtf8()));
    if let Some(descr) = descriptor
        && let Some(set) = descr.class().slots.descr_set.load()
    {
        return set(&descr, obj.to_owned(), value, vm);
    }
    let dict = obj
        .get_attr("__dict__", vm)?
        .downcast::<PyDict>()
        .map_err(|_| vm.new_type_error("threading.local's __dict__ is not a dict"))?;
    match value {
        PySetterValue::Assign(value) => dict.set_item(name, value, vm),
        PySetterValue::Delete => dict.del_item(name, vm).map_err(|e| {
            if e.fast_isinstance(vm.ctx.exceptions.key_error) {
                vm.new_attribute_error(format!(
                    "'{}' object has no attribute '{}'",
                    type_name(),
                    name.as_wtf8()
                ))
            } else {
                e
            }
        }),
    }
}

static DEFS: [PyMethodDef; 2] = [
    PyMethodDef::new_const(
        "__setattr__",
        set_method,
        PyMethodFlags::METHOD,
        ItemDoc::static_text(
            "__setattr__($self, name, value, /)\n--\n\nImplement setattr(self, name, value).",
        ),
    ),
    PyMethodDef::new_const(
        "__delattr__",
        del_method,
        PyMethodFlags::METHOD,
        ItemDoc::static_text("__delattr__($self, name, /)\n--\n\nImplement delattr(self, name)."),
    ),
];

fn set_method(
    zelf: PyObjectRef,
    name: PyStrRef,
    value: PyObjectRef,
    vm: &VirtualMachine,
) -> PyResult<()> {
    setattro(&zelf, &name, PySetterValue::Assign(value), vm)
}

fn del_method(zelf: PyObjectRef, name: PyStrRef, vm: &VirtualMachine) -> PyResult<()> {
    setattro(&zelf, &name, PySetterValue::Delete, vm)
}

/// Replace `_thread._local`'s attribute setting (once per process: the type is shared).
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = super::module_type("_thread", "_local", vm).and_then(|ty| {
            ty.slots.setattro.store(Some(setattro));
            super::replace_methods(ty, &DEFS, vm).map(drop)
        });
    });
    result
}
