//! `rwsgi bundle`: hands the plan to the Python half (`pylib/rwsgi/_bundle.py`), which copies
//! the binary, compiles the modules and writes the archive, with progress on stderr.

use std::path::Path;

use anyhow::anyhow;
use rustpython_vm::builtins::PyBaseExceptionRef;
use rustpython_vm::{AsObject, PyObjectRef, PyResult, VirtualMachine};

use crate::bundle::Plan;

use super::call::exception_text;
use super::interp;

/// Write the bundle that `plan` describes, from the first `base_len` bytes of `exe`.
pub fn write(plan: &Plan, exe: &Path, base_len: u64) -> anyhow::Result<()> {
    let interp = interp::build(Vec::new());
    let outcome =
        interp.enter(|vm| build(vm, plan, exe, base_len).map_err(|exc| describe(vm, &exc)));
    interp.finalize(None);
    outcome.map_err(|e| anyhow!("cannot write bundle {}: {e}", plan.output.display()))
}

fn build(vm: &VirtualMachine, plan: &Plan, exe: &Path, base_len: u64) -> PyResult<()> {
    let path = |p: &Path| -> PyObjectRef { vm.ctx.new_str(p.to_string_lossy().as_ref()).into() };
    let roots = plan
        .roots
        .iter()
        .map(|(name, dir)| {
            let dir = dir.as_deref().map_or_else(|| vm.ctx.none(), path);
            vm.ctx
                .new_tuple(vec![vm.ctx.new_str(name.as_str()).into(), dir])
                .into()
        })
        .collect();
    let bundle = vm.import("rwsgi._bundle", 0)?.get_attr("_bundle", vm)?;
    bundle.get_attr("build", vm)?.call(
        vec![
            path(exe),
            vm.ctx.new_int(base_len).into(),
            path(&plan.output),
            vm.ctx.new_str(plan.comment(base_len)).into(),
            vm.ctx.new_list(roots).into(),
            vm.ctx.new_str(plan.top_module()).into(),
        ],
        vm,
    )?;
    Ok(())
}

/// One line for the user: the message of a BundleError or an OSError; anything else is a bug,
/// and its traceback goes to stderr first.
fn describe(vm: &VirtualMachine, exc: &PyBaseExceptionRef) -> String {
    let expected = exc.fast_isinstance(vm.ctx.exceptions.os_error)
        || exc.class().name().to_string() == "BundleError";
    let text = exception_text(vm, exc);
    if !expected {
        eprintln!("{text}");
    }
    let last = text.trim_end().lines().last().unwrap_or_default();
    last.strip_prefix("rwsgi._bundle.BundleError: ")
        .or_else(|| last.strip_prefix("BundleError: "))
        .unwrap_or(last)
        .to_owned()
}
