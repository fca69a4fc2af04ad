//! `socket.recvmsg_into`.
//!
//! RustPython 0.6.0's socket has `recvmsg` but no `recvmsg_into`; trio names
//! `socket.socket.recvmsg_into` while its module loads, so trio (and every test suite that
//! runs on it, such as Jinja2's async tests) failed to import with `AttributeError: type
//! object 'socket' has no attribute 'recvmsg_into'`. Reproducer:
//! `import socket; socket.socket.recvmsg_into`.
//!
//! Ours receives with the socket's own `recvmsg` for the buffers' total size, then fills
//! the buffers in order, and answers as CPython's does: `(nbytes, ancdata, msg_flags,
//! address)`.

use rustpython_vm::{
    PyObjectRef, PyResult, TryFromObject, VirtualMachine,
    builtins::{PyBytes, PyTuple},
    function::{ArgMemoryBuffer, ItemDoc, OptionalArg, PyMethodDef, PyMethodFlags},
};

static RECVMSG_INTO_DEF: PyMethodDef = PyMethodDef::new_const(
    "recvmsg_into",
    recvmsg_into,
    PyMethodFlags::METHOD,
    ItemDoc::static_text(
        "recvmsg_into(buffers[, ancbufsize[, flags]]) -> (nbytes, ancdata, msg_flags, address)",
    ),
);

fn recvmsg_into(
    zelf: PyObjectRef,
    buffers: PyObjectRef,
    ancbufsize: OptionalArg<PyObjectRef>,
    flags: OptionalArg<PyObjectRef>,
    vm: &VirtualMachine,
) -> PyResult {
    let buffers: Vec<ArgMemoryBuffer> = buffers
        .try_to_value::<Vec<PyObjectRef>>(vm)?
        .into_iter()
        .map(|b| ArgMemoryBuffer::try_from_object(vm, b))
        .collect::<PyResult<_>>()?;
    let total: usize = buffers.iter().map(|b| b.borrow_buf_mut().len()).sum();
    let ancbufsize = ancbufsize.unwrap_or_else(|| vm.ctx.new_int(0).into());
    let flags = flags.unwrap_or_else(|| vm.ctx.new_int(0).into());
    let received = vm.call_method(&zelf, "recvmsg", (total, ancbufsize, flags))?;
    let parts = received
        .downcast_ref::<PyTuple>()
        .filter(|t| t.len() == 4)
        .ok_or_else(|| vm.new_type_error("socket.recvmsg did not return a 4-tuple"))?
        .as_slice()
        .to_vec();
    let data = parts[0]
        .downcast_ref::<PyBytes>()
        .ok_or_else(|| vm.new_type_error("socket.recvmsg did not return bytes"))?;
    let mut rest = data.as_bytes();
    let nbytes = rest.len();
    for buffer in &buffers {
        if rest.is_empty() {
            break;
        }
        let mut target = buffer.borrow_buf_mut();
        let n = target.len().min(rest.len());
        target[..n].copy_from_slice(&rest[..n]);
        rest = &rest[n..];
    }
    Ok(vm
        .ctx
        .new_tuple(vec![
            vm.ctx.new_int(nbytes).into(),
            parts[1].clone(),
            parts[2].clone(),
            parts[3].clone(),
        ])
        .into())
}

/// Give `_socket.socket` its `recvmsg_into` when it has none. Process-wide, once.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let socket = super::module_type("_socket", "socket", vm)?;
    let name = vm.ctx.intern_str("recvmsg_into");
    if socket.get_attr(name).is_none() {
        socket.set_attr(name, RECVMSG_INTO_DEF.build_method(&vm.ctx, socket).into());
        socket.modified();
    }
    Ok(())
}
