//! One worker process, after fork: load the app on its Python threads, report to the master
//! through the boot pipe, then serve on its own tokio runtime until told to stop. Also what a
//! worker is handed: the sockets the master bound ([`BoundListener`]) and the app's settings
//! ([`app_settings`], from the validated config).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use crate::edge::config::{AppSpec, Bundled, Config};
use crate::http::occupancy::Occupancy;
use crate::http::server::{self, Listener, ServerSettings};
use crate::http::service::Shared;
use crate::observe::log;
use crate::process::lifecycle::{self, Lifecycle, Retire};
use crate::process::sys;
use crate::python::app::{AppSettings, AppSource};
use crate::python::{Pool, Preloaded};
use crate::wsgi::environ::EnvironRules;

/// Exit status of a worker that could not load the app; the master then stops (as gunicorn's
/// WORKER_BOOT_ERROR): restarting would fail the same way.
pub const BOOT_ERROR: i32 = 3;

/// How often a worker checks that its master is still alive.
const PARENT_CHECK: Duration = Duration::from_secs(1);

/// How often the timeout watchdog looks at the running jobs.
const TIMEOUT_CHECK: Duration = Duration::from_secs(1);

/// What the boot pipe carries when the app loaded.
pub const BOOT_OK: &str = "ok";

/// Run the worker; returns its exit status.
pub fn run(
    config: &Config,
    listeners: &[BoundListener],
    metrics: Option<&std::net::TcpListener>,
    tls: Option<Arc<rustls::ServerConfig>>,
    mut boot: std::io::PipeWriter,
    seat: Option<crate::http::occupancy::Seat>,
    preloaded: Option<Preloaded>,
) -> i32 {
    // The master's signals stay blocked while the app loads (the Python threads keep them
    // blocked for good): a TERM then is a graceful stop of a worker with nothing in flight,
    // taken once loading is done. The master KILLs a load that outlasts the graceful timeout.
    let (pool, main) = match Pool::start(app_settings(config), config.threads, preloaded) {
        Ok(started) => started,
        Err(e) => {
            e.log_traceback();
            let _ = boot.write_all(e.to_string().as_bytes());
            return BOOT_ERROR;
        }
    };
    let _ = boot.write_all(BOOT_OK.as_bytes());
    drop(boot);
    if let Ok(Some(sig)) = sys::wait_signal(&sys::STOP_SIGNALS, Duration::ZERO) {
        log::info(&format!(
            "worker (pid {}) stopping: signal {sig} arrived while it loaded the app",
            std::process::id()
        ));
        drop(main);
        pool.shutdown();
        return 0;
    }
    let Some(main) = main else {
        return serve_until_stopped(config, listeners, metrics, tls, seat, pool);
    };
    // --preload: the interpreter the master loaded belongs to this thread (the one that
    // forked), so this thread serves Python and the HTTP side gets a thread of its own.
    std::thread::scope(|scope| {
        let http = std::thread::Builder::new()
            .name("http".to_owned())
            .spawn_scoped(scope, move || {
                serve_until_stopped(config, listeners, metrics, tls, seat, pool)
            });
        match http {
            Ok(http) => {
                // Returns once the HTTP side has shut the pool's queue.
                main.run();
                http.join().unwrap_or(1)
            }
            Err(e) => {
                log::error(&format!("worker cannot start its HTTP thread: {e}"));
                1
            }
        }
    })
}

