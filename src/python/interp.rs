//! Builds one interpreter: RustPython with its standard library frozen in (nothing is read from
//! disk but the app), our `pylib/` frozen in, and the native `_rwsgi` module.

use rustpython_vm::{Interpreter, InterpreterBuilder, Settings, common::rc::PyRc};

use super::native;

/// A new interpreter with `sys_path` as sys.path (after the frozen stdlib).
pub fn build(sys_path: Vec<String>) -> Interpreter {
    // Python's ssl module (RustPython's rustls backend) uses the process-wide default crypto
    // provider and panics without one: ring, the provider the server's own TLS uses.
    static CRYPTO: std::sync::Once = std::sync::Once::new();
    CRYPTO.call_once(|| {
        use rustls::crypto::ring;
        let ext = rustpython_stdlib::ssl::providers::CryptoExt {
            all_cipher_suites: Some(ring::ALL_CIPHER_SUITES),
            default_cipher_suites: Some(ring::DEFAULT_CIPHER_SUITES),
            all_kx_groups: Some(ring::ALL_KX_GROUPS),
            any_supported_key: Some(ring::sign::any_supported_type),
            ticketer: ring::Ticketer::new,
        };
        // Err only when a provider is already installed, which is as good.
        let _ = rustpython_stdlib::ssl::providers::CryptoExt::set_provider(
            ring::default_provider(),
            ext,
        );
    });
    let mut settings = Settings::default();
    settings.path_list = sys_path;
    // SIGINT and SIGTERM belong to the server, not to the app.
    settings.install_signal_handlers = false;
    settings.argv = vec!["rwsgi".to_owned()];
    // The host's PYTHON* variables describe some other Python, not this one.
    settings.ignore_environment = true;
    settings.import_site = false;
    let builder = InterpreterBuilder::new().settings(settings);
    let stdlib = rustpython_stdlib::stdlib_module_defs(&builder.ctx);
    let rwsgi = native::module_def(&builder.ctx);
    builder
        .add_native_modules(&stdlib)
        .add_native_module(rwsgi)
        .add_frozen_modules(rustpython_pylib::FROZEN_STDLIB)
        .add_frozen_modules(rustpython_vm::py_freeze!(dir = "../../pylib"))
        .init_hook(|vm| {
            // As the rustpython binary does for a frozen stdlib: sys._stdlib_dir names where it
            // came from, informational only.
            if let Some(state) = PyRc::get_mut(&mut vm.state) {
                state.config.paths.stdlib_dir = Some(rustpython_pylib::LIB_PATH.to_owned());
            }
        })
        .build()
}
