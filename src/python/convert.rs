//! Rust values → Python objects for one call: the environ dict (the CGI strings from
//! `wsgi::environ` plus the `wsgi.*` entries).

use std::collections::HashMap;

use rustpython_vm::{
    Py, PyObjectRef, PyResult, VirtualMachine,
    builtins::{PyDictRef, PyModule},
};

use super::native::{self, ChannelSource};
use crate::wsgi::environ::{Environ, fixed_keys};

/// What every request of one interpreter shares: the `wsgi.*` entries that never change, the
/// key objects of the fixed CGI names (made once, with their hashes cached, instead of a new
/// string per key per request), and the `wsgi.input` of requests without a body.
pub struct EnvironConsts {
    entries: Vec<(PyObjectRef, PyObjectRef)>,
    keys: HashMap<&'static str, PyObjectRef>,
    input_key: PyObjectRef,
    /// Always at end of file; safe to share, since a reader at EOF keeps no state.
    pub empty_input: PyObjectRef,
}

impl EnvironConsts {
    /// Build them once; `handler` is the `rwsgi._handler` module (Errors, FileWrapper).
    pub fn new(vm: &VirtualMachine, handler: &Py<PyModule>, multiprocess: bool) -> PyResult<Self> {
        let errors = handler.get_attr("Errors", vm)?.call((), vm)?;
        let file_wrapper = handler.get_attr("FileWrapper", vm)?;
        let version = vm.new_tuple((1, 0)).into();
        let yes: PyObjectRef = vm.ctx.new_bool(true).into();
        let no: PyObjectRef = vm.ctx.new_bool(false).into();
        let key = |k: &str| -> PyObjectRef { vm.ctx.new_str(k).into() };
        let entries: Vec<(&'static str, PyObjectRef)> = vec![
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
        ];
        Ok(Self {
            entries: entries.into_iter().map(|(k, v)| (key(k), v)).collect(),
            keys: fixed_keys().map(|k| (k, key(k))).collect(),
            input_key: key("wsgi.input"),
            empty_input: native::new_input(ChannelSource::new(None), vm).into(),
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
        let value = vm.ctx.new_str(value.as_str()).into();
        match consts.keys.get(key.as_ref()) {
            Some(fixed) => dict.set_item(&**fixed, value, vm)?,
            None => dict.set_item(key.as_ref(), value, vm)?,
        }
    }
    for (key, value) in &consts.entries {
        dict.set_item(&**key, value.clone(), vm)?;
    }
    dict.set_item(&*consts.input_key, input, vm)?;
    Ok(dict)
}
