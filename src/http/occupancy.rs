//! How busy a worker's Python threads are. Each job holds an [`JobInFlight`] token from the moment
//! it is queued until its Python thread is done with it. The accept loop takes a new connection
//! at once only while a thread is free, so connections spread over idle workers instead of
//! queuing behind a busy one (the kernel hands the next connection to whichever worker
//! accepts), and the timeout watchdog finds the oldest job here.
//!
//! Every worker also publishes how many of its threads are free on the [`Board`], a page shared
//! by all workers, so that a busy worker can tell whether a waiting connection has somewhere
//! better to go (see `server::admit`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Seats on the board: workers alive at once, old and new during a reload. A worker beyond
/// them gets no seat and admits as if it were alone.
pub const BOARD_SEATS: usize = 256;

/// Each worker's headroom: its Python threads minus the jobs it holds (running, queued or
/// reserved for a connection just accepted), so positive while a thread is free and minus the
/// queue length while all are busy. In memory shared by the master and every worker it forks;
/// `repr(C)` and atomics only. An empty seat holds `EMPTY`.
#[repr(C)]
pub struct Board {
    headroom: [AtomicI32; BOARD_SEATS],
}

// SAFETY: `repr(C)` and `AtomicI32`s only: all-zero is a valid value ([`Board::map`] then
// empties every seat), there is no pointer or process-local state to share wrongly across fork,
// and the alignment is 4 bytes.
unsafe impl crate::process::sys::SharedZeroed for Board {}

/// What an empty seat (or a worker that no longer accepts) shows.
const EMPTY: i32 = i32::MIN;

impl Board {
    /// Map the board (in the master, before any fork), every seat empty.
    pub fn map() -> std::io::Result<&'static Self> {
        let board = crate::process::sys::shared_zeroed::<Self>()?;
        for seat in 0..BOARD_SEATS {
            board.clear(seat);
        }
        Ok(board)
    }

    /// Empty `seat` (its worker is gone, or not started yet).
    pub fn clear(&self, seat: usize) {
        if let Some(slot) = self.headroom.get(seat) {
            slot.store(EMPTY, Ordering::Release);
        }
    }

    fn publish(&self, seat: usize, headroom: i32) {
        if let Some(slot) = self.headroom.get(seat) {
            slot.store(headroom, Ordering::Release);
        }
    }

    /// The other workers' seats that are taken.
    fn others(&self, seat: usize) -> impl Iterator<Item = i32> + '_ {
        self.headroom
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != seat)
            .map(|(_, h)| h.load(Ordering::Acquire))
            .filter(|&h| h != EMPTY)
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
pub struct Occupancy {
    busy: AtomicUsize,
    /// Of `busy`, the connections accepted that have not sent their first request yet.
    reserved: AtomicUsize,
    capacity: usize,
    /// Where this worker publishes its free threads, if it has a seat.
    seat: Option<Seat>,
    /// The worker no longer accepts (stopping): it publishes 0 from then on.
    closed: AtomicBool,
    freed: Notify,
    next_id: AtomicU64,
    /// Job id → when it was queued and what it is (`GET /path`).
    jobs: Mutex<HashMap<u64, (Instant, Arc<str>)>>,
}

impl Occupancy {
    /// `capacity`: the number of Python threads; `seat`: where to publish how many are free.
    pub fn new(capacity: usize, seat: Option<Seat>) -> Arc<Self> {
        let occupancy = Arc::new(Self {
            busy: AtomicUsize::new(0),
            reserved: AtomicUsize::new(0),
            capacity: capacity.max(1),
            seat,
            closed: AtomicBool::new(false),
            freed: Notify::new(),
            next_id: AtomicU64::new(0),
            jobs: Mutex::new(HashMap::new()),
        });
        occupancy.publish();
        occupancy
    }

    /// Put this worker's headroom on the board.
    fn publish(&self) {
        if let Some(seat) = self.seat {
            let headroom = if self.closed.load(Ordering::Acquire) {
                EMPTY
            } else {
                self.headroom()
            };
            seat.board.publish(seat.index, headroom);
        }
    }

    /// Threads minus jobs: free threads, or minus the queue.
    fn headroom(&self) -> i32 {
        let capacity = i64::try_from(self.capacity).unwrap_or(i64::MAX);
        let busy = i64::try_from(self.busy.load(Ordering::Acquire)).unwrap_or(i64::MAX);
        i32::try_from(capacity - busy).unwrap_or(i32::MIN + 1)
    }

