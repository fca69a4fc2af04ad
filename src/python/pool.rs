//! The worker's Python threads. Each builds its own interpreter, loads its own copy of the app,
//! then takes jobs from the shared queue one at a time until the queue closes.

use std::sync::Arc;
use std::thread::JoinHandle;

use super::app::{App, AppSettings, LoadError};
use super::{Job, interp};

/// Stack for each Python thread: deep framework call chains recurse through Rust frames.
const PYTHON_STACK: usize = 16 * 1024 * 1024;

/// Jobs queued per Python thread before the HTTP side waits: enough to keep a thread busy
/// between requests, small enough that a stalled app pushes back on accept.
const QUEUE_PER_THREAD: usize = 4;

/// The running Python threads and the queue that feeds them.
pub struct Pool {
    jobs: flume::Sender<Job>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Start `threads` Python threads and wait until each has loaded the app.
    pub fn start(settings: AppSettings, threads: usize) -> Result<Self, LoadError> {
        let settings = Arc::new(settings);
        let (jobs, queue) = flume::bounded(threads * QUEUE_PER_THREAD);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let mut handles = Vec::with_capacity(threads);
        for i in 0..threads {
            let settings = Arc::clone(&settings);
            let queue = queue.clone();
            let ready = ready_tx.clone();
            let handle = std::thread::Builder::new()
                .name(format!("python-{i}"))
                .stack_size(PYTHON_STACK)
                .spawn(move || python_thread(&settings, &queue, ready))
                .map_err(|e| LoadError::Internal(format!("cannot start a Python thread: {e}")))?;
            handles.push(handle);
        }
        drop(ready_tx);
        let pool = Self {
            jobs,
            threads: handles,
        };
        for _ in 0..threads {
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
        Ok(pool)
    }

    /// Where the HTTP side sends jobs.
    pub fn sender(&self) -> flume::Sender<Job> {
        self.jobs.clone()
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
) {
    // As the worker's HTTP thread (worker.rs): hand-offs between the two do not preempt.
    let _ = crate::sys::batch_scheduling();
    let interp = interp::build(settings.sys_path.clone());
    let loaded = interp.enter(|vm| App::load(vm, settings));
    let loaded = match loaded {
        Ok(loaded) => {
            let _ = ready.send(Ok(()));
            loaded
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    drop(ready);
    // Waiting happens outside the interpreter: a thread blocked while attached could stall
    // the interpreter's stop-the-world pauses (RUSTPYTHON.md).
    while let Ok(job) = queue.recv() {
        interp.enter(|vm| loaded.serve(vm, job));
    }
    interp.enter(|_vm| drop(loaded));
    interp.finalize(None);
}
