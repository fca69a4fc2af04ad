//! The process model: the master and its workers. Its modules sit on different layers of the
//! crate docs' table: [`sys`] (the raw Unix calls, each `unsafe` block wrapped there once) is
//! layer 0; [`lifecycle`] (why a worker retires) is layer 2, beside the observe modules;
//! [`supervisor`] (the master), [`worker`] (one worker process) and [`reload`] (`--reload`)
//! are the edge, layer 5.

pub mod lifecycle;
pub mod reload;
pub mod supervisor;
pub mod sys;
pub mod worker;
