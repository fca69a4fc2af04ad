//! Builds one interpreter: RustPython with its standard library frozen in (nothing is read from
//! disk but the app), our `pylib/` frozen in, the native `_rwsgi` module, and the fixes of
//! `patch` applied before anything else runs.

use rustpython_vm::{Interpreter, InterpreterBuilder, Settings, common::rc::PyRc};

use super::{accel, native, patch, user_db};

/// CPython's UTF-8 mode (PEP 540), which rwsgi always uses unless the user opts out with
/// `PYTHONUTF8=0` under a real locale that is not UTF-8. A server started with no locale (a
/// FROM scratch image, Kubernetes) would otherwise encode stdio and `open()` as ASCII, and an
/// app's `print("caf\u{e9}")` would fail; CPython coerces that C locale to UTF-8 (PEP 538).
fn utf8_mode() -> i8 {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if var("PYTHONUTF8").as_deref() != Some("0") {
        return 1;
    }
    let locale = var("LC_ALL")
        .or_else(|| var("LC_CTYPE"))
        .or_else(|| var("LANG"));
    match locale {
        None => 1,
        Some(l) if l == "C" || l == "POSIX" => 1,
        Some(l) => {
            let l = l.to_ascii_lowercase();
            i8::from(l.contains("utf-8") || l.contains("utf8"))
        }
    }
}

/// What a python command line sets beyond sys.path (`rwsgi python -X ... -W ... -O`); the
/// server sets none of it.
#[derive(Debug, Default, Clone)]
pub struct Flags {
    /// `-X` options, `name` or `name=value`.
    pub xoptions: Vec<String>,
    /// `-W` warning filters.
    pub warnoptions: Vec<String>,
    /// How many `-O`.
    pub optimize: u8,
    /// The interpreter owns the process's signals, as a python command line does (SIGINT
    /// raises KeyboardInterrupt); in the server they belong to the server.
    pub signals: bool,
    /// `-u` or `PYTHONUNBUFFERED`: stdout and stderr unbuffered.
    pub unbuffered: bool,
    /// sys.flags that change nothing else here: `-b`, `-v` (counted), `-q`, `-d`, `-P`.
    pub bytes_warning: u8,
    pub verbose: u8,
    pub quiet: bool,
    pub debug: bool,
    pub safe_path: bool,
    /// `PYTHONHASHSEED` as a number: str and bytes hashes are the same in every run (and
    /// process); `None`, random.
    pub hash_seed: Option<u32>,
}

/// `PYTHONHASHSEED` as python takes it: unset, empty or `random` is `None` (a random seed),
/// an integer in [0, 4294967295] is that seed; anything else is refused, as python refuses
/// it (at start, with this message).
pub fn hash_seed_from_env() -> Result<Option<u32>, String> {
    let Some(value) = std::env::var_os("PYTHONHASHSEED") else {
        return Ok(None);
    };
    let value = value.to_string_lossy();
    if value.is_empty() || value == "random" {
        return Ok(None);
    }
    value.parse::<u32>().map(Some).map_err(|_| {
        format!(
            "PYTHONHASHSEED must be \"random\" or an integer in range [0; 4294967295], not `{value}`"
        )
    })
}

/// A new interpreter with `sys_path` as sys.path (after the frozen stdlib), hashing with
/// `hash_seed` (see [`hash_seed_from_env`]).
pub fn build(sys_path: Vec<String>, hash_seed: Option<u32>) -> Interpreter {
    build_with(
        sys_path,
        &Flags {
            hash_seed,
            ..Flags::default()
        },
    )
}

/// `build`, with a python command line's flags.
pub fn build_with(sys_path: Vec<String>, flags: &Flags) -> Interpreter {
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
    // In the server, SIGINT and SIGTERM belong to the server, not to the app.
    settings.install_signal_handlers = flags.signals;
    settings.argv = vec!["rwsgi".to_owned()];
    // The host's PYTHON* variables describe some other Python, not this one.
    settings.ignore_environment = true;
    settings.import_site = false;
    settings.utf8_mode = utf8_mode();
    settings.optimize = flags.optimize;
    settings.bytes_warning = u64::from(flags.bytes_warning);
    settings.verbose = flags.verbose;
    settings.quiet = flags.quiet;
    settings.debug = u8::from(flags.debug);
    settings.safe_path = flags.safe_path;
    settings.hash_seed = flags.hash_seed;
    settings.buffered_stdio = !flags.unbuffered;
    settings.warnoptions = flags.warnoptions.clone();
    for option in &flags.xoptions {
        let (name, value) = match option.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (option.as_str(), None),
        };
        match (name, value.as_deref()) {
            ("utf8", None | Some("1")) => settings.utf8_mode = 1,
            ("utf8", Some("0")) => settings.utf8_mode = 0,
            ("dev", None) => settings.dev_mode = true,
            ("int_max_str_digits", Some(n)) => {
                if let Ok(n) = n.parse() {
                    settings.int_max_str_digits = n;
                }
            }
            _ => {}
        }
        settings.xoptions.push((name.to_owned(), value));
    }
    let builder = InterpreterBuilder::new().settings(settings);
    let stdlib = rustpython_stdlib::stdlib_module_defs(&builder.ctx);
    // Ours replace RustPython's modules of the same names (later definitions win).
    let ours = [
        native::module_def(&builder.ctx),
        user_db::pwd_module_def(&builder.ctx),
        user_db::grp_module_def(&builder.ctx),
        accel::markupsafe_speedups_def(&builder.ctx),
    ];
    let interp = builder
        .add_native_modules(&stdlib)
        .add_native_modules(&ours)
        .add_frozen_modules(rustpython_pylib::FROZEN_STDLIB)
        .add_frozen_modules(rustpython_vm::py_freeze!(dir = "../../pylib"))
        .init_hook(|vm| {
            // As the rustpython binary does for a frozen stdlib: sys._stdlib_dir names where it
            // came from, informational only.
            if let Some(state) = PyRc::get_mut(&mut vm.state) {
                state.config.paths.stdlib_dir = Some(rustpython_pylib::LIB_PATH.to_owned());
            }
        })
        .build();
    interp.enter(|vm| {
        if let Err(exc) = patch::install(vm) {
            crate::observe::log::error(&format!(
                "a CPython-compatibility fix could not be installed: {}",
                super::call::exception_text(vm, &exc).trim_end()
            ));
        }
    });
    interp
}
