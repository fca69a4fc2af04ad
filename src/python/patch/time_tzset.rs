//! `time.tzset()`.
//!
//! RustPython 0.6.0's `time` module has no `tzset` (vm/src/stdlib/time.rs leaves it out), so
//! an app that sets `os.environ['TZ']` and calls `time.tzset()` (Django does, when its
//! TIME_ZONE setting is applied to the process) fails with AttributeError. Reproducer:
//! `import os, time; os.environ['TZ'] = 'UTC'; time.tzset()`.
//!
//! Ours resets the C runtime's time-zone state from TZ, as CPython's does (`localtime`,
//! `mktime` and `strftime` use that state), then refreshes `timezone`, `altzone`, `daylight`
//! and `tzname` in the calling interpreter's `time` module.

use rustpython_host_env::time::tz;
use rustpython_vm::{
    PyObjectRef, PyResult, VirtualMachine,
    function::{ItemDoc, PyMethodDef, PyMethodFlags},
};

static TZSET_DEF: PyMethodDef = PyMethodDef::new_const(
    "tzset",
    tzset,
    PyMethodFlags::empty(),
    ItemDoc::static_text(
        "Initialize, or reinitialize, the local timezone to the value of the environment variable TZ.",
    ),
);

/// `tzset`: the C runtime's time-zone state, then the `time` module's attributes.
fn tzset(vm: &VirtualMachine) -> PyResult<()> {
    tz::tzset();
    set_attrs(&vm.import("time", 0)?, vm)
}

fn set_attrs(time: &PyObjectRef, vm: &VirtualMachine) -> PyResult<()> {
    let (standard, summer) = tz::tzname_strings();
    time.set_attr("timezone", vm.ctx.new_int(tz::timezone()), vm)?;
    time.set_attr("altzone", vm.ctx.new_int(tz::altzone()), vm)?;
    time.set_attr("daylight", vm.ctx.new_int(tz::daylight()), vm)?;
    let names = vm.ctx.new_tuple(vec![
        vm.ctx.new_str(standard).into(),
        vm.ctx.new_str(summer).into(),
    ]);
    time.set_attr("tzname", names, vm)
}

/// Give this interpreter's `time` module its `tzset`.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let time = vm.import("time", 0)?;
    if time.get_attr("tzset", vm).is_err() {
        let tzset = super::module_function(&TZSET_DEF, &time, "time", vm);
        time.set_attr("tzset", tzset, vm)?;
    }
    Ok(())
}
