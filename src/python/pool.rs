//! The worker's Python threads. Each builds its own interpreter, loads its own copy of the app,
//! then takes jobs from the shared queue one at a time until the queue closes. With
//! `--preload` the first one is the thread that forked, serving from the inherited
//! interpreter ([`MainThread`]); the others build their own as without it.

use std::sync::Arc;
use std::thread::JoinHandle;

use rustpython_vm::Interpreter;

use super::app::{App, AppSettings, LoadError};
use super::interp;
use super::patch::gc_generations::OlderGenerations;
use super::preload::Preloaded;
use super::watchdog::{Dumper, ThreadWatch};
use crate::job::{Job, Reply};

/// Stack for each Python thread: deep framework call chains recurse through Rust frames.
const PYTHON_STACK: usize = 16 * 1024 * 1024;

/// Jobs queued per Python thread before the HTTP side waits: enough to keep a thread busy
/// between requests, small enough that a stalled app pushes back on accept.
const QUEUE_PER_THREAD: usize = 4;

/// The running Python threads and the queue that feeds them.
pub struct Pool {
    jobs: flume::Sender<Job>,
    threads: Vec<JoinHandle<()>>,
    /// One message per Python thread that panicked while serving (and stopped).
    panics: flume::Receiver<String>,
    /// Asks the threads' watchdogs for the stuck request's stack.
    dumper: Dumper,
}

/// The first Python thread of a `--preload` worker: the calling thread, which holds the
/// interpreter inherited from the master. [`MainThread::run`] serves until the queue closes.
pub struct MainThread {
    preloaded: Preloaded,
    queue: flume::Receiver<Job>,
    panicked: flume::Sender<String>,
    watch: Arc<ThreadWatch>,
}

impl MainThread {
    /// Take jobs on this thread until the pool's queue closes.
    pub fn run(self) {
        let _ = crate::process::sys::batch_scheduling();
        let Preloaded { interp, app, .. } = self.preloaded;
        serve_jobs(interp, app, &self.queue, &self.panicked, &self.watch);
    }
}

impl Pool {
    /// Start `threads` Python threads and wait until each has loaded the app. With `preloaded`
    /// (the app the master loaded), the first thread is the caller's: it is handed back, to
    /// be run with [`MainThread::run`], and only the others are started here.
    pub fn start(
        settings: AppSettings,
        threads: usize,
        preloaded: Option<Preloaded>,
    ) -> Result<(Self, Option<MainThread>), LoadError> {
        let settings = Arc::new(settings);
        let (jobs, queue) = flume::bounded(threads * QUEUE_PER_THREAD);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (panic_tx, panics) = flume::unbounded();
        let mut handles = Vec::with_capacity(threads);
        let mut watches = Vec::with_capacity(threads);
        let main = match preloaded {
            Some(preloaded) => {
                let watch = ThreadWatch::new();
                preloaded
                    .interp
                    .enter(|vm| preloaded.app.watch(vm, &watch))?;
                watches.push(Arc::clone(&watch));
                Some(MainThread {
                    preloaded,
                    queue: queue.clone(),
                    panicked: panic_tx.clone(),
                    watch,
                })
            }
            None => None,
        };
        let others = threads - usize::from(main.is_some());
        for i in 0..others {
            let settings = Arc::clone(&settings);
            let queue = queue.clone();
            let ready = ready_tx.clone();
            let panicked = panic_tx.clone();
            let watch = ThreadWatch::new();
            watches.push(Arc::clone(&watch));
            let handle = std::thread::Builder::new()
                .name(format!("python-{}", i + threads - others))
                .stack_size(PYTHON_STACK)
                .spawn(move || python_thread(&settings, &queue, ready, &panicked, &watch))
                .map_err(|e| LoadError::Internal(format!("cannot start a Python thread: {e}")))?;
            handles.push(handle);
        }
        drop(ready_tx);
        let pool = Self {
            jobs,
            threads: handles,
            panics,
            dumper: Dumper::new(watches),
        };
        for _ in 0..others {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    return Err(LoadError::Internal(
                        "a Python thread stopped while loading the app".to_owned(),
                    ));
                }
            }
        }
        Ok((pool, main))
    }

    /// Where the HTTP side sends jobs.
    pub fn sender(&self) -> flume::Sender<Job> {
        self.jobs.clone()
    }

    /// What the worker uses to log the stuck request's stack when `--timeout` fires.
    pub fn dumper(&self) -> Dumper {
        self.dumper.clone()
    }

    /// Where the worker hears that a Python thread panicked (and stopped).
    pub fn panics(&self) -> flume::Receiver<String> {
        self.panics.clone()
    }

    /// Close the queue and wait for every thread to finish its job and exit.
    pub fn shutdown(self) {
        drop(self.jobs);
        for handle in self.threads {
            let _ = handle.join();
        }
    }
}

fn python_thread(
    settings: &AppSettings,
    queue: &flume::Receiver<Job>,
    ready: std::sync::mpsc::Sender<Result<(), LoadError>>,
    panicked: &flume::Sender<String>,
    watch: &Arc<ThreadWatch>,
) {
    // As the worker's HTTP thread (process/worker.rs): hand-offs between the two do not preempt.
    let _ = crate::process::sys::batch_scheduling();
    let interp = interp::build(settings.sys_path.clone(), settings.hash_seed);
    let loaded = interp.enter(|vm| App::load(vm, settings, Some(watch)));
    let loaded = match loaded {
        Ok(loaded) => {
            let _ = ready.send(Ok(()));
            loaded
        }
        Err(e) => {
            watch.close();
            let _ = ready.send(Err(e));
            return;
        }
    };
    drop(ready);
    serve_jobs(interp, loaded, queue, panicked, watch);
}

/// Take jobs from `queue` one at a time, each run in `interp`, until the queue closes.
fn serve_jobs(
    interp: Interpreter,
    loaded: App,
    queue: &flume::Receiver<Job>,
    panicked: &flume::Sender<String>,
    watch: &Arc<ThreadWatch>,
) {
    let mut older = interp.enter(OlderGenerations::new);
    // Waiting happens outside the interpreter: a thread blocked while attached could stall
    // the interpreter's stop-the-world pauses (RUSTPYTHON.md).
    while let Ok(job) = queue.recv() {
        let Job {
            environ,
            body,
            reply,
            what,
            in_flight,
        } = job;
        let abort = reply.clone();
        watch.serving(Arc::clone(&what));
        // A panic inside the interpreter (its bug or ours) must not take the other threads'
        // requests with it, nor leave the worker serving 503s with no thread left: the
        // request is answered 500 (or cut, if its head went out), this interpreter is
        // abandoned as it may be half-updated, and the worker is told to retire.
        let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            interp.enter(|vm| {
                loaded.run_request(vm, environ, body, reply);
                // Between requests, no app frame running: the collections RustPython's
                // collector never schedules itself (patch/gc_generations.rs).
                older.after_request(vm);
            });
        }));
        watch.idle();
        drop(in_flight);
        if let Err(payload) = served {
            let _ = abort.send(Reply::Abort);
            let message = panic_message(payload.as_ref());
            let _ = panicked.send(format!("{what}: {message}"));
            std::mem::forget(loaded);
            std::mem::forget(interp);
            return;
        }
    }
    watch.close();
    interp.enter(|_vm| drop(loaded));
    interp.finalize(None);
}

/// The text a panic was raised with.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}
