//! How busy a worker's Python threads are. Each job holds an [`InFlight`] token from the moment
//! it is queued until its Python thread is done with it; the accept loop takes a new connection
//! only while a thread is free, so connections spread over idle workers instead of queuing
//! behind a busy one (the kernel hands the next connection to whichever worker accepts).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

#[derive(Debug)]
pub struct Load {
    busy: AtomicUsize,
    capacity: usize,
    freed: Notify,
}

impl Load {
    /// `capacity`: the number of Python threads.
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            busy: AtomicUsize::new(0),
            capacity: capacity.max(1),
            freed: Notify::new(),
        })
    }

    /// Count one more job in flight until the token is dropped.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.busy.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
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
}

/// One job in flight; dropping it frees the slot.
#[derive(Debug)]
pub struct InFlight(Arc<Load>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
        self.0.freed.notify_waiters();
    }
}
