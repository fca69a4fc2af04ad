//! The HTTP side of a request (tokio + hyper, never Python): [`guard`] checks the request
//! framing before hyper parses it (and reads a [`proxy_protocol`] header), within the
//! [`limits`]; [`connection`] holds what crosses around hyper between the guard, the service
//! and the writer; [`service`] turns a request into a job for the Python threads and the
//! replies into a response; [`body`] streams the reply as the response body and writes the
//! access-log line; [`error`] maps the failures that never reach the app to status codes;
//! [`static_files`] serves `--static` directories; [`zero_copy`] sends file bodies with
//! sendfile(2). `fuzz` (tests only) runs generated requests through all of it.
//!
//! Around them, the worker's side of HTTP: [`server`] (the accept loop), [`drain`] (the graceful
//! drain), [`occupancy`] (admission by free Python threads) and [`tls`] (the rustls configuration).
//! All of it is the HTTP layer (layer 4 of the crate docs' table); it never names RustPython.

pub mod body;
pub mod connection;
pub mod drain;
pub mod error;
#[cfg(test)]
mod fuzz;
pub mod guard;
pub mod limits;
pub mod occupancy;
pub mod proxy_protocol;
pub mod server;
pub mod service;
pub mod static_files;
pub mod tls;
pub mod zero_copy;
