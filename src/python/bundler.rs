//! `rwsgi bundle`: hands the plan to the Python half (`pylib/rwsgi/_bundle.py`), which copies
//! the binary, compiles the modules and writes the archive, with progress on stderr.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use rustpython_vm::builtins::PyBaseExceptionRef;
use rustpython_vm::{AsObject, PyObjectRef, PyResult, VirtualMachine};

use super::call::exception_text;
use super::interp;

/// What to write, as plain values (the edge's `bundle::Plan` gives them).
#[derive(Debug)]
pub struct Archive {
    /// The rwsgi binary, of which the first `base_len` bytes are copied.
    pub exe: PathBuf,
    pub base_len: u64,
    /// The executable to write.
    pub output: PathBuf,
    /// The archive comment that makes the output a bundle.
    pub comment: String,
    /// (name in the archive, directory on disk); `None` for a directory stored under an
    /// earlier root.
    pub roots: Vec<(String, Option<PathBuf>)>,
    /// The app's top-level module (the Python side refuses a standard-library name).
    pub top_module: String,
}

/// Write the bundle that `archive` describes.
pub fn write(archive: &Archive) -> anyhow::Result<()> {
    let interp = interp::build(Vec::new(), None);
    let outcome = interp.enter(|vm| build(vm, archive).map_err(|exc| describe(vm, &exc)));
    interp.finalize(None);
    outcome.map_err(|e| anyhow!("cannot write bundle {}: {e}", archive.output.display()))
}

fn build(vm: &VirtualMachine, archive: &Archive) -> PyResult<()> {
    let path = |p: &Path| -> PyObjectRef { vm.ctx.new_str(p.to_string_lossy().as_ref()).into() };
    let roots = archive
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
            path(&archive.exe),
            vm.ctx.new_int(archive.base_len).into(),
            path(&archive.output),
            vm.ctx.new_str(archive.comment.as_str()).into(),
            vm.ctx.new_list(roots).into(),
            vm.ctx.new_str(archive.top_module.as_str()).into(),
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
