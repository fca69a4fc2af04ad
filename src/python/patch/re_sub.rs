//! `re.sub` and `re.subn` with a function that returns `None`.
//!
//! CPython substitutes the empty string for a `None` returned by the replacement function;
//! RustPython 0.6.0 puts `None` into the pieces it joins and raises `TypeError: sequence item
//! 0: expected str instance, NoneType found` (`Pattern::sub_impl`, vm/src/stdlib/_sre.rs).
//! Reproducer: `re.sub('a', lambda m: None, 'xax')` must give `'xx'`. A wiki formatter relied
//! on it and served pages without their body.
//!
//! `Pattern.sub` and `Pattern.subn` (which the module-level `re.sub`/`re.subn` call) are
//! replaced by native methods that hand RustPython's own a `Replacement`: the function,
//! with `None` turned into the empty string of the subject's type. Literal and template
//! replacements go through untouched.

use std::sync::OnceLock;

use rustpython_vm::{
    Py, PyObjectRef, PyPayload, PyResult, VirtualMachine,
    builtins::PyStr,
    class::PyClassImpl,
    function::{FuncArgs, ItemDoc, PyMethodDef, PyMethodFlags},
    pyclass,
    types::Callable,
};

/// A replacement function whose `None` means "nothing".
#[pyclass(module = false, name = "sub_replacement")]
#[derive(Debug, PyPayload)]
struct Replacement {
    func: PyObjectRef,
    /// `''` or `b''`, as the subject.
    empty: PyObjectRef,
}

#[pyclass(with(Callable))]
impl Replacement {}

impl Callable for Replacement {
    type Args = FuncArgs;

    fn call(zelf: &Py<Self>, args: FuncArgs, vm: &VirtualMachine) -> PyResult {
        let out = zelf.func.call(args, vm)?;
        Ok(if vm.is_none(&out) {
            zelf.empty.clone()
        } else {
            out
        })
    }
}

/// RustPython's `Pattern.sub` and `Pattern.subn`, in `DEFS` order.
static ORIGINAL: OnceLock<Vec<PyObjectRef>> = OnceLock::new();

static DEFS: [PyMethodDef; 2] = [
    PyMethodDef::new_const(
        "sub",
        pattern_sub,
        PyMethodFlags::METHOD,
        ItemDoc::static_text(
            "sub($self, /, repl, string, count=0)\n--\n\nReturn the string obtained by replacing the leftmost non-overlapping occurrences of pattern in string by the replacement repl.",
        ),
    ),
    PyMethodDef::new_const(
        "subn",
        pattern_subn,
        PyMethodFlags::METHOD,
        ItemDoc::static_text(
            "subn($self, /, repl, string, count=0)\n--\n\nReturn the tuple (new_string, number_of_subs_made) found by replacing the leftmost non-overlapping occurrences of pattern with the replacement repl.",
        ),
    ),
];

fn pattern_sub(zelf: PyObjectRef, args: FuncArgs, vm: &VirtualMachine) -> PyResult {
    call_original(false, zelf, args, vm)
}

fn pattern_subn(zelf: PyObjectRef, args: FuncArgs, vm: &VirtualMachine) -> PyResult {
    call_original(true, zelf, args, vm)
}

fn call_original(
    subn: bool,
    zelf: PyObjectRef,
    mut args: FuncArgs,
    vm: &VirtualMachine,
) -> PyResult {
    let original = &ORIGINAL
        .get()
        .expect("the methods are only installed after the originals are saved")[usize::from(subn)];
    let subject_is_str = args
        .args
        .get(1)
        .or_else(|| args.kwargs.get("string"))
        .is_some_and(|s| s.downcast_ref::<PyStr>().is_some());
    let repl = match args.args.first_mut() {
        Some(repl) => Some(repl),
        None => args
            .kwargs
            .iter_mut()
            .find(|(name, _)| name.as_bytes() == b"repl")
            .map(|(_, value)| value),
    };
    if let Some(repl) = repl
        && repl.downcast_ref::<PyStr>().is_none()
        && repl.to_callable().is_some()
    {
        let empty: PyObjectRef = if subject_is_str {
            vm.ctx.empty_str.to_owned().into()
        } else {
            vm.ctx.new_bytes(Vec::new()).into()
        };
        *repl = Replacement {
            func: repl.clone(),
            empty,
        }
        .into_ref(&vm.ctx)
        .into();
    }
    args.prepend_arg(zelf);
    original.call(args, vm)
}

/// Replace `Pattern.sub`/`subn`. `_sre`'s types are process-wide, so this runs once.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    if ORIGINAL.get().is_some() {
        return Ok(());
    }
    let _ = Replacement::make_static_type();
    let pattern = super::module_type("_sre", "Pattern", vm)?;
    let _ = ORIGINAL.set(super::replace_methods(pattern, &DEFS, vm)?);
    Ok(())
}
