//! What the server tells its operator (layer 2 of the crate docs' table): [`log`] (the server
//! log and the access log), [`access_log`] (the access-log line formats) and [`metrics`] (the
//! Prometheus counters shared by all workers).

pub mod access_log;
pub mod log;
pub mod metrics;
