//! A dict subclass's stored items, not its `__getitem__`, in comparisons and merges.
//!
//! CPython compares two dicts (`dict_equal`) and merges one into another (`dict_merge`, behind
//! `dict(d)`, `dict.update(d)` and `|=`) by reading the stored entries whenever the other
//! object is a dict, subclass or not, whose `__iter__` is dict's. RustPython 0.6.0 does so
//! only for an exact dict and otherwise goes through `keys()` and `__getitem__`
//! (vm/src/builtins/dict.rs, `inner_cmp`, `merge_object_with_override`). Django's
//! `MultiValueDict` (`QueryDict`, `request.GET`) overrides `__getitem__` to give a key's last
//! value, so `dict(request.GET)` gave `{'a': '2'}` where CPython gives `{'a': ['1', '2']}`,
//! and `request.GET == {'a': ['1', '2']}` was False. Reproducer:
//! `class M(dict): __getitem__ = lambda s, k: dict.__getitem__(s, k)[-1]`; then
//! `M(a=[1, 2]) == {'a': [1, 2]}` and `dict(M(a=[1, 2]))['a'] == [1, 2]` must hold.
//!
//! Dict's comparison and `__init__` slots, `update` and `|=` are replaced by native ones that
//! compare stored entries, or hand RustPython's own an exact snapshot of such a subclass's
//! entries; exact dicts are merged by RustPython's own code. Equality of any two dicts is
//! ours, which also asks each left-hand value first as CPython does (RustPython asked the
//! right-hand one: `{'k': L()} == {'k': R()}` called `R.__eq__`). Subclasses created
//! afterwards reach them through the methods (see `DEFS`). Not reached from here (RustPython's bytecode calls its
//! merge directly): `{**d}` and `f(**d)`; nor the native subclasses built before us
//! (`defaultdict`, `OrderedDict`, `Counter` keep RustPython's paths).

use std::sync::OnceLock;

use rustpython_vm::{
    AsObject, PyObject, PyObjectRef, PyResult, VirtualMachine,
    builtins::PyDict,
    function::{Either, FuncArgs, ItemDoc, PyComparisonValue, PyMethodDef, PyMethodFlags},
    types::PyComparisonOp,
};

type RichCompare = fn(
    &PyObject,
    &PyObject,
    PyComparisonOp,
    &VirtualMachine,
) -> PyResult<Either<PyObjectRef, PyComparisonValue>>;
type Init = fn(&PyObject, FuncArgs, &VirtualMachine) -> PyResult<()>;
type Binary = fn(&PyObject, &PyObject, &VirtualMachine) -> PyResult;
type VectorCall =
    fn(&PyObject, Vec<PyObjectRef>, usize, Option<&[PyObjectRef]>, &VirtualMachine) -> PyResult;

/// RustPython's own slots and methods, as found before replacing them.
struct Originals {
    richcompare: RichCompare,
    init: Init,
    inplace_or: Binary,
    /// `dict(...)` itself, which skips the init slot.
    vectorcall: VectorCall,
    /// `update`, `__ior__` (`DEFS` order; the rest are not called).
    methods: Vec<PyObjectRef>,
}

static ORIGINALS: OnceLock<Originals> = OnceLock::new();

/// `obj` as CPython's merge reads it: a dict subclass whose `__iter__` is dict's becomes an
/// exact dict of its stored entries; anything else is itself.
fn stored_entries(obj: &PyObject, vm: &VirtualMachine) -> Option<PyObjectRef> {
    let dict = obj.downcast_ref::<PyDict>()?;
    let class = obj.class();
    if class.is(vm.ctx.types.dict_type) {
        return None;
    }
    let iter = vm.ctx.intern_str("__iter__");
    let own = class.get_attr(iter)?;
    if !own.is(&vm.ctx.types.dict_type.get_attr(iter)?) {
        return None; // CPython goes through keys() and __getitem__ then, as RustPython does
    }
    let copy = vm.ctx.new_dict();
    for (key, value) in dict.items_vec() {
        // Rehashing an already-stored key cannot fail in a way CPython would not.
        copy.set_item(&*key, value, vm).ok()?;
    }
    Some(copy.into())
}

