//! `compile()` of a nested class with an annotation inside a block.
//!
//! RustPython 0.6.0's compiler refuses a class nested in a class body whose body holds an
//! annotation inside a block: `SyntaxError: compiler_make_closure: cannot find
//! '__conditional_annotations__' in parent vars` (rustpython-codegen, compile.rs). SQLAlchemy
//! 2.1's ORM has one (`if TYPE_CHECKING: property: ...` in `RelationshipProperty.Comparator`)
//! and could not be imported. Reproducer:
//! `class A:\n class B:\n  if True:\n   x: int` must compile.
//!
//! `builtins.compile`, which the import system also compiles sources with, is wrapped natively:
//! only when it fails with exactly that error is the source handed to `rwsgi._annotations`,
//! which rewrites those annotations in the syntax tree and compiles it again.

use rustpython_vm::{
    AsObject, PyObjectRef, PyResult, VirtualMachine,
    function::{FuncArgs, ItemDoc, PyMethodDef, PyMethodFlags},
};

/// The compiler's message for the case.
const MARK: &str = "__conditional_annotations__";

static COMPILE_DEF: PyMethodDef = PyMethodDef::new_const(
    "compile",
    compile,
    PyMethodFlags::empty(),
    ItemDoc::static_text(
        "compile(source, filename, mode, flags=0, dont_inherit=False, optimize=-1, *, _feature_version=-1)\n--\n\nCompile source into a code object that can be executed by exec() or eval().",
    ),
);

/// Each interpreter's original `compile` and `rwsgi._annotations.compile_again`, as a pair.
static KEPT: super::PerInterpreter = super::PerInterpreter::new();

/// `compile`: the interpreter's original, and `compile_again` where it fails on a mark.
fn compile(args: FuncArgs, vm: &VirtualMachine) -> PyResult {
    let kept = KEPT.get(vm)?;
    let (original, again) = match kept.downcast_ref::<rustpython_vm::builtins::PyTuple>() {
        Some(pair) if pair.len() == 2 => (pair.as_slice()[0].clone(), pair.as_slice()[1].clone()),
        _ => return Err(vm.new_type_error("compile: bad binding")),
    };
    match original.call(args.clone(), vm) {
        Err(exc)
            if exc.fast_isinstance(vm.ctx.exceptions.syntax_error)
                && exc
                    .as_object()
                    .str(vm)
                    .is_ok_and(|m| m.to_string_lossy().contains(MARK)) =>
        {
            let mut retry = args;
            retry.prepend_arg(original);
            again.call(retry, vm).map_err(|_| exc)
        }
        outcome => outcome,
    }
}

/// Wrap this interpreter's `builtins.compile`.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let original = vm.builtins.get_attr("compile", vm)?;
    let again = vm
        .import("rwsgi._annotations", 0)?
        .get_attr("_annotations", vm)?
        .get_attr("compile_again", vm)?;
    KEPT.set(vm, vm.ctx.new_tuple(vec![original, again]).into());
    let builtins: PyObjectRef = vm.builtins.clone().into();
    let ours = super::module_function(&COMPILE_DEF, &builtins, "builtins", vm);
    vm.builtins.set_attr("compile", ours, vm)?;
    Ok(())
}
