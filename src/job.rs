//! The contract between HTTP and Python: the one place both sides meet, owned by neither.
//!
//! The HTTP layer never runs Python; Python never touches a socket. Between them:
//!
//! - A bounded queue of [`Job`]s (`flume`), shared by the worker's Python threads. Each Python
//!   thread owns its own interpreter and its own copy of the app (RUSTPYTHON.md: one
//!   interpreter's objects must not be used from two threads at once), takes one job at a time
//!   and runs it to the end.
//! - A job carries the environ's strings ([`Environ`]), the request body as a [`BodyChannel`]
//!   (chunks pulled from the connection only when the app reads, so `Expect: 100-continue` is
//!   answered only then and an upload is never held whole), the sender of its replies, and a
//!   [`Token`] the Python thread drops when it is done with the job.
//! - Replies ([`Reply`]) come back in order: exactly one `Head` (status, headers, the first body
//!   chunk, and whether that was all), then `Chunk`s, then `End`, or `Abort` when the app failed
//!   after the head went out (the connection is then cut, never finished as if complete). A job
//!   whose sender is dropped before a `Head` is answered 500 by the HTTP side.
//! - When the client goes away, the HTTP side drops the receiver; the next send fails, the app's
//!   iterable stops and its `close()` runs.
//! - A body that breaks while the app reads it fails the app's read with an [`InputError`]; the
//!   HTTP side also records the [`BodyFault`] in a [`FaultCell`], and answers by it whatever the
//!   app said.
//!
//! Nothing else crosses.

use std::sync::atomic::{AtomicU8, Ordering};

use bytes::Bytes;

use crate::wsgi::environ::Environ;
use crate::wsgi::input::InputError;
use crate::wsgi::response::ResponseHead;

/// One request for the app.
#[derive(Debug)]
pub struct Job {
    pub environ: Environ,
    /// `None` when the request has no body.
    pub body: Option<BodyChannel>,
    pub reply: flume::Sender<Reply>,
    /// `METHOD /target`, for the log (shared with the HTTP side's count of jobs in flight).
    pub what: std::sync::Arc<str>,
    /// Held until the Python thread is done with the job.
    pub in_flight: Token,
}

/// What the HTTP side holds for a job while it is queued or running (its count of busy
/// Python threads): the Python thread drops it when it is done with the job, and knows
/// nothing else of it.
pub struct Token {
    /// Only ever dropped.
    _held: Box<dyn Send>,
}

impl Token {
    pub fn new(held: impl Send + 'static) -> Self {
        Self {
            _held: Box::new(held),
        }
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token")
    }
}

/// The request body, pulled on demand. An empty chunk marks its end; a channel closed without
/// one means the connection went away.
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

/// What went wrong with a request body while the app read it. The request was bad whatever
/// the app answered: the answer is this fault's status instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFault {
    /// The body's framing broke (400).
    Malformed,
    /// The body grew past `--limit-request-body` (413).
    TooLarge,
    /// The body came slower than `--body-min-rate` (408).
    TooSlow,
}

impl BodyFault {
    /// The cell's code; 0 is "no fault".
    fn to_u8(self) -> u8 {
        match self {
            Self::Malformed => 1,
            Self::TooLarge => 2,
            Self::TooSlow => 3,
        }
    }

    fn from_u8(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Malformed),
            2 => Some(Self::TooLarge),
            3 => Some(Self::TooSlow),
            _ => None,
        }
    }
}

/// Where the task that reads a body records its [`BodyFault`], for the request's answer to
/// find once the app has replied.
#[derive(Debug, Default)]
pub struct FaultCell(AtomicU8);

impl FaultCell {
    pub fn set(&self, fault: BodyFault) {
        self.0.store(fault.to_u8(), Ordering::Relaxed);
    }

    /// The fault recorded, if any.
    pub fn get(&self) -> Option<BodyFault> {
        BodyFault::from_u8(self.0.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_cell_holds_the_last_fault() {
        let cell = FaultCell::default();
        assert_eq!(cell.get(), None);
        for fault in [
            BodyFault::Malformed,
            BodyFault::TooLarge,
            BodyFault::TooSlow,
        ] {
            cell.set(fault);
            assert_eq!(cell.get(), Some(fault));
        }
    }
}
