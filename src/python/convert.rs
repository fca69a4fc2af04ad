//! Rust values → Python objects for one call: the environ dict (the CGI strings from
//! `wsgi::environ` plus the `wsgi.*` entries).

use rustpython_vm::{
    Py, PyObjectRef, PyResult, VirtualMachine,
    builtins::{PyDictRef, PyModule},
};

use crate::wsgi::environ::Environ;

/// The `wsgi.*` entries that are the same for every request of one interpreter.
pub struct EnvironConsts {
    entries: Vec<(&'static str, PyObjectRef)>,
}

impl EnvironConsts {
    /// Build them once; `handler` is the `rwsgi._handler` module (Errors, FileWrapper).
    pub fn new(vm: &VirtualMachine, handler: &Py<PyModule>, multiprocess: bool) -> PyResult<Self> {
        let errors = handler.get_attr("Errors", vm)?.call((), vm)?;
        let file_wrapper = handler.get_attr("FileWrapper", vm)?;
        let version = vm.new_tuple((1, 0)).into();
        let yes: PyObjectRef = vm.ctx.new_bool(true).into();
        let no: PyObjectRef = vm.ctx.new_bool(false).into();
        Ok(Self {
            entries: vec![
                ("wsgi.version", version),
                ("wsgi.errors", errors),
                // Each Python thread has its own interpreter and its own app object, so no app
                // object is ever called by two threads at once (PEP 3333's definition).
                ("wsgi.multithread", no.clone()),
                ("wsgi.multiprocess", vm.ctx.new_bool(multiprocess).into()),
                ("wsgi.run_once", no),
                // wsgi.input returns EOF at the end of the body, chunked or not (mod_wsgi's key).
                ("wsgi.input_terminated", yes),
                ("wsgi.file_wrapper", file_wrapper),
            ],
        })
    }
}

/// The environ dict for one request.
pub fn environ(
    vm: &VirtualMachine,
    env: &Environ,
    consts: &EnvironConsts,
    input: PyObjectRef,
) -> PyResult<PyDictRef> {
    let dict = vm.ctx.new_dict();
    for (key, value) in &env.vars {
        dict.set_item(key.as_ref(), vm.ctx.new_str(value.as_str()).into(), vm)?;
    }
    for (key, value) in &consts.entries {
        dict.set_item(*key, value.clone(), vm)?;
    }
    dict.set_item("wsgi.input", input, vm)?;
    Ok(dict)
}
