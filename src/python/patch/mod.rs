//! Where RustPython 0.6.0 differs from CPython, mended natively when an interpreter starts.
//! One file per difference; each opens with the difference, its reproducer and what we do.
//! The README's table "Where RustPython differs and what rwsgi does" lists them all.

pub mod compile;
pub mod json_int;
pub mod main_module;
pub mod mro;
pub mod property_get;
pub mod re_sub;
pub mod sqlite_decltypes;
pub mod sqlite_recursion;
pub mod sysconfig;
pub mod time_tzset;
pub mod type_new;
pub mod xml_wellformed;

use rustpython_vm::{PyResult, VirtualMachine};

/// Apply every fix to the interpreter `vm` belongs to, before any app or script code runs.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    mro::install(vm);
    type_new::install(vm);
    re_sub::install(vm)?;
    json_int::install(vm)?;
    sysconfig::install(vm)?;
    sqlite_decltypes::install(vm)?;
    sqlite_recursion::install(vm)?;
    main_module::install(vm)?;
    time_tzset::install(vm)?;
    compile::install(vm)?;
    xml_wellformed::install(vm)?;
    Ok(())
}
