//! The stuck request's Python traceback. Each Python thread's interpreter runs one watchdog
//! thread of its own, started with the interpreter (`rwsgi._handler.start_watchdog`) and
//! parked in a native wait, detached from the interpreter. When `--timeout` fires, the worker
//! wakes every watchdog ([`Dumper::dump`]); the one whose thread is serving a request older
//! than the limit formats that thread's stack (`sys._current_frames()` works across threads of
//! one interpreter in RustPython 0.6.0, also while the stuck thread runs Python in a loop) and
//! logs it, before the worker is replaced. No thread per request, nothing on the request path
//! but two stores.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustpython_vm::{
    Py, PyPayload, PyResult, VirtualMachine, builtins::PyStrRef, class::PyClassImpl, pyclass,
};

/// What one Python thread is serving, and the line to its watchdog.
#[derive(Debug)]
pub struct ThreadWatch {
    /// When the request being served began, and what it is (`GET /path`).
    current: Mutex<Option<(Instant, Arc<str>)>>,
    /// Wake-ups for the watchdog: "dump if serving for at least this long". Taken on close.
    wake: Mutex<Option<flume::Sender<Duration>>>,
    wakes: flume::Receiver<Duration>,
    /// One message per wake-up handled, dumped or not.
    handled: (flume::Sender<()>, flume::Receiver<()>),
}

impl ThreadWatch {
    pub fn new() -> Arc<Self> {
        let (wake, wakes) = flume::unbounded();
        Arc::new(Self {
            current: Mutex::new(None),
            wake: Mutex::new(Some(wake)),
            wakes,
            handled: flume::unbounded(),
        })
    }

    /// The thread starts serving `what`.
    pub fn serving(&self, what: Arc<str>) {
        if let Ok(mut current) = self.current.lock() {
            *current = Some((Instant::now(), what));
        }
    }

    /// The thread is done with its request.
    pub fn idle(&self) {
        if let Ok(mut current) = self.current.lock() {
            *current = None;
        }
    }

    /// The interpreter is going away: its watchdog's wait returns `None` and the thread ends.
    pub fn close(&self) {
        let wake = self.wake.lock().ok().and_then(|mut w| w.take());
        drop(wake);
    }

    /// The request being served, if it has run for `older_than` or more.
    fn stuck(&self, older_than: Duration) -> Option<String> {
        let current = self.current.lock().ok()?;
        current
            .as_ref()
            .filter(|(started, _)| started.elapsed() >= older_than)
            .map(|(_, what)| what.to_string())
    }
}

/// The handle the worker uses to ask every watchdog for a dump.
#[derive(Debug, Clone, Default)]
pub struct Dumper {
    watches: Vec<Arc<ThreadWatch>>,
}

impl Dumper {
    pub fn new(watches: Vec<Arc<ThreadWatch>>) -> Self {
        Self { watches }
    }

    /// Log the stack of every thread serving a request for `older_than` or more, waiting up to
    /// `wait` for the watchdogs. Blocking: call it off the runtime.
    pub fn dump(&self, older_than: Duration, wait: Duration) {
        let deadline = Instant::now() + wait;
        let mut asked = Vec::new();
        for watch in &self.watches {
            let sent = watch
                .wake
                .lock()
                .ok()
                .and_then(|w| w.as_ref().map(|w| w.send(older_than).is_ok()));
            if sent == Some(true) {
                asked.push(watch);
            }
        }
        for watch in asked {
            let left = deadline.saturating_duration_since(Instant::now());
            if watch.handled.1.recv_timeout(left).is_err() {
                crate::observe::log::warning(
                    "a Python thread's watchdog did not answer; no traceback for its request",
                );
            }
        }
    }
}

/// The Python side of a [`ThreadWatch`], handed to `rwsgi._handler.start_watchdog`.
#[pyclass(module = "_rwsgi", name = "Watchdog")]
#[derive(Debug, PyPayload)]
pub struct Watchdog {
    watch: Arc<ThreadWatch>,
}

#[pyclass]
impl Watchdog {
    /// Wait (detached from the interpreter) until asked for a dump that concerns this thread:
    /// the stuck request's label; `None` once the interpreter is closing.
    #[pymethod]
    fn wait(zelf: &Py<Self>, vm: &VirtualMachine) -> Option<String> {
        loop {
            let older_than = vm.allow_threads(|| zelf.watch.wakes.recv()).ok()?;
            match zelf.watch.stuck(older_than) {
                Some(what) => return Some(what),
                None => {
                    let _ = zelf.watch.handled.0.send(());
                }
            }
        }
    }

    /// The formatted stack: logged, and the dump counted as handled.
    #[pymethod]
    fn done(zelf: &Py<Self>, text: PyStrRef) {
        crate::observe::log::python("error", text.to_string_lossy().trim_end());
        let _ = zelf.watch.handled.0.send(());
    }
}

/// Start `watch`'s watchdog thread in `vm`'s interpreter (through `start_watchdog`, a function
/// of `rwsgi._handler`).
pub fn start(
    vm: &VirtualMachine,
    start_watchdog: &rustpython_vm::PyObject,
    watch: &Arc<ThreadWatch>,
) -> PyResult<()> {
    let _ = Watchdog::make_static_type();
    let watchdog = Watchdog {
        watch: Arc::clone(watch),
    }
    .into_ref(&vm.ctx);
    start_watchdog.call((watchdog,), vm).map(drop)
}
