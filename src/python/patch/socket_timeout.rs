//! `socket.timeout`, the attribute.
//!
//! CPython's socket objects have a read-only `timeout` attribute (the value `gettimeout()`
//! returns: seconds as a float, or None); RustPython 0.6.0's have only the method, so code
//! that reads `sock.timeout` (CPython's own imaplib tests, client libraries that log it) got
//! `AttributeError: 'socket' object has no attribute 'timeout'`. Reproducer:
//! `s = socket.socket(); s.settimeout(2.5); s.timeout` must be 2.5.
//!
//! `_socket.socket` gets a read-only `timeout` that answers the socket's `gettimeout()`;
//! `socket.socket` and `ssl.SSLSocket` inherit it.

use rustpython_vm::{PyObjectRef, PyResult, VirtualMachine};

/// Add `timeout` to `_socket.socket` (process-wide; once).
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let socket = super::module_type("_socket", "socket", vm)?;
    let name = vm.ctx.intern_str("timeout");
    if socket.get_direct_attr(name).is_none() {
        let getter = vm.ctx.new_readonly_getset(
            "timeout",
            socket,
            |zelf: PyObjectRef, vm: &VirtualMachine| vm.call_method(&zelf, "gettimeout", ()),
        );
        socket.set_attr(name, getter.into());
        socket.modified();
    }
    Ok(())
}