fn richcompare(
    a: &PyObject,
    b: &PyObject,
    op: PyComparisonOp,
    vm: &VirtualMachine,
) -> PyResult<Either<PyObjectRef, PyComparisonValue>> {
    let original = ORIGINALS.get().map(|o| o.richcompare);
    let Some(original) = original else {
        return Ok(Either::B(PyComparisonValue::NotImplemented));
    };
    if !matches!(op, PyComparisonOp::Eq | PyComparisonOp::Ne) {
        return original(a, b, op, vm);
    }
    let (Some(da), Some(db)) = (a.downcast_ref::<PyDict>(), b.downcast_ref::<PyDict>()) else {
        return original(a, b, op, vm);
    };
    // Exact dicts come here too: RustPython's own comparison calls the right-hand value's
    // `__eq__` first (`{'k': L()} == {'k': R()}` asked `R() == L()`), where CPython asks the
    // left-hand one; SQLAlchemy's test helpers (and any `__eq__` that is not symmetric, such
    // as a SQL expression's) see the difference.
    // CPython's dict_equal: same size, and every stored entry of `a` is stored in `b` with an
    // equal value; no `__getitem__` or `__missing__` is called.
    let mut equal = da.__len__() == db.__len__();
    if equal {
        for (key, value) in da.items_vec() {
            match db.inner_getitem_opt(&*key, vm)? {
                Some(other) if value.is(&other) || vm.bool_eq(&value, &other)? => {}
                _ => {
                    equal = false;
                    break;
                }
            }
        }
    }
    Ok(Either::B(PyComparisonValue::Implemented(
        equal == (op == PyComparisonOp::Eq),
    )))
}

fn init(zelf: &PyObject, mut args: FuncArgs, vm: &VirtualMachine) -> PyResult<()> {
    let Some(original) = ORIGINALS.get().map(|o| o.init) else {
        return Ok(());
    };
    if let Some(first) = args.args.first_mut()
        && let Some(copy) = stored_entries(first, vm)
    {
        *first = copy;
    }
    original(zelf, args, vm)
}

fn vectorcall(
    callable: &PyObject,
    mut args: Vec<PyObjectRef>,
    nargs: usize,
    kwnames: Option<&[PyObjectRef]>,
    vm: &VirtualMachine,
) -> PyResult {
    let Some(original) = ORIGINALS.get().map(|o| o.vectorcall) else {
        return Ok(vm.ctx.none());
    };
    if nargs >= 1
        && let Some(first) = args.first_mut()
        && let Some(copy) = stored_entries(first, vm)
    {
        *first = copy;
    }
    original(callable, args, nargs, kwnames, vm)
}

fn inplace_or(a: &PyObject, b: &PyObject, vm: &VirtualMachine) -> PyResult {
    let Some(original) = ORIGINALS.get().map(|o| o.inplace_or) else {
        return Ok(vm.ctx.not_implemented());
    };
    match stored_entries(b, vm) {
        Some(copy) => original(a, &copy, vm),
        None => original(a, b, vm),
    }
}

/// Call RustPython's method `index` (`DEFS` order) on `zelf` with the first argument read as
/// CPython's merge reads it.
fn call_original(
    index: usize,
    zelf: PyObjectRef,
    mut args: FuncArgs,
    vm: &VirtualMachine,
) -> PyResult {
    let original = ORIGINALS
        .get()
        .and_then(|o| o.methods.get(index))
        .ok_or_else(|| vm.new_runtime_error("dict patch used before it was installed"))?;
    if let Some(first) = args.args.first_mut()
        && let Some(copy) = stored_entries(first, vm)
    {
        *first = copy;
    }
    args.prepend_arg(zelf);
    original.call(args, vm)
}

fn update(zelf: PyObjectRef, args: FuncArgs, vm: &VirtualMachine) -> PyResult {
    call_original(0, zelf, args, vm)
}

fn ior(zelf: PyObjectRef, args: FuncArgs, vm: &VirtualMachine) -> PyResult {
    call_original(1, zelf, args, vm)
}

fn as_object(value: Either<PyObjectRef, PyComparisonValue>, vm: &VirtualMachine) -> PyObjectRef {
    match value {
        Either::A(obj) => obj,
        Either::B(PyComparisonValue::Implemented(b)) => vm.ctx.new_bool(b).into(),
        Either::B(PyComparisonValue::NotImplemented) => vm.ctx.not_implemented(),
    }
}

fn compare(
    zelf: PyObjectRef,
    other: PyObjectRef,
    op: PyComparisonOp,
    vm: &VirtualMachine,
) -> PyResult {
    richcompare(&zelf, &other, op, vm).map(|v| as_object(v, vm))
}

