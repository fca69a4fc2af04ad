//! How busy a worker's Python threads are. Each job holds an [`InFlight`] token from the moment
//! it is queued until its Python thread is done with it. The accept loop takes a new connection
//! only while a thread is free, so connections spread over idle workers instead of queuing
//! behind a busy one (the kernel hands the next connection to whichever worker accepts), and
//! the timeout watchdog finds the oldest job here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

#[derive(Debug)]
pub struct Load {
    busy: AtomicUsize,
    capacity: usize,
    freed: Notify,
    next_id: AtomicU64,
    /// Job id → when it was queued and what it is (`GET /path`).
    jobs: Mutex<HashMap<u64, (Instant, String)>>,
}

impl Load {
    /// `capacity`: the number of Python threads.
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            busy: AtomicUsize::new(0),
            capacity: capacity.max(1),
            freed: Notify::new(),
            next_id: AtomicU64::new(0),
            jobs: Mutex::new(HashMap::new()),
        })
    }

    /// Count one more job in flight until the token is dropped.
    pub fn begin(self: &Arc<Self>, what: String) -> InFlight {
        self.busy.fetch_add(1, Ordering::AcqRel);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.insert(id, (Instant::now(), what));
        }
        InFlight {
            load: Arc::clone(self),
            id,
        }
    }

    /// Wait until fewer jobs than threads are in flight.
    pub async fn wait_for_room(&self) {
        loop {
            let freed = self.freed.notified();
            if self.busy.load(Ordering::Acquire) < self.capacity {
                return;
            }
            freed.await;
        }
    }

    /// The longest-running job: how long, and what it is.
    pub fn oldest(&self) -> Option<(Duration, String)> {
        let jobs = self.jobs.lock().ok()?;
        jobs.values()
            .min_by_key(|(start, _)| *start)
            .map(|(start, what)| (start.elapsed(), what.clone()))
    }
}

impl Load {
    /// Hold a slot for a connection just accepted until its first request is queued (or the
    /// grace ends): without it, a worker could accept a burst of connections in the moment
    /// before any of them has become a job, leaving other workers idle.
    pub fn reserve(self: &Arc<Self>) -> Reservation {
        self.busy.fetch_add(1, Ordering::AcqRel);
        Reservation(Arc::clone(self))
    }

    fn release(&self) {
        self.busy.fetch_sub(1, Ordering::AcqRel);
        self.freed.notify_waiters();
    }
}

/// A slot held for a new connection; dropping it frees the slot.
#[derive(Debug)]
pub struct Reservation(Arc<Load>);

impl Drop for Reservation {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// One job in flight; dropping it frees the slot.
#[derive(Debug)]
pub struct InFlight {
    load: Arc<Load>,
    id: u64,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut jobs) = self.load.jobs.lock() {
            jobs.remove(&self.id);
        }
        self.load.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_job_is_tracked_until_dropped() {
        let load = Load::new(1);
        let a = load.begin("GET /a".to_owned());
        std::thread::sleep(Duration::from_millis(5));
        let b = load.begin("GET /b".to_owned());
        assert_eq!(load.oldest().map(|(_, w)| w), Some("GET /a".to_owned()));
        drop(a);
        assert_eq!(load.oldest().map(|(_, w)| w), Some("GET /b".to_owned()));
        drop(b);
        assert_eq!(load.oldest(), None);
    }
}
