//! One WSGI call, as PEP 3333 describes it: call the app with the environ and a native
//! `start_response`, then stream what it returns to the HTTP side. Headers go out with the first
//! non-empty body chunk, never before. Any exception becomes a 500 if no header has been sent,
//! or cuts the connection if one has; the traceback goes to the server log. The iterable's
//! `close()` runs in every case.

use bytes::Bytes;
use rustpython_vm::{
    AsObject, PyObject, PyObjectRef, PyResult, VirtualMachine,
    builtins::{PyBaseExceptionRef, PyBytes, PyDictRef, PyList, PyStr, PyTuple, PyTypeRef},
    protocol::PyIterReturn,
};

use crate::wsgi::response::{HeadBuilder, HeadError, ResponseHead};

use super::start_response::{StartResponse, assertion, is_disconnect};

const ERROR_BODY: &[u8] = b"Internal Server Error\n";

/// What every call of one interpreter needs besides the app.
pub struct CallConsts {
    /// `rwsgi._handler.ClientDisconnected`.
    pub disconnected: PyTypeRef,
    /// `rwsgi._handler.FileWrapper` (wsgi.file_wrapper): a real file is sent with sendfile(2).
    pub file_wrapper: PyTypeRef,
    /// The head of the 500 for an app that failed before its own head went out.
    error_head: ResponseHead,
}

impl CallConsts {
    pub fn new(disconnected: PyTypeRef, file_wrapper: PyTypeRef) -> Result<Self, HeadError> {
        Ok(Self {
            disconnected,
            file_wrapper,
            error_head: error_head()?,
        })
    }
}

/// Call `app` for one request and send its response through `tx`.
pub fn call_app(
    vm: &VirtualMachine,
    app: &PyObject,
    environ: PyDictRef,
    tx: flume::Sender<crate::job::Reply>,
    consts: &CallConsts,
) {
    let start = rustpython_vm::PyPayload::into_ref(
        StartResponse::new(tx, consts.disconnected.clone()),
        &vm.ctx,
    );
    let result = app.call((environ.clone(), start.clone()), vm);
    let outcome = match &result {
        Ok(iterable) => respond(vm, &start, iterable, consts),
        Err(exc) => Err(exc.clone()),
    };
    if let Err(exc) = outcome
        && !is_disconnect(&start, &exc)
    {
        let what = format!(
            "error in the app for {} {}",
            environ_text(vm, &environ, "REQUEST_METHOD"),
            environ_text(vm, &environ, "RAW_URI")
        );
        log_exception(vm, &what, &exc);
        if start.started() {
            start.abort(vm);
        } else {
            start.send_error(
                vm,
                consts.error_head.clone(),
                Bytes::from_static(ERROR_BODY),
            );
        }
    }
    if let Ok(iterable) = result {
        close(vm, &iterable);
    }
    start.clear();
}

/// Stream the app's iterable. Errors are the app's, to be logged and answered by `call_app`.
fn respond(
    vm: &VirtualMachine,
    start: &StartResponse,
    iterable: &PyObjectRef,
    consts: &CallConsts,
) -> PyResult<()> {
    if !start.started()
        && let Some(list) = iterable.downcast_ref_if_exact::<PyList>(vm)
    {
        let only = {
            let items = list.borrow_vec();
            (items.len() == 1).then(|| items[0].clone())
        };
        if let Some(data) = only {
            // The common case: one body string, one message to the HTTP side.
            let data = body_bytes(vm, &data)?;
            let (status, headers) = started_head(vm, start)?;
            start.send_head(vm, &status, &headers, data, true)?;
            return Ok(());
        }
    }
    if !start.started()
        && iterable.class().is(&consts.file_wrapper)
        && let Some((status, headers)) = start.head()
        && let Some((fd, offset)) = file_of(vm, iterable)?
    {
        if start.send_head(vm, &status, &headers, Bytes::new(), false)?
            && start.sendfile(vm, fd, offset)?
        {
            start.finish(vm);
        }
        return Ok(());
    }
    let iter = iterable.get_iter(vm)?;
    loop {
        let data = match iter.next(vm)? {
            PyIterReturn::Return(data) => body_bytes(vm, &data)?,
            PyIterReturn::StopIteration(_) => break,
        };
        if data.is_empty() {
            continue;
        }
        if start.started() {
            if !start.send(vm, data) {
                return Ok(());
            }
            continue;
        }
        let Some((status, headers)) = start.head() else {
            return Err(assertion(
                vm,
                "the app yielded body data before calling start_response()",
            ));
        };
        if !start.send_head(vm, &status, &headers, data, false)? {
            return Ok(());
        }
    }
    if start.started() {
        start.finish(vm);
    } else {
        let (status, headers) = started_head(vm, start)?;
        start.send_head(vm, &status, &headers, Bytes::new(), true)?;
    }
    Ok(())
}

/// The status and headers, or the app's mistake of never calling `start_response`.
fn started_head(
    vm: &VirtualMachine,
    start: &StartResponse,
) -> PyResult<(PyObjectRef, PyObjectRef)> {
    start
        .head()
        .ok_or_else(|| assertion(vm, "the app returned without calling start_response()"))
}

