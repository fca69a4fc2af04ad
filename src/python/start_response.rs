//! The app's response for one request: `start_response` and `write` as native callables
//! (`_rwsgi.StartResponse`, `_rwsgi.Write`), and the sends that carry the status, headers and
//! body to the HTTP side in the order the contract in `crate::job` sets. PEP 3333's rules on
//! when `start_response` may be called again live here; the call itself is `python::call`.

pub(crate) use _response::{StartResponse, assertion, is_disconnect};

#[rustpython_vm::pymodule(sub, name = "_rwsgi")]
pub(crate) mod _response {
    use std::fmt;
    use std::sync::atomic::{AtomicBool, Ordering};

    use bytes::Bytes;
    use rustpython_vm::{
        AsObject, FromArgs, Py, PyObjectRef, PyPayload, PyRef, PyResult, VirtualMachine,
        builtins::{PyBaseExceptionRef, PyBytes, PyList, PyStr, PyTuple, PyTypeRef},
        common::lock::PyMutex,
        function::OptionalArg,
        pyclass,
        types::Callable,
    };

    use crate::job::Reply as ReplyMsg;
    use crate::wsgi::response::{HeadBuilder, ResponseHead};

    /// `start_response`, and the state of the response it starts.
    #[pyattr]
    #[pyclass(module = "_rwsgi", name = "StartResponse")]
    #[derive(PyPayload)]
    pub struct StartResponse {
        tx: flume::Sender<ReplyMsg>,
        started: AtomicBool,
        /// The latest `(status, response_headers)` given; the headers list is read only when
        /// the head goes out, so the app may still change it until the first body bytes.
        head: PyMutex<Option<(PyObjectRef, PyObjectRef)>>,
        /// `rwsgi._handler.ClientDisconnected`, raised by `write()` when the client has gone.
        disconnected: PyTypeRef,
    }

