//! `random.seed()` without an argument seeds from the operating system, as CPython does.
//!
//! RustPython 0.6.0's `_random.Random.seed(None)` seeds from the `rand` crate's thread-local
//! generator (stdlib/src/random.rs), whose state a forked child inherits: every child that
//! reseeds after a fork (CPython's `random` does so in an `os.register_at_fork` hook) gets the
//! same numbers as its siblings. Every `--preload` worker, and every child of `os.fork()` or of
//! multiprocessing's fork start method, drew the same sequence. CPython reads 624 words from
//! `os.urandom`. Reproducer: fork three children that each print `random.random()`; they
//! must differ.
//!
//! `_random.Random.seed` is replaced: with no argument or None it passes the original an int
//! of 624 words from getrandom(2), which the original takes as the same key array CPython
//! builds from urandom.

use std::sync::OnceLock;

use rustpython_vm::{
    AsObject, PyObjectRef, PyResult, VirtualMachine,
    function::{FuncArgs, ItemDoc, PyMethodDef, PyMethodFlags},
};

/// The Mersenne Twister's state in 32-bit words: CPython's urandom seed fills it.
const SEED_BYTES: usize = 624 * 4;

static ORIGINAL: OnceLock<PyObjectRef> = OnceLock::new();

static DEFS: [PyMethodDef; 1] = [PyMethodDef::new_const(
    "seed",
    seed,
    PyMethodFlags::METHOD,
    ItemDoc::static_text(
        "seed($self, n=None, /)\n--\n\nseed([n]) -> None.\n\nDefaults to use urandom and time.",
    ),
)];

fn seed(zelf: PyObjectRef, mut args: FuncArgs, vm: &VirtualMachine) -> PyResult {
    let original = ORIGINAL
        .get()
        .expect("the method is only installed after the original is saved");
    let unseeded = args.kwargs.is_empty()
        && args.args.first().is_none_or(|n| vm.is_none(n))
        && args.args.len() <= 1;
    if unseeded {
        let mut bytes = vec![0u8; SEED_BYTES];
        crate::process::sys::fill_random(&mut bytes)
            .map_err(|e| vm.new_os_error(format!("getrandom: {e}")))?;
        let key = vm.call_method(
            vm.ctx.types.int_type.as_object(),
            "from_bytes",
            (vm.ctx.new_bytes(bytes), vm.ctx.new_str("little")),
        )?;
        args.args = vec![key];
    }
    args.prepend_arg(zelf);
    original.call(args, vm)
}

/// Replace `_random.Random.seed`, once per process (the type is process-wide).
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    if ORIGINAL.get().is_some() {
        return Ok(());
    }
    let random = super::module_type("_random", "Random", vm)?;
    let mut originals = super::replace_methods(random, &DEFS, vm)?;
    if let Some(original) = originals.pop() {
        let _ = ORIGINAL.set(original);
    }
    Ok(())
}
