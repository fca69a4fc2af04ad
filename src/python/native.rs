//! `_rwsgi`, the native module the Python side talks through: `Input` (the `wsgi.input`
//! object), `Reply` (the app's output, sent to the HTTP side per the contract in
//! `python/mod.rs`) and `log` (the server log, behind `wsgi.errors`).

pub(crate) use _rwsgi::module_def;

use bytes::Bytes;

use crate::wsgi::input::{ChunkSource, InputError};

use super::BodyChannel;

/// `BodyChannel` as a blocking chunk source. An empty chunk marks the end of the body; a channel
/// closed without one means the connection went away.
#[derive(Debug)]
pub struct ChannelSource {
    channel: Option<BodyChannel>,
    /// A failure is sticky: every later read reports it too.
    failed: Option<InputError>,
}

impl ChannelSource {
    pub fn new(channel: Option<BodyChannel>) -> Self {
        Self {
            channel,
            failed: None,
        }
    }
}

impl ChunkSource for ChannelSource {
    fn next_chunk(&mut self) -> Result<Option<Bytes>, InputError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let Some(channel) = self.channel.as_mut() else {
            return Ok(None);
        };
        if let Some(start) = channel.start.take() {
            // The HTTP side may already be gone; then the receive below says so.
            let _ = start.send(());
        }
        // A client that stops sending mid-upload must not hold a Python thread forever.
        let result = match channel.chunks.recv_timeout(channel.timeout) {
            Ok(Ok(chunk)) if chunk.is_empty() => Ok(None),
            Ok(Ok(chunk)) => return Ok(Some(chunk)),
            Ok(Err(e)) => Err(e),
            Err(flume::RecvTimeoutError::Timeout) => Err(InputError::TimedOut),
            Err(flume::RecvTimeoutError::Disconnected) => Err(InputError::Disconnected),
        };
        self.channel = None;
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }
}

#[rustpython_vm::pymodule]
mod _rwsgi {
    use rustpython_vm::pyclass;
    use std::fmt;
    use std::sync::atomic::{AtomicBool, Ordering};

    use bytes::Bytes;
    use rustpython_vm::{
        Py, PyObjectRef, PyPayload, PyRef, PyResult, VirtualMachine,
        builtins::{PyBytes, PyBytesRef, PyList, PyListRef, PyStr, PyStrRef, PyTuple},
        common::lock::PyMutex,
        function::OptionalArg,
        protocol::PyIterReturn,
        types::{IterNext, Iterable, SelfIter},
    };

    use crate::python::Reply as ReplyMsg;
    use crate::wsgi::input::{BodyReader, InputError};
    use crate::wsgi::response::HeadBuilder;

    use super::ChannelSource;

    /// `wsgi.input`.
    #[pyattr]
    #[pyclass(module = "_rwsgi", name = "Input")]
    #[derive(PyPayload)]
    pub struct Input {
        reader: PyMutex<BodyReader<ChannelSource>>,
    }

