//! How busy a worker's Python threads are. Each job holds an [`InFlight`] token from the moment
//! it is queued until its Python thread is done with it. The accept loop takes a new connection
//! at once only while a thread is free, so connections spread over idle workers instead of
//! queuing behind a busy one (the kernel hands the next connection to whichever worker
//! accepts), and the timeout watchdog finds the oldest job here.
//!
//! Every worker also publishes how many of its threads are free on the [`Board`], a page shared
//! by all workers, so that a busy worker can tell whether a waiting connection has somewhere
//! better to go (see `server::admit`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Seats on the board: workers alive at once, old and new during a reload. A worker beyond
/// them gets no seat and admits as if it were alone.
pub const BOARD_SEATS: usize = 256;

/// Free Python threads per worker, in memory shared by the master and every worker it forks.
/// `repr(C)` and atomics only (it lives in a shared mapping); a seat is 0 while empty.
#[repr(C)]
pub struct Board {
    free: [AtomicU32; BOARD_SEATS],
}

impl Board {
    /// Map the board (in the master, before any fork).
    pub fn map() -> std::io::Result<&'static Self> {
        crate::sys::shared_zeroed::<Self>()
    }

    /// Empty `seat` (its worker is gone, or not started yet).
    pub fn clear(&self, seat: usize) {
        if let Some(slot) = self.free.get(seat) {
            slot.store(0, Ordering::Release);
        }
    }

    fn publish(&self, seat: usize, free: usize) {
        if let Some(slot) = self.free.get(seat) {
            slot.store(u32::try_from(free).unwrap_or(u32::MAX), Ordering::Release);
        }
    }

    /// Free threads of every worker but the one in `seat`.
    fn free_elsewhere(&self, seat: usize) -> u64 {
        self.free
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != seat)
            .map(|(_, f)| u64::from(f.load(Ordering::Acquire)))
            .sum()
    }
}

/// A worker's place on the board.
#[derive(Clone, Copy)]
pub struct Seat {
    pub board: &'static Board,
    pub index: usize,
}

impl std::fmt::Debug for Seat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Seat({})", self.index)
    }
}

#[derive(Debug)]
pub struct Load {
    busy: AtomicUsize,
    capacity: usize,
    /// Where this worker publishes its free threads, if it has a seat.
    seat: Option<Seat>,
    /// The worker no longer accepts (stopping): it publishes 0 from then on.
    closed: AtomicBool,
    freed: Notify,
    next_id: AtomicU64,
    /// Job id → when it was queued and what it is (`GET /path`).
    jobs: Mutex<HashMap<u64, (Instant, String)>>,
}

impl Load {
    /// `capacity`: the number of Python threads; `seat`: where to publish how many are free.
    pub fn new(capacity: usize, seat: Option<Seat>) -> Arc<Self> {
        let load = Arc::new(Self {
            busy: AtomicUsize::new(0),
            capacity: capacity.max(1),
            seat,
            closed: AtomicBool::new(false),
            freed: Notify::new(),
            next_id: AtomicU64::new(0),
            jobs: Mutex::new(HashMap::new()),
        });
        load.publish();
        load
    }

    /// Put this worker's free threads on the board.
    fn publish(&self) {
        if let Some(seat) = self.seat {
            let free = if self.closed.load(Ordering::Acquire) {
                0
            } else {
                self.capacity
                    .saturating_sub(self.busy.load(Ordering::Acquire))
            };
            seat.board.publish(seat.index, free);
        }
    }

    /// The worker stops accepting: it shows no free thread from now on.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.publish();
    }

    /// Free threads in the other workers; `None` without a board (then nothing is known).
    pub fn free_elsewhere(&self) -> Option<u64> {
        self.seat.map(|seat| seat.board.free_elsewhere(seat.index))
    }

    /// Count one more job in flight until the token is dropped.
    pub fn begin(self: &Arc<Self>, what: String) -> InFlight {
        self.busy.fetch_add(1, Ordering::AcqRel);
        self.publish();
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
        self.publish();
        Reservation(Arc::clone(self))
    }

    fn release(&self) {
        self.busy.fetch_sub(1, Ordering::AcqRel);
        self.publish();
        self.freed.notify_waiters();
    }
}

/// A reservation shared by whoever may give it back first: the connection's first request, or
/// the grace timer started at accept.
pub type Held = Arc<Mutex<Option<Reservation>>>;

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
        let load = Load::new(1, None);
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

#[cfg(test)]
mod board_tests {
    use super::*;

    #[test]
    fn free_threads_are_published_and_closed_workers_show_none() {
        let board = Board::map().expect("map");
        let seat = |index| Some(Seat { board, index });
        let a = Load::new(2, seat(0));
        let b = Load::new(1, seat(3));
        assert_eq!(a.free_elsewhere(), Some(1));
        assert_eq!(b.free_elsewhere(), Some(2));
        let job = a.begin("GET /".to_owned());
        assert_eq!(b.free_elsewhere(), Some(1));
        let held = a.reserve();
        assert_eq!(b.free_elsewhere(), Some(0));
        drop((job, held));
        assert_eq!(b.free_elsewhere(), Some(2));
        a.close();
        assert_eq!(b.free_elsewhere(), Some(0));
        board.clear(3);
        assert_eq!(a.free_elsewhere(), Some(0));
        assert_eq!(Load::new(1, None).free_elsewhere(), None);
    }
}
