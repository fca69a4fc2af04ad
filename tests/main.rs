//! rwsgi's integration tests: one binary (each extra one would re-link RustPython), every test
//! spoken to with raw HTTP bytes on 127.0.0.1: a real `rwsgi` process, or (`in_process`)
//! `server::run` in this process with Rust threads in place of the Python ones.

mod common;

mod app_errors;
mod behind_nginx;
mod check;
mod cli;
mod compat;
mod deploy;
mod frameworks;
mod hidden_python;
mod http1;
mod in_process;
mod operations;
mod pep3333;
mod pip;
mod preload;
mod process;
mod services;
mod static_files;
mod tls;