    impl fmt::Debug for StartResponse {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("_rwsgi.StartResponse")
        }
    }

    /// The `write` callable `start_response` returns (PEP 3333's imperative output).
    #[pyattr]
    #[pyclass(module = "_rwsgi", name = "Write")]
    #[derive(PyPayload)]
    pub struct Write {
        response: PyRef<StartResponse>,
    }

    impl fmt::Debug for Write {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("_rwsgi.Write")
        }
    }

    fn str_arg<'a>(obj: &'a PyObjectRef, what: &str, vm: &VirtualMachine) -> PyResult<&'a str> {
        let s = obj.downcast_ref::<PyStr>().ok_or_else(|| {
            vm.new_type_error(format!("{what} must be str, not {}", obj.class().name()))
        })?;
        s.to_str()
            .ok_or_else(|| vm.new_value_error(format!("{what} holds a lone surrogate")))
    }

    /// An AssertionError: PEP 3333's word for an app that broke the protocol.
    pub fn assertion(vm: &VirtualMachine, message: &str) -> PyBaseExceptionRef {
        vm.new_exception_msg(
            vm.ctx.exceptions.assertion_error.to_owned(),
            message.to_owned().into(),
        )
    }

    impl StartResponse {
        pub fn new(tx: flume::Sender<ReplyMsg>, disconnected: PyTypeRef) -> Self {
            Self {
                tx,
                started: AtomicBool::new(false),
                head: PyMutex::new(None),
                disconnected,
            }
        }

        /// Whether the head has gone to the HTTP side.
        pub fn started(&self) -> bool {
            self.started.load(Ordering::Relaxed)
        }

        /// The status and headers given, if `start_response` was called.
        pub fn head(&self) -> Option<(PyObjectRef, PyObjectRef)> {
            self.head.lock().clone()
        }

        /// Drop the app's objects once the call is over.
        pub fn clear(&self) {
            self.head.lock().take();
        }

        /// Post a message; the channel is bounded (a slow client pushes back on the app), so a
        /// full channel is waited on with the interpreter detached. False when the HTTP side has
        /// gone.
        fn post(&self, vm: &VirtualMachine, msg: ReplyMsg) -> bool {
            match self.tx.try_send(msg) {
                Ok(()) => true,
                Err(flume::TrySendError::Full(msg)) => {
                    vm.allow_threads(|| self.tx.send(msg).is_ok())
                }
                Err(flume::TrySendError::Disconnected(_)) => false,
            }
        }

        /// Send the head with the first body bytes. ValueError/TypeError for a status or header
        /// that cannot be sent. False if the client has gone.
        pub fn send_head(
            &self,
            vm: &VirtualMachine,
            status: &PyObjectRef,
            headers: &PyObjectRef,
            first: Bytes,
            done: bool,
        ) -> PyResult<bool> {
            if self.started() {
                return Err(vm.new_runtime_error("the response head was already sent"));
            }
            let mut head = HeadBuilder::new(str_arg(status, "the status", vm)?)
                .map_err(|e| vm.new_value_error(e.to_string()))?;
            let headers = headers.downcast_ref::<PyList>().ok_or_else(|| {
                vm.new_type_error(format!(
                    "response_headers must be a list, not {} (PEP 3333)",
                    headers.class().name()
                ))
            })?;
            for item in headers.borrow_vec().iter() {
                let pair = item
                    .downcast_ref::<PyTuple>()
                    .filter(|t| t.len() == 2)
                    .ok_or_else(|| {
                        vm.new_type_error(
                            "each response header must be a (name, value) tuple of str",
                        )
                    })?;
                let pair = pair.as_slice();
                let name = str_arg(&pair[0], "a header name", vm)?;
                let value = str_arg(&pair[1], "a header value", vm)?;
                head.header(name, value)
                    .map_err(|e| vm.new_value_error(e.to_string()))?;
            }
            self.started.store(true, Ordering::Relaxed);
            Ok(self.post(
                vm,
                ReplyMsg::Head {
                    head: head.finish(),
                    first,
                    done,
                },
            ))
        }

        /// Send the head of an error response the app never started.
        pub fn send_error(&self, vm: &VirtualMachine, head: ResponseHead, body: Bytes) {
            self.started.store(true, Ordering::Relaxed);
            self.post(
                vm,
                ReplyMsg::Head {
                    head,
                    first: body,
                    done: true,
                },
            );
        }

        /// Send one body chunk. False if the client has gone.
        pub fn send(&self, vm: &VirtualMachine, data: Bytes) -> bool {
            data.is_empty() || self.post(vm, ReplyMsg::Chunk(data))
        }

        /// Hand the open file `fd`, from `offset` to its end, to the HTTP side, which sends it
        /// with sendfile(2); the descriptor is duplicated, so the app may close its file at
        /// once. False if the client has gone.
        pub fn sendfile(&self, vm: &VirtualMachine, fd: i32, offset: i64) -> PyResult<bool> {
            let os_error = |e: std::io::Error| vm.new_os_error(format!("wsgi.file_wrapper: {e}"));
            let offset =
                u64::try_from(offset).map_err(|_| vm.new_value_error("negative offset"))?;
            let file = crate::process::sys::dup(fd).map_err(os_error)?;
            let size = file.metadata().map_err(os_error)?.len();
            let len = size.saturating_sub(offset);
            Ok(self.post(vm, ReplyMsg::File { file, offset, len }))
        }

        /// The body is complete.
        pub fn finish(&self, vm: &VirtualMachine) {
            self.post(vm, ReplyMsg::End);
        }

        /// The app failed after the head was sent: cut the connection.
        pub fn abort(&self, vm: &VirtualMachine) {
            self.post(vm, ReplyMsg::Abort);
        }

        /// PEP 3333's `write(data)`.
        fn write(&self, data: &PyObjectRef, vm: &VirtualMachine) -> PyResult<()> {
            let Some((status, headers)) = self.head() else {
                return Err(assertion(vm, "write() was called before start_response()"));
            };
            let Some(bytes) = data.downcast_ref::<PyBytes>() else {
                return Err(vm.new_type_error(format!(
                    "write() takes bytes, not {} (PEP 3333)",
                    data.class().name()
                )));
            };
            if bytes.as_bytes().is_empty() {
                return Ok(());
            }
            let data = Bytes::copy_from_slice(bytes.as_bytes());
            let sent = if self.started() {
                self.send(vm, data)
            } else {
                self.send_head(vm, &status, &headers, data, false)?
            };
            if sent {
                Ok(())
            } else {
                Err(vm.new_exception_msg(
                    self.disconnected.clone(),
                    "the client went away".to_owned().into(),
                ))
            }
        }
    }

    #[pyclass(with(Callable))]
    impl StartResponse {}

    /// `start_response(status, response_headers, exc_info=None)`, keywords as PEP 3333 names them.
    #[derive(FromArgs)]
    pub struct StartArgs {
        #[pyarg(any)]
        status: PyObjectRef,
        #[pyarg(any)]
        response_headers: PyObjectRef,
        #[pyarg(any, optional)]
        exc_info: OptionalArg<PyObjectRef>,
    }

    impl Callable for StartResponse {
        type Args = StartArgs;

        fn call(zelf: &Py<Self>, args: StartArgs, vm: &VirtualMachine) -> PyResult {
            let StartArgs {
                status,
                response_headers: headers,
                exc_info,
            } = args;
            match exc_info.into_option() {
                // PEP 3333: too late to change the status; re-raise the app's error.
                Some(exc_info) if !vm.is_none(&exc_info) && zelf.started() => {
                    return Err(reraise(&exc_info, vm));
                }
                Some(exc_info) if !vm.is_none(&exc_info) => {}
                _ if zelf.head.lock().is_some() => {
                    return Err(assertion(
                        vm,
                        "start_response() was already called; a second call needs exc_info (PEP 3333)",
                    ));
                }
                _ => {}
            }
            if !status.class().is(vm.ctx.types.str_type) {
                return Err(
                    vm.new_type_error(format!("status must be str, not {}", status.class().name()))
                );
            }
            if !headers.class().is(vm.ctx.types.list_type) {
                return Err(vm.new_type_error(format!(
                    "response_headers must be a list, not {}",
                    headers.class().name()
                )));
            }
            *zelf.head.lock() = Some((status, headers));
            Ok(Write {
                response: zelf.to_owned(),
            }
            .into_ref(&vm.ctx)
            .into())
        }
    }

    /// The exception of an `exc_info` triple with its traceback, or a TypeError if it is not one.
    fn reraise(exc_info: &PyObjectRef, vm: &VirtualMachine) -> PyBaseExceptionRef {
        let exc = exc_info
            .downcast_ref::<PyTuple>()
            .filter(|t| t.len() == 3)
            .map(|t| (t.as_slice()[1].clone(), t.as_slice()[2].clone()));
        let Some((exc, traceback)) = exc else {
            return vm.new_type_error("exc_info must be a (type, value, traceback) tuple");
        };
        let exc = vm
            .call_method(&exc, "with_traceback", (traceback,))
            .unwrap_or(exc);
        match exc.downcast::<rustpython_vm::builtins::PyBaseException>() {
            Ok(exc) => exc,
            Err(other) => vm.new_type_error(format!(
                "exc_info holds {}, not an exception",
                other.class().name()
            )),
        }
    }

    #[pyclass(with(Callable))]
    impl Write {}

    impl Callable for Write {
        type Args = (PyObjectRef,);

        fn call(zelf: &Py<Self>, (data,): Self::Args, vm: &VirtualMachine) -> PyResult {
            zelf.response.write(&data, vm)?;
            Ok(vm.ctx.none())
        }
    }

    /// Whether `exc` is the `ClientDisconnected` that `write()` raised.
    pub fn is_disconnect(response: &StartResponse, exc: &PyBaseExceptionRef) -> bool {
        exc.as_object().fast_isinstance(&response.disconnected)
    }
}
