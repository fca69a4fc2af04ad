//! `--metrics HOST:PORT`: Prometheus counters shared by all worker processes. The master maps
//! one anonymous shared page before forking; every worker adds to the same atomics, so any
//! worker can answer a scrape with the totals. Counters: requests by status class, a latency
//! histogram, requests in flight, and worker restarts.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Histogram bucket upper bounds, in seconds (Prometheus' default buckets).
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The shared counters. `repr(C)` and atomics only: it lives in memory shared across fork.
#[repr(C)]
pub struct Counters {
    /// Responses by status class: 1xx … 5xx.
    by_class: [AtomicU64; 5],
    /// Cumulative-free bucket counts; the last slot is +Inf.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    duration_micros: AtomicU64,
    in_flight: AtomicU64,
    restarts: AtomicU64,
}

// SAFETY: `repr(C)` and `AtomicU64`s only: all-zero is a valid value (every counter at 0),
// there is no pointer or process-local state to share wrongly across fork, and the alignment is
// 8 bytes.
unsafe impl crate::process::sys::SharedZeroed for Counters {}

static COUNTERS: OnceLock<&'static Counters> = OnceLock::new();

/// Map the shared counters (in the master, before any fork). Idempotent.
pub fn enable() -> std::io::Result<()> {
    if COUNTERS.get().is_some() {
        return Ok(());
    }
    let counters = crate::process::sys::shared_zeroed::<Counters>()?;
    let _ = COUNTERS.set(counters);
    Ok(())
}

fn counters() -> Option<&'static Counters> {
    COUNTERS.get().copied()
}

/// A request in flight, counted until dropped (also when the client leaves before the answer).
#[derive(Debug)]
pub struct RequestInFlight(());

impl RequestInFlight {
    pub fn start() -> Self {
        if let Some(c) = counters() {
            c.in_flight.fetch_add(1, Ordering::Relaxed);
        }
        Self(())
    }
}

impl Drop for RequestInFlight {
    fn drop(&mut self) {
        if let Some(c) = counters() {
            let _ = c
                .in_flight
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
    }
}

/// A request finished with `status` after `elapsed`.
pub fn finished(status: u16, elapsed: Duration) {
    let Some(c) = counters() else { return };
    let class = usize::from(status / 100).clamp(1, 5) - 1;
    c.by_class[class].fetch_add(1, Ordering::Relaxed);
    let secs = elapsed.as_secs_f64();
    let bucket = BUCKETS
        .iter()
        .position(|b| secs <= *b)
        .unwrap_or(BUCKETS.len());
    c.buckets[bucket].fetch_add(1, Ordering::Relaxed);
    c.duration_micros.fetch_add(
        u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
}

/// The master replaced a worker.
pub fn restarted() {
    if let Some(c) = counters() {
        c.restarts.fetch_add(1, Ordering::Relaxed);
    }
}

/// The Prometheus text exposition of the counters.
pub fn render() -> String {
    let Some(c) = counters() else {
        return String::new();
    };
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let mut out = String::with_capacity(2048);
    let total: u64 = c.by_class.iter().map(load).sum();
    let _ = writeln!(
        out,
        "# HELP rwsgi_requests_total Requests answered, by status class."
    );
    let _ = writeln!(out, "# TYPE rwsgi_requests_total counter");
    for (i, n) in c.by_class.iter().enumerate() {
        let _ = writeln!(
            out,
            "rwsgi_requests_total{{status=\"{}xx\"}} {}",
            i + 1,
            load(n)
        );
    }
    let _ = writeln!(
        out,
        "# HELP rwsgi_request_duration_seconds Time from request to the end of the response."
    );
    let _ = writeln!(out, "# TYPE rwsgi_request_duration_seconds histogram");
    let mut cumulative = 0;
    for (i, bound) in BUCKETS.iter().enumerate() {
        cumulative += load(&c.buckets[i]);
        let _ = writeln!(
            out,
            "rwsgi_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
        );
    }
    cumulative += load(&c.buckets[BUCKETS.len()]);
    let _ = writeln!(
        out,
        "rwsgi_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
    );
    let _ = writeln!(
        out,
        "rwsgi_request_duration_seconds_sum {:.6}",
        load(&c.duration_micros) as f64 / 1e6
    );
    let _ = writeln!(out, "rwsgi_request_duration_seconds_count {total}");
    let _ = writeln!(
        out,
        "# HELP rwsgi_requests_in_flight Requests being answered now."
    );
    let _ = writeln!(out, "# TYPE rwsgi_requests_in_flight gauge");
    let _ = writeln!(out, "rwsgi_requests_in_flight {}", load(&c.in_flight));
    let _ = writeln!(
        out,
        "# HELP rwsgi_worker_restarts_total Workers replaced after dying, timing out or retiring."
    );
    let _ = writeln!(out, "# TYPE rwsgi_worker_restarts_total counter");
    let _ = writeln!(out, "rwsgi_worker_restarts_total {}", load(&c.restarts));
    out
}
