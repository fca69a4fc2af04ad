//! One connection's shared parts: what crosses between the pieces that hyper keeps apart. hyper
//! sits between the framing guard (which reads the socket), the service (which answers each
//! request) and the writer (which writes the socket), so they meet here, one named part each:
//!
//! - [`Requests`]: guard → service. The guard's [`Verdict`] on each head it passed on, in order;
//!   how many requests are open; whether one has arrived; since when none has been open.
//! - [`Admission`]: server → service. The worker slot reserved at accept, given back when the
//!   first job is queued (or the grace runs out).
//! - `sendfile`: body → writer. The file segments that zero-copy bodies promise the writer
//!   ([`Segments`]); absent where sendfile(2) cannot write (TLS, HTTP/2).
//! - [`ProxyPeer`]: guard → service. The client's address from a PROXY protocol header.
//!
//! [`OpenRequest`] is a request's hold on its connection, from the service until its response
//! body is done. Nothing here does I/O.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::http::guard::Rejection;
use crate::http::occupancy::{Held, Reservation};
use crate::http::zero_copy::Segments;
use crate::wsgi::environ::RawTarget;

/// The parts of one connection (see the module docs), shared by its guard, its service calls
/// and its response bodies.
#[derive(Debug)]
pub struct Connection {
    /// Guard → service: verdicts and the requests open. Shared on its own with the guard's
    /// scanner, which needs nothing else.
    pub requests: Arc<Requests>,
    /// Server → service: the worker slot held from accept.
    pub admission: Admission,
    /// Body → writer: the file segments for sendfile(2); `None` when the transport cannot take
    /// it (TLS, HTTP/2), and file bodies read the file instead.
    pub sendfile: Option<Segments>,
    /// Guard → service: the client's address as a PROXY header gave it.
    pub proxy_peer: ProxyPeer,
}

impl Connection {
    /// `sendfile`: the connection is a plain socket that sendfile(2) can write to (HTTP/1 over
    /// TCP or a Unix socket).
    pub fn new(admission: Admission, sendfile: bool) -> Self {
        Self {
            requests: Arc::new(Requests::default()),
            admission,
            sendfile: sendfile.then(Segments::default),
            proxy_peer: ProxyPeer::default(),
        }
    }

    /// The verdict on the next request hyper hands the service, and the token that keeps it
    /// counted as open until the response is done.
    pub fn next_request(self: &Arc<Self>) -> (Option<Verdict>, OpenRequest) {
        let verdict = self.requests.next_verdict();
        (verdict, OpenRequest(Arc::clone(self)))
    }
}

/// The guard's verdict on each request head it passed on, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// Accepted, with bytes of the request target percent-encoded for hyper (those its URI
    /// parser refuses); the target as the client sent it rides along for the environ.
    Encoded(RawTarget),
    Refused(Rejection),
}

/// The requests of a connection, as the guard saw them arrive and the service sees them end.
#[derive(Debug)]
pub struct Requests {
    /// One per head the guard passed on, taken by the service in the same order.
    verdicts: Mutex<VecDeque<Verdict>>,
    /// Passed on by the guard (or opened as an HTTP/2 stream), response not yet finished.
    open: AtomicUsize,
    /// A request head has arrived.
    seen: AtomicBool,
    /// Since when no request has been open (`None` while one is).
    idle_since: Mutex<Option<Instant>>,
}

impl Default for Requests {
    /// No request yet: idle from now.
    fn default() -> Self {
        Self {
            verdicts: Mutex::default(),
            open: AtomicUsize::new(0),
            seen: AtomicBool::new(false),
            idle_since: Mutex::new(Some(Instant::now())),
        }
    }
}

impl Requests {
    /// The guard passed a head on to hyper: it is open until its [`OpenRequest`] is dropped.
    pub fn push(&self, verdict: Verdict) {
        self.seen.store(true, Ordering::Release);
        self.open.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut q) = self.verdicts.lock() {
            q.push_back(verdict);
        }
    }

    /// An HTTP/2 stream opened a request (HTTP/1 requests are counted by the guard): open
    /// until its [`OpenRequest`] is dropped, at the end of its response.
    pub fn stream_opened(&self) {
        self.seen.store(true, Ordering::Release);
        self.open.fetch_add(1, Ordering::AcqRel);
        self.set_idle_since(None);
    }

    /// The verdict on the next head, in the order the guard passed them on.
    pub fn next_verdict(&self) -> Option<Verdict> {
        self.verdicts.lock().ok().and_then(|mut q| q.pop_front())
    }

    /// A response finished: one request fewer open.
    fn finished(&self) {
        let before = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        if before == Ok(1) {
            self.set_idle_since(Some(Instant::now()));
        }
    }

    /// Whether any request head has arrived on this connection.
    pub fn seen(&self) -> bool {
        self.seen.load(Ordering::Acquire)
    }

    /// Whether no request is open (every response passed on is finished).
    pub fn none_open(&self) -> bool {
        self.open.load(Ordering::Acquire) == 0
    }

    /// Since when no request has been open on this connection; `None` while one is.
    pub fn idle_since(&self) -> Option<Instant> {
        self.idle_since.lock().ok().and_then(|t| *t)
    }

    fn set_idle_since(&self, at: Option<Instant>) {
        if let Ok(mut slot) = self.idle_since.lock() {
            *slot = at;
        }
    }
}

/// A request still open on its connection; dropped when its response is finished.
#[derive(Debug)]
pub struct OpenRequest(Arc<Connection>);

impl OpenRequest {
    /// Where this request's zero-copy body registers its file segments; `None` when the
    /// transport cannot take sendfile(2) (TLS, HTTP/2).
    pub fn sendfile(&self) -> Option<&Segments> {
        self.0.sendfile.as_ref()
    }
}

impl Drop for OpenRequest {
    fn drop(&mut self) {
        self.0.requests.finished();
    }
}

/// The worker slot reserved for a connection at accept (see `occupancy::Occupancy::reserve`),
/// held until its first job is queued or a grace from accept has passed, whichever comes
/// first.
#[derive(Debug)]
pub struct Admission(Held);

impl Admission {
    /// Hold `reservation` for at most `grace` from now: a connection that sends nothing quickly
    /// (or is slow to finish its TLS handshake) gives its slot back, so idle clients cannot keep
    /// a worker from accepting. Its first request gives it back earlier ([`Self::release`]).
    pub fn hold_for(reservation: Reservation, grace: Duration) -> Self {
        let held = Arc::new(Mutex::new(Some(reservation)));
        let expiring = Arc::clone(&held);
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            let late = expiring.lock().ok().and_then(|mut r| r.take());
            drop(late);
        });
        Self(held)
    }

    /// Give back the slot held since accept, if still held.
    pub fn release(&self) {
        let reservation = self.0.lock().ok().and_then(|mut r| r.take());
        drop(reservation);
    }
}

/// The client's address as a PROXY protocol header gave it: written by the guard once the
/// header is read, read by the service for the environ and the access log.
#[derive(Debug, Default)]
pub struct ProxyPeer(Mutex<Option<SocketAddr>>);

impl ProxyPeer {
    pub fn set(&self, peer: SocketAddr) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(peer);
        }
    }

    /// The address, if a PROXY header named one.
    pub fn get(&self) -> Option<SocketAddr> {
        self.0.lock().ok().and_then(|p| *p)
    }
}
