//! What the HTTP side enforces on every request: the size limits and the time limits, with
//! their defaults. `config` builds them from the flags, whose clap defaults are these consts.

use std::time::Duration;

/// Seconds a request may run in the app before the worker is replaced: gunicorn's default.
pub const DEFAULT_TIMEOUT: u64 = 30;
/// Seconds a stopping worker lets requests in flight finish: gunicorn's default.
pub const DEFAULT_GRACEFUL_TIMEOUT: u64 = 30;
/// Seconds an idle keep-alive connection stays open. Longer than gunicorn's 2 s, which is
/// tuned for sync workers that hold a whole process per connection; ours cost a few KB.
pub const DEFAULT_KEEP_ALIVE: u64 = 5;
/// Seconds to receive a whole request head once it has begun (mod_wsgi-express: 15).
pub const DEFAULT_HEADER_TIMEOUT: u64 = 15;
/// Seconds `wsgi.input` waits for more body (mod_wsgi-express's body-timeout is 15; uploads
/// over slow links deserve more).
pub const DEFAULT_BODY_TIMEOUT: u64 = 30;
/// Least average request-body rate once --body-timeout has passed: mod_wsgi-express's
/// body-min-rate default.
pub const DEFAULT_BODY_MIN_RATE: u64 = 500;
/// gunicorn's limit_request_line, limit_request_fields and limit_request_field_size defaults.
pub const DEFAULT_LIMIT_REQUEST_LINE: usize = 4094;
pub const DEFAULT_LIMIT_REQUEST_FIELDS: usize = 100;
pub const DEFAULT_LIMIT_REQUEST_FIELD_SIZE: usize = 8190;

/// Request-size limits, enforced before the app sees a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub request_line: usize,
    pub fields: usize,
    pub field_size: usize,
    /// `None`: no limit.
    pub body: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_line: DEFAULT_LIMIT_REQUEST_LINE,
            fields: DEFAULT_LIMIT_REQUEST_FIELDS,
            field_size: DEFAULT_LIMIT_REQUEST_FIELD_SIZE,
            body: None,
        }
    }
}

/// Time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// `None`: a request may run for ever.
    pub request: Option<Duration>,
    pub graceful: Duration,
    pub keep_alive: Duration,
    pub header: Duration,
    pub body: Duration,
    /// Least average body rate, bytes/s, once `body` has passed (0: none).
    pub body_min_rate: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            request: Some(Duration::from_secs(DEFAULT_TIMEOUT)),
            graceful: Duration::from_secs(DEFAULT_GRACEFUL_TIMEOUT),
            keep_alive: Duration::from_secs(DEFAULT_KEEP_ALIVE),
            header: Duration::from_secs(DEFAULT_HEADER_TIMEOUT),
            body: Duration::from_secs(DEFAULT_BODY_TIMEOUT),
            body_min_rate: DEFAULT_BODY_MIN_RATE,
        }
    }
}
