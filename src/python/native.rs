//! `_rwsgi`, the native module the Python side talks through: `Input` (the `wsgi.input`
//! object) and `log` (the server log, behind `wsgi.errors`), plus the response callables of
//! `python::start_response`, and `_panic` (fault injection for our tests, off unless asked for).

pub(crate) use _rwsgi::module_def;

use bytes::Bytes;

use crate::job::BodyChannel;
use crate::wsgi::input::{ChunkSource, InputError};

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

#[rustpython_vm::pymodule(with(super::start_response::_response))]
mod _rwsgi {
    use rustpython_vm::pyclass;
    use std::fmt;

    use bytes::Bytes;
    use rustpython_vm::{
        Py, PyPayload, PyRef, PyResult, VirtualMachine,
        builtins::{PyBytesRef, PyListRef, PyStrRef},
        common::lock::PyMutex,
        function::OptionalArg,
        protocol::PyIterReturn,
        types::{IterNext, Iterable, SelfIter},
    };

    use crate::wsgi::input::{BodyReader, InputError};

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

    /// Write one line to the server log at `level` (`error`, `warning`, `info`).
    #[pyfunction]
    fn log(level: PyStrRef, message: PyStrRef) {
        let message = message.to_string_lossy();
        crate::observe::log::python(&level.to_string_lossy(), message.trim_end_matches('\n'));
    }

    /// Fault injection for rwsgi's own tests: panics in Rust with `message`, as a bug in the
    /// interpreter would, when `RWSGI_FAULT_INJECTION=1` was set when the process started;
    /// otherwise a RuntimeError.
    #[pyfunction]
    fn _panic(message: PyStrRef, vm: &VirtualMachine) -> PyResult<()> {
        static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let enabled = *ENABLED
            .get_or_init(|| std::env::var_os("RWSGI_FAULT_INJECTION").is_some_and(|v| v == "1"));
        if !enabled {
            return Err(vm.new_runtime_error("fault injection is off (RWSGI_FAULT_INJECTION)"));
        }
        std::panic::panic_any(message.to_string_lossy().into_owned())
    }

    pub(crate) fn new_input(source: ChannelSource, vm: &VirtualMachine) -> PyRef<Input> {
        Input::new(source).into_ref(&vm.ctx)
    }
}

pub(crate) use _rwsgi::new_input;
