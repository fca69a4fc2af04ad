//! The edge (layer 5 of the crate docs' table): the only code that knows the command line. It
//! owns [`cli`] (the clap structs), [`config`] (the validated settings), [`config_file`]
//! (`--config`), [`bundle`] (bundled executables), [`check`] (`rwsgi check`, `run --check`) and
//! [`python_cmdline`] (python's own command line, for `rwsgi python`).
//! Within it, `config` uses `cli` (never the reverse) and `bundle` uses `config`.

pub mod bundle;
pub mod check;
pub mod cli;
pub mod config;
pub mod config_file;
pub mod python_cmdline;
