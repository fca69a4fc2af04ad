//! rwsgi: one static binary that serves Python WSGI (PEP 3333) applications on an embedded
//! RustPython interpreter.
//!
//! # Layout
//!
//! - Edge: [`cli`] (clap), [`config`] (validated settings), [`config_file`] (`--config`), [`bundle`] (bundled executables), [`check`] (`rwsgi check`, `run --check`), [`reload`] (`--reload`), [`supervisor`] (master process:
//!   binds, forks workers, restarts, signals), [`worker`] (one worker process), [`tls`] (rustls configuration), [`sys`] (the
//!   raw Unix calls), [`log`] (server and access logs), [`metrics`] (the shared Prometheus counters), [`access_log`] (its line formats), [`lifecycle`] (why a worker retires).
//! - HTTP (tokio + hyper, never Python): [`server`] (accept loop), [`drain`] (graceful drain), [`http`]
//!   (request → job, reply → response), [`load`] (admission by free
//!   Python threads), [`error`] (failures that never reach the app).
//! - Pure PEP 3333 translation: [`wsgi`] (environ, response head checks, input buffering).
//! - Python: [`python`] (interpreters, the app's threads, the native `_rwsgi` module) and the
//!   frozen `pylib/`. The contract between HTTP and Python is documented in [`python`].

pub mod access_log;
pub mod bundle;
pub mod check;
pub mod cli;
pub mod config;
pub mod config_file;
pub mod drain;
pub mod error;
pub mod http;
pub mod lifecycle;
pub mod load;
pub mod log;
pub mod metrics;
pub mod python;
pub mod reload;
pub mod server;
pub mod supervisor;
pub mod sys;
pub mod tls;
pub mod worker;
pub mod wsgi;