/// A body chunk as bytes (PEP 3333: bytes only, never str).
fn body_bytes(vm: &VirtualMachine, data: &PyObjectRef) -> PyResult<Bytes> {
    data.downcast_ref::<PyBytes>()
        .map(|b| Bytes::copy_from_slice(b.as_bytes()))
        .ok_or_else(|| {
            if let Some(text) = data.downcast_ref::<PyStr>() {
                hint_str_body(&text.to_string_lossy());
            }
            vm.new_type_error(format!(
                "the app's iterable yielded {}, not bytes (PEP 3333)",
                data.class().name()
            ))
        })
}

/// The fix for a str body, as one log line, once per worker: the classic hello world that
/// articles still show is Python 2 code (`return [output]` with `output = 'Hello World!'`).
fn hint_str_body(text: &str) {
    static HINTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if HINTED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    crate::observe::log::warning(&str_body_hint(text));
}

/// `hint_str_body`'s line: the literal to write when the text is short ASCII, else the call.
fn str_body_hint(text: &str) -> String {
    let literal = (text.len() <= 40 && text.chars().all(|c| c.is_ascii_graphic() || c == ' '))
        .then(|| format!("[b{text:?}]").replace('"', "'"))
        .filter(|_| !text.contains(['\'', '"', '\\']));
    let fix = match literal {
        Some(literal) => {
            format!("return {literal}, or encode text built at run time: [output.encode()]")
        }
        None => "encode it: return [output.encode()] (UTF-8), not [output]".to_owned(),
    };
    format!(
        "the app's body is str, but a WSGI body is bytes (PEP 3333; the usual hello world is Python 2 code): {fix}. Each such response is a 500; this hint is logged once per worker"
    )
}

/// `(fd, offset)` of a file_wrapper over a real file, from its `_fd_and_offset()`.
fn file_of(vm: &VirtualMachine, wrapper: &PyObjectRef) -> PyResult<Option<(i32, i64)>> {
    let found = vm.call_method(wrapper, "_fd_and_offset", ())?;
    let Some(pair) = found.downcast_ref::<PyTuple>().filter(|t| t.len() == 2) else {
        return Ok(None);
    };
    let fd: i32 = pair.as_slice()[0].clone().try_into_value(vm)?;
    let offset: i64 = pair.as_slice()[1].clone().try_into_value(vm)?;
    Ok(Some((fd, offset)))
}

/// Run the iterable's `close()`, if it has one; its errors go to the log.
fn close(vm: &VirtualMachine, iterable: &PyObjectRef) {
    // Lists and tuples have no close(): skip the attribute lookup on the common path.
    if iterable.downcast_ref_if_exact::<PyList>(vm).is_some()
        || iterable.downcast_ref_if_exact::<PyTuple>(vm).is_some()
    {
        return;
    }
    let closed = vm
        .get_attribute_opt(iterable, "close")
        .and_then(|close| close.map_or(Ok(()), |close| close.call((), vm).map(drop)));
    if let Err(exc) = closed {
        log_exception(vm, "error in the app's close()", &exc);
    }
}

/// The 500 for an app that failed before its head went out.
fn error_head() -> Result<ResponseHead, HeadError> {
    let mut head = HeadBuilder::new("500 Internal Server Error")?;
    head.header("Content-Type", "text/plain; charset=utf-8")?;
    head.header("Content-Length", &ERROR_BODY.len().to_string())?;
    Ok(head.finish())
}

/// An environ value for the log line (the app may have changed or removed it).
fn environ_text(vm: &VirtualMachine, environ: &PyDictRef, key: &str) -> String {
    environ
        .get_item_opt(key, vm)
        .ok()
        .flatten()
        .and_then(|v| {
            v.downcast_ref::<PyStr>()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .unwrap_or_default()
}

/// `what`, then the traceback, to the server log.
fn log_exception(vm: &VirtualMachine, what: &str, exc: &PyBaseExceptionRef) {
    let traceback = exception_text(vm, exc);
    crate::observe::log::python("error", &format!("{what}\n{}", traceback.trim_end()));
}

/// An exception with its traceback, as Python prints it.
pub fn exception_text(vm: &VirtualMachine, exc: &PyBaseExceptionRef) -> String {
    let mut text = String::new();
    if vm.write_exception(&mut text, exc).is_err() {
        text = "(the exception could not be formatted)".to_owned();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_str_body_hint_names_the_literal_or_the_call() {
        let hint = str_body_hint("Hello World!");
        assert!(hint.contains("return [b'Hello World!']"), "{hint}");
        assert!(hint.contains("[output.encode()]"), "{hint}");
        let hint = str_body_hint("caf\u{e9} with 'quotes'");
        assert!(!hint.contains("[b'"), "{hint}");
        assert!(hint.contains("[output.encode()]"), "{hint}");
    }

    #[test]
    fn the_error_head_is_what_its_body_says() {
        let head = error_head().expect("valid");
        assert_eq!(head.status.as_u16(), 500);
        assert_eq!(head.content_length, Some(ERROR_BODY.len() as u64));
    }
}
