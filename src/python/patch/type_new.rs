//! The `new` slot of `type`: every class creation passes here (a `class` statement, a
//! `type(name, bases, ns)` call, a metaclass's `super().__new__`), so the fixes that belong
//! to the moment a class is made live here, natively, instead of in a Python wrapper of
//! `builtins.__build_class__` (which cost a Python call per class, a few percent of Django's
//! import time, and missed `type()` calls):
//!
//! - the C3 method resolution order for classes whose metaclass is `type` (`mro`);
//! - `'__dict__'` or `'__weakref__'` in `__slots__` beside a class variable of the same name
//!   (a `__dict__` property, as werkzeug-style LocalProxy classes and webapp2_extras.local
//!   have): RustPython refuses it with `ValueError: '__dict__' in __slots__ conflicts with
//!   class variable` (vm/src/builtins/type.rs); CPython exempts those two names. The class is
//!   created without the class variable, which is then put back, so instances get their dict
//!   and the class variable wins attribute lookups, as on CPython. Reproducer:
//!   `class P: __slots__ = ('__dict__',); __dict__ = property(lambda s: {})`;
//! - property subclasses that override `__get__` (`property_get`).

use std::sync::OnceLock;

use rustpython_vm::{
    AsObject, Py, PyObjectRef, PyPayload, PyResult, VirtualMachine,
    builtins::{PyDict, PyDictRef, PyList, PyStr, PyTuple, PyType, PyTypeRef},
    function::FuncArgs,
};

use super::{mro, property_get};

/// The `new` slot's signature (`NewFunc` is crate-private in rustpython-vm).
type NewSlot = fn(PyTypeRef, FuncArgs, &VirtualMachine) -> PyResult;

/// `type`'s own `new` slot, as RustPython built it.
static ORIGINAL: OnceLock<NewSlot> = OnceLock::new();

/// The names CPython lets stand in `__slots__` beside a class variable of the same name.
const EXEMPT_SLOTS: [&str; 2] = ["__dict__", "__weakref__"];

/// The names in `__slots__` (a str or a tuple/list of str).
fn slot_names(slots: &PyObjectRef) -> Vec<String> {
    let items: Vec<PyObjectRef> = if let Some(s) = slots.downcast_ref::<PyStr>() {
        return vec![s.to_string_lossy().into_owned()];
    } else if let Some(t) = slots.downcast_ref::<PyTuple>() {
        t.as_slice().to_vec()
    } else if let Some(l) = slots.downcast_ref::<PyList>() {
        l.borrow_vec().to_vec()
    } else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| {
            i.downcast_ref::<PyStr>()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .collect()
}

/// The class variables that clash with an exempt `__slots__` name, taken out of a copy of the
/// namespace: `(copy, [(name, value)])`, or `None` when nothing clashes.
#[allow(clippy::type_complexity)]
fn without_clashes(
    namespace: &PyObjectRef,
    vm: &VirtualMachine,
) -> PyResult<Option<(PyDictRef, Vec<(&'static str, PyObjectRef)>)>> {
    let Some(dict) = namespace.downcast_ref::<PyDict>() else {
        return Ok(None);
    };
    let Some(slots) = dict.get_item_opt("__slots__", vm)? else {
        return Ok(None);
    };
    let names = slot_names(&slots);
    let mut clashes = Vec::new();
    for name in EXEMPT_SLOTS {
        if names.iter().any(|n| n == name)
            && let Some(value) = dict.get_item_opt(name, vm)?
        {
            clashes.push((name, value));
        }
    }
    if clashes.is_empty() {
        return Ok(None);
    }
    let copy = dict.copy().into_ref(&vm.ctx);
    for (name, _) in &clashes {
        copy.del_item(*name, vm)?;
    }
    Ok(Some((copy, clashes)))
}

/// The wrapped slot.
fn type_new(metatype: PyTypeRef, mut args: FuncArgs, vm: &VirtualMachine) -> PyResult {
    let original = *ORIGINAL
        .get()
        .expect("the slot is only installed after the original is saved");
    let mut restore = Vec::new();
    if let Some(namespace) = args.args.get(2)
        && let Some((copy, clashes)) = without_clashes(namespace, vm)?
    {
        args.args[2] = copy.into();
        restore = clashes;
    }
    let c3_meta = mro::creation_metatype(&metatype, &args, vm);
    let cls = original(c3_meta.clone().unwrap_or(metatype), args, vm)?;
    if c3_meta.is_some() {
        cls.set_class(vm.ctx.types.type_type.to_owned(), vm);
    }
    if let Some(ty) = cls.downcast_ref::<PyType>() {
        for (name, value) in restore {
            ty.set_attr(vm.ctx.intern_str(name), value);
        }
        property_get::prepare_class(ty, vm);
    }
    Ok(cls)
}

/// Every subclass of `ty`, transitively.
fn subclasses(ty: &Py<PyType>, out: &mut Vec<PyTypeRef>) {
    let subs: Vec<PyTypeRef> = ty
        .subclasses
        .read()
        .iter()
        .filter_map(|w| w.upgrade())
        .filter_map(|o| o.downcast::<PyType>().ok())
        .collect();
    for sub in subs {
        if !out.iter().any(|t| t.is(&sub)) {
            subclasses(&sub, out);
            out.push(sub);
        }
    }
}

/// Wrap the slot of `type` and of the metaclasses that inherited it. Process-wide, once.
pub fn install(vm: &VirtualMachine) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let type_type = vm.ctx.types.type_type;
        let Some(original) = type_type.slots.new.load() else {
            return;
        };
        let _ = ORIGINAL.set(original);
        let wrapped: NewSlot = type_new;
        let mut metaclasses = Vec::new();
        subclasses(type_type, &mut metaclasses);
        for meta in metaclasses {
            if meta
                .slots
                .new
                .load()
                .is_some_and(|f| f as usize == original as usize)
            {
                meta.slots.new.store(Some(wrapped));
            }
        }
        type_type.slots.new.store(Some(wrapped));
    });
}
