//! The method resolution order as CPython computes it (C3), for every class.
//!
//! RustPython 0.6.0 merges the bases' MROs without the list of the direct bases, which C3
//! also merges (`resolve_mro`, vm/src/builtins/type.rs). The result is silently wrong for
//! some hierarchies, and a later class built on a wrong MRO can be refused outright:
//!
//! ```python
//! class UI: pass
//! class ALR: pass
//! class T(UI): pass
//! class C(T, ALR, UI): pass      # CPython: C, T, ALR, UI; RustPython: C, T, UI, ALR
//! class J(ALR, UI): pass
//! class F(C, J): pass            # RustPython: "Cannot create a consistent method resolution order"
//! ```
//!
//! SQLAlchemy 2.1 fails to import on the loud form; 2.0 gets 264 of its classes in a
//! different order. What we change, at interpreter start:
//!
//! - `type.mro` is replaced by a native C3. RustPython asks `mro()` whenever the metaclass
//!   is not exactly `type` (ABCMeta and every other metaclass), before the class's slots are
//!   wired and before `__set_name__`/`__init_subclass__` run, so those classes come out right.
//! - A class whose metaclass is exactly `type` and whose C3 order differs from the order
//!   RustPython would compute is created through a private subclass of `type` (see
//!   [`creation_metatype`]; `type_new` does it), so that it takes the same `mro()` path; its
//!   class is set back to `type` before anyone outside sees it. Classes whose orders agree
//!   (all single inheritance, and nearly all multiple inheritance) go straight to RustPython.

use std::sync::OnceLock;

use rustpython_vm::{
    AsObject, Py, PyObjectRef, PyResult, VirtualMachine,
    builtins::{PyTuple, PyType, PyTypeRef},
    function::{FuncArgs, PyMethodDef, PyMethodFlags},
    types::PyTypeSlots,
};

/// A subclass of `type` with nothing of its own: a class created with it as metaclass has its
/// MRO computed by `mro()` (ours) rather than by RustPython's merge.
static C3_META: OnceLock<PyTypeRef> = OnceLock::new();

static MRO_DEF: PyMethodDef = PyMethodDef::new_const(
    "mro",
    type_mro,
    PyMethodFlags::METHOD,
    rustpython_vm::function::ItemDoc::static_text(
        "mro($self, /)\n--\n\nReturn a type's method resolution order (C3, as CPython computes it).",
    ),
);

/// C3's merge: repeatedly take the first head that is in no list's tail. `None` when no
/// such head exists (the hierarchy has no consistent order).
fn merge(mut lists: Vec<Vec<PyTypeRef>>) -> Option<Vec<PyTypeRef>> {
    let mut out = Vec::new();
    loop {
        lists.retain(|l| !l.is_empty());
        if lists.is_empty() {
            return Some(out);
        }
        let head = lists
            .iter()
            .map(|l| &l[0])
            .find(|h| !lists.iter().any(|l| l[1..].iter().any(|t| t.is(*h))))?
            .clone();
        for l in lists.iter_mut() {
            if l[0].is(&head) {
                l.remove(0);
            }
        }
        out.push(head);
    }
}

fn base_mros(bases: &[PyTypeRef]) -> Vec<Vec<PyTypeRef>> {
    bases
        .iter()
        .map(|b| b.mro_map_collect(|t| t.to_owned()))
        .collect()
}

/// CPython's linearization of a class with these bases, the class itself left out.
pub fn c3(bases: &[PyTypeRef]) -> Option<Vec<PyTypeRef>> {
    if let [only] = bases {
        return Some(only.mro_map_collect(|t| t.to_owned()));
    }
    let mut lists = base_mros(bases);
    lists.push(bases.to_vec());
    merge(lists)
}

/// What RustPython 0.6.0 computes for the same bases: the merge without the bases' list.
fn rustpython_order(bases: &[PyTypeRef]) -> Option<Vec<PyTypeRef>> {
    merge(base_mros(bases))
}

fn same(a: &[PyTypeRef], b: &[PyTypeRef]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.is(y))
}

fn names(types: &[PyTypeRef]) -> String {
    types
        .iter()
        .map(|t| t.name().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `type.mro()`: the class followed by C3 over its bases, with CPython's errors.
fn type_mro(cls: PyTypeRef, vm: &VirtualMachine) -> PyResult<Vec<PyObjectRef>> {
    let bases: Vec<PyTypeRef> = cls.bases.read().as_slice().to_vec();
    for (i, base) in bases.iter().enumerate() {
        if base.mro.read().is_empty() {
            return Err(vm.new_type_error(format!(
                "Cannot extend an incomplete type '{}'",
                base.name()
            )));
        }
        if bases[..i].iter().any(|b| b.is(base)) {
            return Err(vm.new_type_error(format!("duplicate base class {}", base.name())));
        }
    }
    let order = c3(&bases).ok_or_else(|| {
        vm.new_type_error(format!(
            "Cannot create a consistent method resolution order (MRO) for bases {}",
            names(&bases)
        ))
    })?;
    Ok(std::iter::once(cls.into())
        .chain(order.into_iter().map(Into::into))
        .collect())
}

/// The bases of a `type(name, bases, ns)` call whose metaclass stays `type`: every base is a
/// class whose own class is exactly `type`.
fn plain_bases(args: &FuncArgs, vm: &VirtualMachine) -> Option<Vec<PyTypeRef>> {
    let bases = args.args.get(1)?.downcast_ref::<PyTuple>()?;
    bases
        .as_slice()
        .iter()
        .map(|b| {
            let t = b.downcast_ref::<PyType>()?;
            t.class().is(vm.ctx.types.type_type).then(|| t.to_owned())
        })
        .collect()
}

/// The metaclass to create a `type(name, bases, ns)` class with so that it gets C3's order:
/// `Some` only when the metaclass is exactly `type` and RustPython's own merge would give
/// another order (or none) where C3 gives one.
pub fn creation_metatype(
    metatype: &Py<PyType>,
    args: &FuncArgs,
    vm: &VirtualMachine,
) -> Option<PyTypeRef> {
    if !metatype.is(vm.ctx.types.type_type) || args.args.len() != 3 {
        return None;
    }
    let bases = plain_bases(args, vm)?;
    if bases.len() < 2 {
        return None;
    }
    let right = c3(&bases)?;
    if rustpython_order(&bases).is_some_and(|theirs| same(&theirs, &right)) {
        return None;
    }
    C3_META.get().cloned()
}

/// Install `type.mro` and create the private metaclass. The types involved are process-wide,
/// so this runs once per process, before `type_new` is installed.
pub fn install(vm: &VirtualMachine) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let type_type = vm.ctx.types.type_type;
        match PyType::new_heap(
            "type",
            vec![type_type.to_owned()],
            Default::default(),
            PyTypeSlots::heap_default(),
            type_type.to_owned(),
            &vm.ctx,
        ) {
            Ok(meta) => {
                let _ = C3_META.set(meta);
            }
            Err(e) => crate::observe::log::error(&format!("C3 creation metaclass not made: {e}")),
        }
        let mro = MRO_DEF.build_method(&vm.ctx, type_type);
        type_type.set_attr(vm.ctx.intern_str("mro"), mro.into());
        type_type.modified();
    });
}
