//! The Python side, and the only code that names RustPython types (with `pylib/`).
//!
//! # The contract between HTTP and Python
//!
//! The HTTP layer never runs Python; Python never touches a socket. Between them:
//!
//! - A bounded queue of [`Job`]s (`flume`), shared by the worker's Python threads. Each Python
//!   thread owns its own interpreter and its own copy of the app (RUSTPYTHON.md: one
//!   interpreter's objects must not be used from two threads at once), takes one job at a time
//!   and runs it to the end.
//! - A job carries the environ's strings ([`Environ`]), the request body as a [`BodyChannel`]
//!   (chunks pulled from the connection only when the app reads, so `Expect: 100-continue` is
//!   answered only then and an upload is never held whole), and the sender of its replies.
//! - Replies ([`Reply`]) come back in order: exactly one `Head` (status, headers, the first body
//!   chunk, and whether that was all), then `Chunk`s, then `End`, or `Abort` when the app failed
//!   after the head went out (the connection is then cut, never finished as if complete). A job
//!   whose sender is dropped before a `Head` is answered 500 by the HTTP side.
//! - When the client goes away, the HTTP side drops the receiver; the next send fails, the app's
//!   iterable stops and its `close()` runs.
//!
//! Nothing else crosses.

pub mod accel;
pub mod app;
pub mod bundler;
pub mod call;
pub mod check;
pub mod convert;
pub mod expat;
pub mod interp;
pub mod native;
pub mod patch;
pub mod pool;
pub mod preload;
pub mod response;
pub mod script;
pub mod user_db;
pub mod watchdog;

use bytes::Bytes;

use crate::wsgi::environ::Environ;
use crate::wsgi::input::InputError;
use crate::wsgi::response::ResponseHead;

pub use app::LoadError;
pub use pool::{MainThread, Pool};
pub use preload::Preloaded;

/// One request for the app.
#[derive(Debug)]
pub struct Job {
    pub environ: Environ,
    /// `None` when the request has no body.
    pub body: Option<BodyChannel>,
    pub reply: flume::Sender<Reply>,
    /// `METHOD /target`, for the log (shared with the job's [`crate::load::InFlight`]).
    pub what: std::sync::Arc<str>,
    /// Held until the Python thread is done with the job.
    pub in_flight: crate::load::InFlight,
}

/// The request body, pulled on demand.
#[derive(Debug)]
pub struct BodyChannel {
    /// Fired on the first read: only then does the HTTP side start reading the body.
    pub start: Option<tokio::sync::oneshot::Sender<()>>,
    pub chunks: flume::Receiver<Result<Bytes, InputError>>,
    /// How long a read waits for the next chunk (`--body-timeout`).
    pub timeout: std::time::Duration,
}

/// What the app produced, in order.
#[derive(Debug)]
pub enum Reply {
    Head {
        head: ResponseHead,
        /// The first body bytes (maybe empty).
        first: Bytes,
        /// Nothing follows: the body is exactly `first`.
        done: bool,
    },
    Chunk(Bytes),
    /// `len` bytes of `file` from `offset`, sent with sendfile(2) (wsgi.file_wrapper).
    File {
        file: std::fs::File,
        offset: u64,
        len: u64,
    },
    End,
    /// The app failed after the head was sent: cut the connection.
    Abort,
}
