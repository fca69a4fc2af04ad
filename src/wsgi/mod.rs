//! PEP 3333 translation in pure Rust (no hyper, no Python): the environ from a request head, the
//! response head from the app's status and headers, and the buffering behind `wsgi.input`. Most
//! unit tests live here.

pub mod environ;
pub mod forwarded;
pub mod input;
pub mod response;
