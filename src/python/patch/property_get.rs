//! Property subclasses that override `__get__`.
//!
//! After a few executions, RustPython 0.6.0's LOAD_ATTR specializes an attribute whose class
//! descriptor is a property into a direct call of its getter (`LoadAttrProperty`,
//! vm/src/frame.rs). It checks for a property with `downcast_ref`, which a subclass passes,
//! so a property subclass that overrides `__get__` has it skipped from the third access on.
//! CPython specializes exact properties only. werkzeug's `cached_property` is such a
//! subclass: it recomputed on every access, and Flask's `render_template` built a new Jinja2
//! environment, with an empty template cache, on each call (10 ms a page). Reproducer:
//! `class cp(property): def __get__(s, o, t=None): return 1` then `x.attr` three times on an
//! instance of `class C: attr = cp(lambda s: 0)` gives 1, 1, 0.
//!
//! The specialization applies only when the getter is exactly a Python function. So each
//! such subclass (marked when it is created, by `type_new`) gets an `__init__` slot that runs
//! its own `__init__` and then hands the property a [`Getter`]: a native callable around the
//! function, transparent to attribute reads (`fget.__name__` and the like). Nothing runs per
//! attribute access.

use rustpython_vm::{
    AsObject, Py, PyObject, PyObjectRef, PyPayload, PyResult, VirtualMachine,
    builtins::{PyFunction, PyStr, PyType},
    class::PyClassImpl,
    function::FuncArgs,
    pyclass,
    types::{Callable, GetAttr},
};

/// A property getter that the specializer does not take for a plain function.
#[pyclass(module = false, name = "property_getter")]
#[derive(Debug, PyPayload)]
pub struct Getter {
    func: PyObjectRef,
}

#[pyclass(with(Callable, GetAttr))]
impl Getter {}

impl Callable for Getter {
    type Args = FuncArgs;

    fn call(zelf: &Py<Self>, args: FuncArgs, vm: &VirtualMachine) -> PyResult {
        zelf.func.call(args, vm)
    }
}

impl GetAttr for Getter {
    fn getattro(zelf: &Py<Self>, name: &Py<PyStr>, vm: &VirtualMachine) -> PyResult {
        if name.to_str() == Some("__wrapped__") {
            return Ok(zelf.func.clone());
        }
        zelf.func.get_attr(name, vm)
    }
}

/// Whether `cls` is a strict subclass of `property` whose `__get__` is not property's.
fn overrides_get(cls: &Py<PyType>, vm: &VirtualMachine) -> bool {
    let property = vm.ctx.types.property_type;
    if cls.is(property) || !cls.fast_issubclass(property) {
        return false;
    }
    let get = vm.ctx.intern_str("__get__");
    for klass in cls.mro.read().iter() {
        if klass.is(property) {
            return false;
        }
        if klass.attributes.contains(get) {
            return true;
        }
    }
    false
}

/// `__init__` of a marked subclass: its own `__init__`, then the getter wrapped.
fn init(obj: &PyObject, args: FuncArgs, vm: &VirtualMachine) -> PyResult<()> {
    let init = obj
        .class()
        .get_attr(vm.ctx.intern_str("__init__"))
        .ok_or_else(|| vm.new_type_error("property subclass without __init__"))?;
    let mut call = args;
    call.prepend_arg(obj.to_owned());
    init.call(call, vm)?;
    let fget = obj.get_attr("fget", vm)?;
    if fget.downcast_ref_if_exact::<PyFunction>(vm).is_none() {
        return Ok(());
    }
    let getter: PyObjectRef = Getter { func: fget }.into_ref(&vm.ctx).into();
    let property = vm.ctx.types.property_type.as_object();
    let reinit = property.get_attr("__init__", vm)?;
    let fset = obj.get_attr("fset", vm)?;
    let fdel = obj.get_attr("fdel", vm)?;
    let doc = obj.get_attr("__doc__", vm)?;
    reinit.call((obj.to_owned(), getter, fset, fdel, doc), vm)?;
    Ok(())
}

/// Mark `cls` if it is a property subclass that overrides `__get__`.
pub fn prepare_class(cls: &Py<PyType>, vm: &VirtualMachine) {
    if overrides_get(cls, vm) {
        let _ = Getter::make_static_type();
        cls.slots.init.store(Some(init));
    }
}
