//! Draining a stopping worker's connections: each connection task is counted while it runs
//! and hears the stop signal; the worker waits (up to `--graceful-timeout`) until none is left.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Notify, watch};

#[derive(Debug, Default)]
struct Count {
    live: AtomicUsize,
    zero: Notify,
}

/// The stop signal and the count of live connection tasks.
#[derive(Debug, Clone)]
pub struct Drain {
    stop: watch::Receiver<bool>,
    count: Arc<Count>,
}

/// A live connection task; dropping it counts it out.
#[derive(Debug)]
pub struct Tracked(Arc<Count>);

impl Drop for Tracked {
    fn drop(&mut self) {
        if self.0.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.zero.notify_waiters();
        }
    }
}

impl Drain {
    /// Follow `stop`, which turns true when the worker stops.
    pub fn new(stop: watch::Receiver<bool>) -> Self {
        Self {
            stop,
            count: Arc::default(),
        }
    }

    /// Count a connection task for as long as the token lives.
    pub fn track(&self) -> Tracked {
        self.count.live.fetch_add(1, Ordering::AcqRel);
        Tracked(Arc::clone(&self.count))
    }

    /// How many connection tasks are live.
    pub fn live(&self) -> usize {
        self.count.live.load(Ordering::Acquire)
    }

    /// Completes once the worker is stopping (at once if it already is).
    pub async fn stopping(&self) {
        let mut stop = self.stop.clone();
        let _ = stop.wait_for(|stopping| *stopping).await;
    }

    /// Completes once no connection task is left.
    pub async fn idle(&self) {
        loop {
            let zero = self.count.zero.notified();
            if self.count.live.load(Ordering::Acquire) == 0 {
                return;
            }
            zero.await;
        }
    }
}