/// Serve on this thread's tokio runtime until told to stop, then shut the Python threads down;
/// returns the worker's exit status.
fn serve_until_stopped(
    config: &Config,
    listeners: &[BoundListener],
    metrics: Option<&std::net::TcpListener>,
    tls: Option<Arc<rustls::ServerConfig>>,
    seat: Option<crate::http::occupancy::Seat>,
    pool: Pool,
) -> i32 {
    let max_requests = config
        .max_requests
        .map(|(limit, jitter)| lifecycle::jittered(limit, jitter));
    let lifecycle = Arc::new(Lifecycle::new(max_requests));
    let dumper = pool.dumper();
    let shared = Arc::new(Shared {
        jobs: pool.sender(),
        occupancy: Occupancy::new(config.threads, seat),
        rules: EnvironRules {
            mount: config.mount.clone(),
            trusted: config.trusted_proxies.clone(),
        },
        limits: config.limits,
        timeouts: config.timeouts,
        lifecycle: Arc::clone(&lifecycle),
        statics: config.statics.clone(),
    });
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log::error(&format!("worker cannot start its runtime: {e}"));
            return 1;
        }
    };
    // Every request crosses from this thread to a Python thread and back. Under the default
    // policy each hand-off wakes the other thread, which preempts the sender at once: two
    // context switches per request when they share a core. Under SCHED_BATCH a woken thread
    // waits until the running one blocks, so each side works through what is queued first
    // (hello world: +60% on one core, BENCHMARKS.md). Failure (a seccomp filter) only costs
    // that speed.
    let _ = sys::batch_scheduling();
    let code = runtime.block_on(async {
        let listeners = match listeners.iter().map(BoundListener::to_tokio).collect() {
            Ok(l) => l,
            Err(e) => {
                log::error(&format!("worker cannot use the listening socket: {e}"));
                return 1;
            }
        };
        let settings = ServerSettings {
            limits: config.limits,
            timeouts: config.timeouts,
            max_connections: config.max_connections,
            proxy_protocol: config.proxy_protocol,
            tls,
        };
        let watchdog = tokio::spawn(watch_timeouts(Arc::clone(&shared)));
        let stack_dump = tokio::spawn(dump_on_timeout(
            Arc::clone(&lifecycle),
            dumper,
            config.timeouts.request,
        ));
        // Handlers first, then unblock: a signal pending since the load is delivered to them.
        let streams = stop_streams();
        if let Err(e) = sys::unblock_signals(&sys::MASTER_SIGNALS) {
            log::error(&format!("worker cannot unblock signals: {e}"));
            return 1;
        }
        let panics = pool.panics();
        let panic_watch = async {
            if let Ok(message) = panics.recv_async().await {
                log::error(&format!(
                    "a Python thread panicked while serving {message}; retiring this worker \
                     (the other threads finish their requests)"
                ));
                lifecycle.retire(Retire::Panic);
            }
        };
        let stop = async {
            tokio::select! {
                () = stop_signal(streams) => {}
                () = lifecycle.retired() => {}
                () = panic_watch => {}
            }
        };
        let metrics =
            match metrics.map(|l| l.try_clone().and_then(tokio::net::TcpListener::from_std)) {
                Some(Ok(l)) => Some(l),
                Some(Err(e)) => {
                    log::error(&format!("worker cannot use the metrics socket: {e}"));
                    None
                }
                None => None,
            };
        server::run(listeners, metrics, Arc::clone(&shared), settings, stop).await;
        watchdog.abort();
        if lifecycle.reason() == Some(Retire::Timeout) {
            // The stuck request's stack is in the log before the worker goes.
            let _ = stack_dump.await;
        } else {
            stack_dump.abort();
        }
        0
    });
    match lifecycle.reason() {
        // The wedged Python thread cannot be interrupted or joined (with --preload it is the
        // main thread, waiting for this one): exit here.
        Some(Retire::Timeout) => std::process::exit(lifecycle::TIMEOUT_EXIT),
        Some(Retire::Panic) => {
            drop(shared);
            drop(runtime);
            pool.shutdown();
            return lifecycle::PANIC_EXIT;
        }
        _ => {}
    }
    drop(shared);
    drop(runtime);
    pool.shutdown();
    code
}

/// Retire the worker when a job has outlived `--timeout`, including one whose response had
/// already begun (the service answers 504 itself while no head has been sent).
async fn watch_timeouts(shared: Arc<Shared>) {
    let Some(limit) = shared.timeouts.request else {
        return;
    };
    let mut tick = tokio::time::interval(TIMEOUT_CHECK);
    loop {
        tick.tick().await;
        if let Some((age, what)) = shared.occupancy.oldest()
            && age > limit + TIMEOUT_CHECK
        {
            log::error(&format!(
                "{what} has run {}s, past --timeout ({}s); replacing this worker",
                age.as_secs(),
                limit.as_secs()
            ));
            shared.lifecycle.retire(Retire::Timeout);
            return;
        }
    }
}

/// How long the watchdogs get to log the stuck request's stack.
const STACK_DUMP_WAIT: Duration = Duration::from_secs(5);

