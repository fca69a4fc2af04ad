//! Why a worker stops on its own, and the signal that tells its accept loop to stop: after
//! `--max-requests` (graceful, exit 0), after a Python thread panicked (graceful for the other
//! threads, exit 5), or when a request outlived `--timeout` (the wedged Python thread cannot be
//! interrupted, so the process is replaced).

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

/// Exit status of a worker retired because a request timed out.
pub const TIMEOUT_EXIT: i32 = 4;

/// Exit status of a worker retired because one of its Python threads panicked.
pub const PANIC_EXIT: i32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retire {
    MaxRequests,
    /// A Python thread panicked (a bug in the interpreter or in rwsgi): its interpreter is
    /// abandoned, the other threads finish what is in flight, and the worker is replaced.
    Panic,
    Timeout,
}

#[derive(Debug)]
pub struct Lifecycle {
    served: AtomicU64,
    /// Requests after which to retire; `None`: never.
    limit: Option<u64>,
    retire: watch::Sender<Option<Retire>>,
}

impl Lifecycle {
    pub fn new(limit: Option<u64>) -> Self {
        Self {
            served: AtomicU64::new(0),
            limit,
            retire: watch::Sender::new(None),
        }
    }

    /// Count a request; asks for retirement when the limit is reached.
    pub fn served_one(&self) {
        let n = self.served.fetch_add(1, Ordering::Relaxed) + 1;
        if self.limit.is_some_and(|limit| n == limit) {
            crate::observe::log::info(&format!(
                "served {n} requests (--max-requests); retiring this worker"
            ));
            self.retire(Retire::MaxRequests);
        }
    }

    /// Ask the worker to stop; a timeout overrides a max-requests retirement.
    pub fn retire(&self, why: Retire) {
        self.retire.send_if_modified(|current| match current {
            Some(Retire::Timeout) => false,
            _ => {
                *current = Some(why);
                true
            }
        });
    }

    /// Why the worker was asked to stop, if it was.
    pub fn reason(&self) -> Option<Retire> {
        *self.retire.borrow()
    }

    /// Completes once retirement is asked for.
    pub async fn retired(&self) {
        let mut rx = self.retire.subscribe();
        let _ = rx.wait_for(Option::is_some).await;
    }
}

/// `limit` plus a random share of `jitter`, so workers started together do not all retire at
/// once. The randomness only needs to differ per process: pid and time suffice.
pub fn jittered(limit: u64, jitter: u64) -> u64 {
    if jitter == 0 {
        return limit;
    }
    let seed = u64::from(std::process::id())
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos().into());
    limit + seed % (jitter + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..100 {
            let n = jittered(100, 10);
            assert!((100..=110).contains(&n));
        }
        assert_eq!(jittered(100, 0), 100);
    }

    #[test]
    fn max_requests_retires_once_reached() {
        let l = Lifecycle::new(Some(2));
        l.served_one();
        assert_eq!(l.reason(), None);
        l.served_one();
        assert_eq!(l.reason(), Some(Retire::MaxRequests));
        l.retire(Retire::Timeout);
        assert_eq!(l.reason(), Some(Retire::Timeout));
        l.retire(Retire::MaxRequests);
        assert_eq!(l.reason(), Some(Retire::Timeout));
    }
}
