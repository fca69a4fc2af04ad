//! The request-framing guard: every byte a client sends passes through here before hyper sees
//! it. It checks each request head more strictly than hyper does (as strict as gunicorn 22+:
//! no bare LF, no obs-fold, no CTLs in values, no Content-Length with Transfer-Encoding, only
//! `chunked`, no chunked on HTTP/1.0, one Content-Length of digits only, limits on the request
//! line, field size and count) and follows the body framing itself, so that it always knows
//! where the next request starts.
//!
//! hyper only ever sees heads that passed. A head that fails is replaced by a fixed dummy
//! request and the stream ends there: the service, reading the verdict queue, answers the
//! dummy with the refusal and closes, and no byte after the bad head (a smuggled request) is
//! ever parsed. A body whose chunked framing breaks is cut with an error, which fails
//! `wsgi.input` and closes the connection.
//!
//! hyper drops Content-Length when Transfer-Encoding is present, so without this layer the
//! CL+TE smuggling pattern would be invisible to us.
//!
//! Three parts: `rules` (what a head, a field or a chunk line may look like: pure functions
//! on bytes), `scanner` (the state machine that follows the framing, applies the rules and
//! queues a verdict per head on the connection's `Requests`), and `io` (the socket wrapper
//! hyper reads through: timers, the PROXY header, and writes through the sendfile path).

mod io;
mod rules;
mod scanner;

pub use io::GuardedIo;
pub use rules::Rejection;
#[cfg(test)]
pub(crate) use scanner::DUMMY_REQUEST;
pub use scanner::{Cut, Scanner};