/// When the worker retires because a request outlived `--timeout`, log that request's Python
/// stack (see `python::watchdog`).
async fn dump_on_timeout(
    lifecycle: Arc<Lifecycle>,
    dumper: crate::python::watchdog::Dumper,
    limit: Option<Duration>,
) {
    lifecycle.retired().await;
    if let (Some(Retire::Timeout), Some(limit)) = (lifecycle.reason(), limit) {
        let _ = tokio::task::spawn_blocking(move || dumper.dump(limit, STACK_DUMP_WAIT)).await;
    }
}

/// The directories `--reload` watches: the app's own (or, for a module, the current one) and
/// the --pythonpath ones.
pub fn watched_dirs(config: &Config) -> Vec<std::path::PathBuf> {
    app_settings(config)
        .sys_path
        .into_iter()
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_dir())
        .collect()
}

/// The app's sys.path: its own directory (or, for a module, the current one) then --pythonpath.
pub fn app_settings(config: &Config) -> AppSettings {
    app_settings_of(
        &config.app,
        &config.pythonpath,
        config.bundle.as_ref(),
        config.workers > 1,
        config.hash_seed,
    )
}

/// [`app_settings`] from its parts: the app, `--pythonpath`, the bundle this executable is
/// (if it is one), whether more than one worker serves it (`wsgi.multiprocess`) and the hash
/// seed (`PYTHONHASHSEED`).
pub fn app_settings_of(
    app: &AppSpec,
    pythonpath: &[std::path::PathBuf],
    bundle: Option<&Bundled>,
    multiprocess: bool,
    hash_seed: Option<u32>,
) -> AppSettings {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let text = |p: &Path| p.to_string_lossy().into_owned();
    let first = match (bundle, app) {
        (Some(bundle), _) => bundle.sys_path.clone(),
        (None, AppSpec::File { path, .. }) => {
            vec![text(absolute(path).parent().unwrap_or(Path::new("")))]
        }
        (None, AppSpec::Module { .. }) => vec![text(&absolute(Path::new(".")))],
    };
    let sys_path = first
        .into_iter()
        .chain(pythonpath.iter().map(|p| text(&absolute(p))))
        .collect();
    let (source, callable) = match app {
        AppSpec::File { path, callable } => (AppSource::File(path.clone()), callable),
        AppSpec::Module { module, callable } => (AppSource::Module(module.clone()), callable),
    };
    AppSettings {
        source,
        callable: callable.clone(),
        sys_path,
        bundle: bundle.map(|b| text(&b.archive)),
        multiprocess,
        hash_seed,
    }
}

/// Listeners for TERM, INT and QUIT (inside the runtime), or `None` if they cannot be had.
fn stop_streams() -> Option<[tokio::signal::unix::Signal; 3]> {
    let streams = [
        SignalKind::terminate(),
        SignalKind::interrupt(),
        SignalKind::quit(),
    ]
    .map(signal);
    match streams {
        [Ok(term), Ok(int), Ok(quit)] => Some([term, int, quit]),
        _ => None,
    }
}

/// Completes on TERM, INT or QUIT, or when the master has gone.
async fn stop_signal(streams: Option<[tokio::signal::unix::Signal; 3]>) {
    let Some([mut term, mut int, mut quit]) = streams else {
        log::error("worker cannot listen for signals; stopping");
        return;
    };
    let parent = std::os::unix::process::parent_id();
    let mut tick = tokio::time::interval(PARENT_CHECK);
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            _ = quit.recv() => return,
            _ = tick.tick() => {
                if std::os::unix::process::parent_id() != parent {
                    log::warning("the master process has gone; this worker stops");
                    return;
                }
            }
        }
    }
}

/// A socket bound by the master (`supervisor`) and inherited by every worker.
pub enum BoundListener {
    Tcp(std::net::TcpListener),
    /// The socket and its path, removed at exit.
    Unix(std::os::unix::net::UnixListener, std::path::PathBuf),
}

impl BoundListener {
    pub fn fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Self::Tcp(l) => l.as_raw_fd(),
            Self::Unix(l, _) => l.as_raw_fd(),
        }
    }

    fn to_tokio(&self) -> std::io::Result<Listener> {
        Ok(match self {
            Self::Tcp(l) => Listener::Tcp(tokio::net::TcpListener::from_std(l.try_clone()?)?),
            Self::Unix(l, _) => Listener::Unix(tokio::net::UnixListener::from_std(l.try_clone()?)?),
        })
    }
}