    impl fmt::Debug for Input {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("_rwsgi.Input")
        }
    }

    impl Input {
        pub fn new(source: ChannelSource) -> Self {
            Self {
                reader: PyMutex::new(BodyReader::new(source)),
            }
        }

        /// Run a read with the interpreter detached: it may block on the network.
        fn with_reader<R>(
            &self,
            vm: &VirtualMachine,
            f: impl FnOnce(&mut BodyReader<ChannelSource>) -> Result<R, InputError>,
        ) -> PyResult<R> {
            vm.allow_threads(|| f(&mut self.reader.lock()))
                .map_err(|e| vm.new_os_error(e.to_string()))
        }
    }

    /// A Python size argument: absent, None or negative mean "no limit".
    fn size_arg(size: OptionalArg<Option<isize>>) -> Option<usize> {
        size.flatten().and_then(|n| usize::try_from(n).ok())
    }

    fn new_bytes(vm: &VirtualMachine, data: Bytes) -> PyBytesRef {
        vm.ctx.new_bytes(data.to_vec())
    }

    #[pyclass(with(IterNext, Iterable))]
    impl Input {
        #[pymethod]
        fn read(
            zelf: &Py<Self>,
            size: OptionalArg<Option<isize>>,
            vm: &VirtualMachine,
        ) -> PyResult<PyBytesRef> {
            let size = size_arg(size);
            let data = zelf.with_reader(vm, |r| r.read(size))?;
            Ok(new_bytes(vm, data))
        }

        #[pymethod]
        fn readline(
            zelf: &Py<Self>,
            size: OptionalArg<Option<isize>>,
            vm: &VirtualMachine,
        ) -> PyResult<PyBytesRef> {
            let size = size_arg(size);
            let data = zelf.with_reader(vm, |r| r.readline(size))?;
            Ok(new_bytes(vm, data))
        }

        #[pymethod]
        fn readlines(
            zelf: &Py<Self>,
            hint: OptionalArg<Option<isize>>,
            vm: &VirtualMachine,
        ) -> PyResult<PyListRef> {
            let hint = size_arg(hint);
            let lines = zelf.with_reader(vm, |r| r.readlines(hint))?;
            let items = lines.into_iter().map(|l| new_bytes(vm, l).into()).collect();
            Ok(vm.ctx.new_list(items))
        }
    }

    impl SelfIter for Input {}

    impl IterNext for Input {
        fn next(zelf: &Py<Self>, vm: &VirtualMachine) -> PyResult<PyIterReturn> {
            let line = zelf.with_reader(vm, |r| r.readline(None))?;
            if line.is_empty() {
                return Ok(PyIterReturn::StopIteration(None));
            }
            Ok(PyIterReturn::Return(new_bytes(vm, line).into()))
        }
    }

    /// The app's output for one request; see the contract in `python/mod.rs`.
    #[pyattr]
    #[pyclass(module = "_rwsgi", name = "Reply")]
    #[derive(PyPayload)]
    pub struct Reply {
        tx: flume::Sender<ReplyMsg>,
        started: AtomicBool,
    }

    impl fmt::Debug for Reply {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("_rwsgi.Reply")
        }
    }

    impl Reply {
        pub fn new(tx: flume::Sender<ReplyMsg>) -> Self {
            Self {
                tx,
                started: AtomicBool::new(false),
            }
        }

        /// Send with the interpreter detached (the channel is bounded: a slow client pushes
        /// back). False when the HTTP side has gone.
        fn post(&self, vm: &VirtualMachine, msg: ReplyMsg) -> bool {
            vm.allow_threads(|| self.tx.send(msg).is_ok())
        }
    }

    fn str_arg<'a>(obj: &'a PyObjectRef, what: &str, vm: &VirtualMachine) -> PyResult<&'a str> {
        let s = obj.downcast_ref::<PyStr>().ok_or_else(|| {
            vm.new_type_error(format!("{what} must be str, not {}", obj.class().name()))
        })?;
        s.to_str()
            .ok_or_else(|| vm.new_value_error(format!("{what} holds a lone surrogate")))
    }

    fn bytes_arg(obj: &PyObjectRef, vm: &VirtualMachine) -> PyResult<Bytes> {
        obj.downcast_ref::<PyBytes>()
            .map(|b| Bytes::copy_from_slice(b.as_bytes()))
            .ok_or_else(|| {
                vm.new_type_error(format!(
                    "the response body must be bytes, not {} (PEP 3333)",
                    obj.class().name()
                ))
            })
    }

    #[pyclass]
    impl Reply {
        /// Send the head with the first body bytes. Raises ValueError/TypeError for a status or
        /// header that cannot be sent. Returns False if the client has gone.
        #[pymethod]
        fn start(
            zelf: &Py<Self>,
            status: PyObjectRef,
            headers: PyObjectRef,
            body: PyObjectRef,
            done: bool,
            vm: &VirtualMachine,
        ) -> PyResult<bool> {
            if zelf.started.load(Ordering::Relaxed) {
                return Err(vm.new_runtime_error("the response head was already sent"));
            }
            let mut head = HeadBuilder::new(str_arg(&status, "the status", vm)?)
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
            let first = bytes_arg(&body, vm)?;
            zelf.started.store(true, Ordering::Relaxed);
            Ok(zelf.post(
                vm,
                ReplyMsg::Head {
                    head: head.finish(),
                    first,
                    done,
                },
            ))
        }

        /// Send one body chunk. False if the client has gone.
        #[pymethod]
        fn send(zelf: &Py<Self>, data: PyObjectRef, vm: &VirtualMachine) -> PyResult<bool> {
            let data = bytes_arg(&data, vm)?;
            Ok(data.is_empty() || zelf.post(vm, ReplyMsg::Chunk(data)))
        }

        /// Hand `count` bytes (all, when negative) of the open file `fd` from `offset` to the
        /// HTTP side, which sends them with sendfile(2); the descriptor is duplicated, so the
        /// app may close its file at once. False if the client has gone.
        #[pymethod]
        fn sendfile(
            zelf: &Py<Self>,
            fd: i32,
            offset: i64,
            count: i64,
            vm: &VirtualMachine,
        ) -> PyResult<bool> {
            let os_error = |e: std::io::Error| vm.new_os_error(format!("wsgi.file_wrapper: {e}"));
            let offset =
                u64::try_from(offset).map_err(|_| vm.new_value_error("negative offset"))?;
            let file = crate::sys::dup(fd).map_err(os_error)?;
            let size = file.metadata().map_err(os_error)?.len();
            let available = size.saturating_sub(offset);
            let len = u64::try_from(count).map_or(available, |c| c.min(available));
            Ok(zelf.post(vm, ReplyMsg::File { file, offset, len }))
        }

        /// The body is complete.
        #[pymethod]
        fn finish(zelf: &Py<Self>, vm: &VirtualMachine) {
            zelf.post(vm, ReplyMsg::End);
        }

        /// The app failed after the head was sent: cut the connection.
        #[pymethod]
        fn abort(zelf: &Py<Self>, vm: &VirtualMachine) {
            zelf.post(vm, ReplyMsg::Abort);
        }

        #[pygetset]
        fn started(zelf: &Py<Self>) -> bool {
            zelf.started.load(Ordering::Relaxed)
        }
    }

    /// Write one line to the server log at `level` (`error`, `warning`, `info`).
    #[pyfunction]
    fn log(level: PyStrRef, message: PyStrRef) {
        let message = message.to_string_lossy();
        crate::log::python(&level.to_string_lossy(), message.trim_end_matches('\n'));
    }

    pub(crate) fn new_input(source: ChannelSource, vm: &VirtualMachine) -> PyRef<Input> {
        Input::new(source).into_ref(&vm.ctx)
    }

    pub(crate) fn new_reply(tx: flume::Sender<ReplyMsg>, vm: &VirtualMachine) -> PyRef<Reply> {
        Reply::new(tx).into_ref(&vm.ctx)
    }
}

pub(crate) use _rwsgi::{new_input, new_reply};