fn eq(zelf: PyObjectRef, other: PyObjectRef, vm: &VirtualMachine) -> PyResult {
    compare(zelf, other, PyComparisonOp::Eq, vm)
}
fn ne(zelf: PyObjectRef, other: PyObjectRef, vm: &VirtualMachine) -> PyResult {
    compare(zelf, other, PyComparisonOp::Ne, vm)
}
fn lt(zelf: PyObjectRef, other: PyObjectRef, vm: &VirtualMachine) -> PyResult {
    compare(zelf, other, PyComparisonOp::Lt, vm)
}
fn le(zelf: PyObjectRef, other: PyObjectRef, vm: &VirtualMachine) -> PyResult {
    compare(zelf, other, PyComparisonOp::Le, vm)
}
fn gt(zelf: PyObjectRef, other: PyObjectRef, vm: &VirtualMachine) -> PyResult {
    compare(zelf, other, PyComparisonOp::Gt, vm)
}
fn ge(zelf: PyObjectRef, other: PyObjectRef, vm: &VirtualMachine) -> PyResult {
    compare(zelf, other, PyComparisonOp::Ge, vm)
}

fn init_method(zelf: PyObjectRef, args: FuncArgs, vm: &VirtualMachine) -> PyResult<()> {
    init(&zelf, args, vm)
}

/// Dict's own `update` and `__ior__`, and, because a subclass created later takes its slots
/// from the wrapper descriptors it finds on dict (which cannot be built from outside
/// RustPython), `__init__` and the six comparisons as native methods: such a subclass then
/// reaches them through its generic slot.
static DEFS: [PyMethodDef; 9] = [
    PyMethodDef::new_const(
        "update",
        update,
        PyMethodFlags::METHOD,
        ItemDoc::static_text(
            "D.update([E, ]**F) -> None.  Update D from mapping/iterable E and F.",
        ),
    ),
    PyMethodDef::new_const(
        "__ior__",
        ior,
        PyMethodFlags::METHOD,
        ItemDoc::static_text("__ior__($self, value, /)\n--\n\nReturn self|=value."),
    ),
    PyMethodDef::new_const(
        "__init__",
        init_method,
        PyMethodFlags::METHOD,
        ItemDoc::static_text(
            "__init__($self, /, *args, **kwargs)\n--\n\nInitialize self.  See help(type(self)) for accurate signature.",
        ),
    ),
    PyMethodDef::new_const(
        "__eq__",
        eq,
        PyMethodFlags::METHOD,
        ItemDoc::static_text("__eq__($self, value, /)\n--\n\nReturn self==value."),
    ),
    PyMethodDef::new_const(
        "__ne__",
        ne,
        PyMethodFlags::METHOD,
        ItemDoc::static_text("__ne__($self, value, /)\n--\n\nReturn self!=value."),
    ),
    PyMethodDef::new_const(
        "__lt__",
        lt,
        PyMethodFlags::METHOD,
        ItemDoc::static_text("__lt__($self, value, /)\n--\n\nReturn self<value."),
    ),
    PyMethodDef::new_const(
        "__le__",
        le,
        PyMethodFlags::METHOD,
        ItemDoc::static_text("__le__($self, value, /)\n--\n\nReturn self<=value."),
    ),
    PyMethodDef::new_const(
        "__gt__",
        gt,
        PyMethodFlags::METHOD,
        ItemDoc::static_text("__gt__($self, value, /)\n--\n\nReturn self>value."),
    ),
    PyMethodDef::new_const(
        "__ge__",
        ge,
        PyMethodFlags::METHOD,
        ItemDoc::static_text("__ge__($self, value, /)\n--\n\nReturn self>=value."),
    ),
];

/// Replace dict's slots and methods, once per process (the dict type is process-wide).
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    if ORIGINALS.get().is_some() {
        return Ok(());
    }
    let dict = vm.ctx.types.dict_type;
    let (Some(richcompare_slot), Some(init_slot), Some(inplace_or_slot), Some(vectorcall_slot)) = (
        dict.slots.richcompare.load(),
        dict.slots.init.load(),
        dict.slots.as_number.inplace_or.load(),
        dict.slots.vectorcall.load(),
    ) else {
        return Err(vm.new_runtime_error("dict lacks its comparison, init, |= or call slot"));
    };
    let methods = super::replace_methods(dict, &DEFS, vm)?;
    let _ = ORIGINALS.set(Originals {
        richcompare: richcompare_slot,
        init: init_slot,
        inplace_or: inplace_or_slot,
        vectorcall: vectorcall_slot,
        methods,
    });
    dict.slots.richcompare.store(Some(richcompare));
    dict.slots.init.store(Some(init));
    dict.slots.as_number.inplace_or.store(Some(inplace_or));
    dict.slots.vectorcall.store(Some(vectorcall));
    dict.modified();
    Ok(())
}
