//! The Python side, and the only code that names RustPython types (with `pylib/`).
//!
//! It takes [`Job`](crate::job::Job)s from the HTTP side and answers each with
//! [`Reply`](crate::job::Reply)s, as the contract in [`crate::job`] says; everything else it
//! takes is plain values (settings, paths, options) that the edge builds.

pub mod accel;
pub mod app;
pub mod bundler;
pub mod call;
pub mod check;
pub mod convert;
pub mod expat;
pub mod interp;
pub mod native;
pub mod patch;
pub mod pool;
pub mod preload;
pub mod script;
pub mod start_response;
pub mod user_db;
pub mod watchdog;

pub use app::LoadError;
pub use pool::{MainThread, Pool};
pub use preload::Preloaded;
