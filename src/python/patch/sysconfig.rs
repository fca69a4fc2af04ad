//! Build-time configuration values that CPython has and RustPython 0.6.0's `_sysconfigdata`
//! lacks (vm/src/stdlib/_sysconfigdata.rs).
//!
//! - `TZPATH`: zoneinfo's search path comes from `sysconfig.get_config_var('TZPATH')` when
//!   PYTHONTZPATH is unset. It was empty, so `ZoneInfo('America/Chicago')` failed with
//!   /usr/share/zoneinfo present, and so did any `zoneinfo.reset_tzpath()` (which reads it
//!   again). Reproducer: `import zoneinfo; zoneinfo.reset_tzpath(); zoneinfo.ZoneInfo('UTC')`.
//!   Set to CPython's default, the directories Linux, the BSDs and macOS use.
//! - `LDCXXSHARED`: setuptools asserts that every link command is set, so building any
//!   package with an optional C extension (MarkupSafe's speedups) failed with an
//!   AssertionError instead of failing to compile and falling back to pure Python.

use rustpython_vm::{PyResult, VirtualMachine, builtins::PyDict};

/// CPython's configure default for TZPATH.
const TZPATH: &str = "/usr/share/zoneinfo:/usr/lib/zoneinfo:/usr/share/lib/zoneinfo:/etc/zoneinfo";

/// Add the missing values to this interpreter's `_sysconfigdata.build_time_vars`.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let vars = vm
        .import("_sysconfigdata", 0)?
        .get_attr("build_time_vars", vm)?
        .downcast::<PyDict>()
        .map_err(|_| vm.new_type_error("_sysconfigdata.build_time_vars is not a dict"))?;
    if vars.get_item_opt("TZPATH", vm)?.is_none() {
        vars.set_item("TZPATH", vm.ctx.new_str(TZPATH).into(), vm)?;
    }
    if vars.get_item_opt("LDCXXSHARED", vm)?.is_none() {
        let cxx = vars
            .get_item_opt("CXX", vm)?
            .and_then(|c| c.str(vm).ok())
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_else(|| "c++".to_owned());
        vars.set_item(
            "LDCXXSHARED",
            vm.ctx.new_str(format!("{cxx} -shared")).into(),
            vm,
        )?;
    }
    Ok(())
}