    /// The worker stops accepting: other workers see its seat as empty from now on.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.publish();
    }

    /// Free threads in the other workers; `None` without a board (then nothing is known).
    pub fn free_elsewhere(&self) -> Option<u64> {
        self.seat.map(|seat| {
            seat.board
                .others(seat.index)
                .map(|h| u64::try_from(h).unwrap_or(0))
                .sum()
        })
    }

    /// Whether no other worker is on the board (or there is no board): a connection this
    /// worker leaves waiting has nowhere better to go.
    pub fn alone(&self) -> bool {
        self.seat
            .is_none_or(|seat| seat.board.others(seat.index).next().is_none())
    }

    /// Whether fewer jobs than threads are in flight.
    pub fn has_room(&self) -> bool {
        self.busy.load(Ordering::Acquire) < self.capacity
    }

    /// Completes at the next job (or reservation) of this worker that ends, if created before
    /// it ends.
    pub fn released(&self) -> tokio::sync::futures::Notified<'_> {
        self.freed.notified()
    }

    /// Whether no other worker has a shorter queue than this one (all being busy): the one a
    /// waiting connection should go to. True without a board.
    pub fn least_loaded(&self) -> bool {
        let mine = self.headroom();
        self.seat
            .is_none_or(|seat| seat.board.others(seat.index).all(|h| h <= mine))
    }

    /// Count one more job in flight until the token is dropped.
    pub fn begin(self: &Arc<Self>, what: impl Into<Arc<str>>) -> JobInFlight {
        self.busy.fetch_add(1, Ordering::AcqRel);
        self.publish();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.insert(id, (Instant::now(), what.into()));
        }
        JobInFlight {
            occupancy: Arc::clone(self),
            id,
        }
    }

    /// Wait until fewer jobs than threads are in flight.
    pub async fn wait_for_room(&self) {
        loop {
            let freed = self.freed.notified();
            if self.has_room() {
                return;
            }
            freed.await;
        }
    }

    /// Whether this worker, all its threads busy, may still take a connection ahead: fewer
    /// than `ahead` connections it accepted are still waiting for their first request, and
    /// every job it holds, running or queued, started less than `young` ago (it works through
    /// them quickly; a long or stuck request, or a long queue, stops it).
    pub fn may_look_ahead(&self, ahead: usize, young: Duration) -> bool {
        if self.reserved.load(Ordering::Acquire) >= ahead {
            return false;
        }
        let Ok(jobs) = self.jobs.lock() else {
            return false;
        };
        jobs.values().all(|(start, _)| start.elapsed() < young)
    }

    /// The longest-running job: how long, and what it is.
    pub fn oldest(&self) -> Option<(Duration, String)> {
        let jobs = self.jobs.lock().ok()?;
        jobs.values()
            .min_by_key(|(start, _)| *start)
            .map(|(start, what)| (start.elapsed(), what.to_string()))
    }
}

impl Occupancy {
    /// Hold a slot for a connection just accepted until its first request is queued (or the
    /// grace ends): without it, a worker could accept a burst of connections in the moment
    /// before any of them has become a job, leaving other workers idle.
    pub fn reserve(self: &Arc<Self>) -> Reservation {
        self.reserved.fetch_add(1, Ordering::AcqRel);
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
pub struct Reservation(Arc<Occupancy>);

impl Drop for Reservation {
    fn drop(&mut self) {
        self.0.reserved.fetch_sub(1, Ordering::AcqRel);
        self.0.release();
    }
}

/// One job in flight; dropping it frees the slot.
#[derive(Debug)]
pub struct JobInFlight {
    occupancy: Arc<Occupancy>,
    id: u64,
}

impl Drop for JobInFlight {
    fn drop(&mut self) {
        if let Ok(mut jobs) = self.occupancy.jobs.lock() {
            jobs.remove(&self.id);
        }
        self.occupancy.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_job_is_tracked_until_dropped() {
        let occupancy = Occupancy::new(1, None);
        let a = occupancy.begin("GET /a".to_owned());
        std::thread::sleep(Duration::from_millis(5));
        let b = occupancy.begin("GET /b".to_owned());
        assert_eq!(
            occupancy.oldest().map(|(_, w)| w),
            Some("GET /a".to_owned())
        );
        drop(a);
        assert_eq!(
            occupancy.oldest().map(|(_, w)| w),
            Some("GET /b".to_owned())
        );
        drop(b);
        assert_eq!(occupancy.oldest(), None);
    }

    #[test]
    fn a_worker_looks_ahead_only_while_its_requests_are_young() {
        let occupancy = Occupancy::new(1, None);
        let young = Duration::from_secs(60);
        assert!(occupancy.may_look_ahead(1, young));
        let running = occupancy.begin("GET /a");
        let queued = occupancy.begin("GET /b");
        // Busy with young requests: one connection ahead at a time, however many are queued.
        assert!(occupancy.may_look_ahead(1, young));
        let ahead = occupancy.reserve();
        assert!(!occupancy.may_look_ahead(1, young));
        drop((ahead, queued));
        // The same request, now older than the limit: none.
        std::thread::sleep(Duration::from_millis(5));
        assert!(!occupancy.may_look_ahead(1, Duration::from_millis(1)));
        drop(running);
        assert!(occupancy.may_look_ahead(1, Duration::from_millis(1)));
    }
}

#[cfg(test)]
mod board_tests {
    use super::*;

    #[test]
    fn free_threads_are_published_and_closed_workers_show_none() {
        let board = Board::map().expect("map");
        let seat = |index| Some(Seat { board, index });
        let a = Occupancy::new(2, seat(0));
        let b = Occupancy::new(1, seat(3));
        assert_eq!(a.free_elsewhere(), Some(1));
        assert_eq!(b.free_elsewhere(), Some(2));
        let job = a.begin("GET /".to_owned());
        assert_eq!(b.free_elsewhere(), Some(1));
        let held = a.reserve();
        assert_eq!(b.free_elsewhere(), Some(0));
        drop((job, held));
        assert_eq!(b.free_elsewhere(), Some(2));
        // All busy: the shorter queue is the least loaded.
        let (j1, j2, j3) = (a.begin("1"), a.begin("2"), a.begin("3"));
        let k = b.begin("k");
        assert_eq!(b.free_elsewhere(), Some(0));
        assert!(b.least_loaded() && !a.least_loaded());
        drop((j1, j2, j3, k));
        a.close();
        assert_eq!(b.free_elsewhere(), Some(0));
        board.clear(3);
        assert_eq!(a.free_elsewhere(), Some(0));
        assert_eq!(Occupancy::new(1, None).free_elsewhere(), None);
    }
}
