//! The master process: binds the listeners, forks the workers before any thread or runtime
//! exists, waits for each to load the app, restarts the ones that die, and stops them all
//! gracefully on TERM/INT/QUIT. HUP replaces the workers with fresh ones (new code is loaded)
//! and keeps the old ones if the new ones cannot load the app.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::edge::config::{Bind, Config};
use crate::observe::log;
use crate::process::sys::{self, ExitStatus, Forked};
use crate::process::worker::{self, BoundListener};
use crate::python::{LoadError, Preloaded};

/// Beyond the workers' own graceful timeout, how long the master waits before SIGKILL.
const KILL_MARGIN: Duration = Duration::from_secs(5);

/// How often the master wakes when no signal arrives.
const TICK: Duration = Duration::from_secs(1);

/// With --reload, how often it looks for changed files.
const RELOAD_TICK: Duration = Duration::from_millis(250);

/// While workers load the app, how often the master looks for signals between boot messages.
const BOOT_POLL: Duration = Duration::from_millis(10);

/// Why starting workers did not end with all of them serving.
enum Boot {
    /// A worker could not load the app (its one-line reason), or could not be started.
    Failed(String),
    /// TERM, INT or QUIT arrived while they loaded.
    Stop,
}

/// A worker's boot message: Ok once the app is loaded, or the worker's one-line error.
fn boot_verdict(message: &str) -> Result<(), String> {
    match message {
        worker::BOOT_OK => Ok(()),
        "" => Err("the worker exited while loading the app (see the log above)".to_owned()),
        error => Err(error.to_owned()),
    }
}

fn bind(binds: &[Bind], backlog: i32) -> anyhow::Result<Vec<BoundListener>> {
    binds
        .iter()
        .map(|bind| {
            let listener = match bind {
                Bind::Tcp(addr) => {
                    let l = std::net::TcpListener::bind(addr).with_context(|| {
                        format!("cannot listen on {addr} (is another server using it?)")
                    })?;
                    l.set_nonblocking(true)?;
                    BoundListener::Tcp(l)
                }
                Bind::Unix(path) => {
                    remove_stale_socket(path);
                    let l = UnixListener::bind(path)
                        .with_context(|| format!("cannot listen on unix:{}", path.display()))?;
                    l.set_nonblocking(true)?;
                    BoundListener::Unix(l, path.clone())
                }
            };
            // std binds with a backlog of 128; listen() again sets ours.
            sys::listen(listener.fd(), backlog).context("cannot set the listen backlog")?;
            Ok(listener)
        })
        .collect()
}

/// Sockets passed by systemd socket activation (`LISTEN_PID` is us, `LISTEN_FDS` counts them
/// from fd 3), or `None` when not socket-activated.
fn activated_listeners() -> anyhow::Result<Option<Vec<BoundListener>>> {
    let Some(count) = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<i32>().ok())
    else {
        return Ok(None);
    };
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .is_none_or(|pid| pid == std::process::id());
    if !for_us || count <= 0 {
        return Ok(None);
    }
    (0..count)
        .map(|i| {
            let fd = sys::SD_LISTEN_FDS_START + i;
            let inherited = sys::adopt_listen_fd(fd)
                .with_context(|| format!("LISTEN_FDS: fd {fd} is not a socket"))?;
            let listener = match inherited {
                sys::InheritedListener::Unix(l) => {
                    l.set_nonblocking(true)?;
                    // No path: the socket file is systemd's, not ours to remove at exit.
                    BoundListener::Unix(l, PathBuf::new())
                }
                sys::InheritedListener::Tcp(l) => {
                    l.set_nonblocking(true)?;
                    BoundListener::Tcp(l)
                }
            };
            Ok(listener)
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .map(Some)
}

/// A socket file left by an earlier run blocks bind; a regular file is never removed.
fn remove_stale_socket(path: &std::path::Path) {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

fn describe(listener: &BoundListener, tls: bool) -> String {
    match listener {
        BoundListener::Tcp(l) => match l.local_addr() {
            Ok(addr) if tls => format!("https://{addr}"),
            Ok(addr) => format!("http://{addr}"),
            Err(_) => "a TCP socket".to_owned(),
        },
        BoundListener::Unix(_, path) if path.as_os_str().is_empty() => {
            "a Unix socket from systemd".to_owned()
        }
        BoundListener::Unix(_, path) => format!("unix:{}", path.display()),
    }
}

struct Master<'a> {
    config: &'a Config,
    listeners: Vec<BoundListener>,
    /// `--metrics`' listener, served by the workers.
    metrics: Option<std::net::TcpListener>,
    /// The TLS configuration, built once before the workers fork.
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// Live workers: pid → worker number.
    workers: HashMap<libc::pid_t, usize>,
    /// Where workers publish their free Python threads, and which seat each live one has.
    board: &'static crate::http::occupancy::Board,
    seats: HashMap<libc::pid_t, usize>,
    /// Workers told to retire for their memory, not yet reaped.
    retiring: std::collections::HashSet<libc::pid_t>,
    /// `--preload`: the app loaded here, which every worker forks from.
    preloaded: Option<Preloaded>,
}

impl Master<'_> {
    /// Fork one worker; returns its pid and the read end of its boot pipe.
    fn spawn(&mut self, number: usize) -> anyhow::Result<(libc::pid_t, std::io::PipeReader)> {
        let (reader, writer) = std::io::pipe().context("cannot create a pipe for a worker")?;
        let seat =
            (0..crate::http::occupancy::BOARD_SEATS).find(|i| !self.seats.values().any(|s| s == i));
        if let Some(seat) = seat {
            self.board.clear(seat);
        }
        let forked = match &self.preloaded {
            Some(preloaded) => preloaded.fork(),
            // SAFETY: the master has a single thread: it forks its workers before any thread or
            // runtime exists, and waits for signals and boot pipes on this one thread.
            None => unsafe { sys::fork() },
        };
        match forked.context("cannot fork a worker process")? {
            Forked::Child => {
                drop(reader);
                let seat = seat.map(|index| crate::http::occupancy::Seat {
                    board: self.board,
                    index,
                });
                let preloaded = self.preloaded.take();
                let code = worker::run(
                    self.config,
                    &self.listeners,
                    self.metrics.as_ref(),
                    self.tls.clone(),
                    writer,
                    seat,
                    preloaded,
                );
                std::process::exit(code);
            }
            Forked::Parent(pid) => {
                drop(writer);
                self.workers.insert(pid, number);
                if let Some(seat) = seat {
                    self.seats.insert(pid, seat);
                }
                log::info(&format!("Booting worker {number} with pid {pid}"));
                Ok((pid, reader))
            }
        }
    }

    /// Start `numbers` workers and wait until all have loaded the app, staying responsive to
    /// signals meanwhile (see [`Master::await_boots`]).
    fn spawn_all(
        &mut self,
        numbers: impl Iterator<Item = usize>,
    ) -> Result<Vec<libc::pid_t>, Boot> {
        let mut started = Vec::new();
        for number in numbers {
            match self.spawn(number) {
                Ok(one) => started.push(one),
                Err(e) => {
                    let pids: Vec<libc::pid_t> = started.iter().map(|(pid, _)| *pid).collect();
                    self.stop(&pids, Duration::ZERO);
                    return Err(Boot::Failed(format!("{e:#}")));
                }
            }
        }
        let pids: Vec<libc::pid_t> = started.iter().map(|(pid, _)| *pid).collect();
        let outcome = self.await_boots(started);
        if outcome.is_err() {
            // Nothing is in flight in a worker that has not loaded the app: no grace needed.
            self.stop(&pids, Duration::ZERO);
        }
        outcome.map(|()| pids)
    }

    /// Read every boot pipe until each worker says it loaded the app (or why it could not),
    /// while taking the master's signals: TERM, INT or QUIT end the wait (the caller stops);
    /// HUP is logged and ignored. A worker still loading after `--timeout` (when set) counts
    /// as failed, as gunicorn treats a worker that does not check in.
    fn await_boots(
        &mut self,
        started: Vec<(libc::pid_t, std::io::PipeReader)>,
    ) -> Result<(), Boot> {
        use std::os::fd::AsRawFd;
        let deadline = self
            .config
            .timeouts
            .request
            .map(|t| (Instant::now() + t, t));
        let mut pending: Vec<(libc::pid_t, std::io::PipeReader, Vec<u8>)> = started
            .into_iter()
            .map(|(pid, reader)| (pid, reader, Vec::new()))
            .collect();
        let mut failure = None;
        while !pending.is_empty() {
            let fds: Vec<_> = pending.iter().map(|(_, r, _)| r.as_raw_fd()).collect();
            let ready = sys::poll_readable(&fds, BOOT_POLL)
                .map_err(|e| Boot::Failed(format!("cannot wait for the workers to load: {e}")))?;
            let mut finished = Vec::new();
            for (i, (_, reader, message)) in pending.iter_mut().enumerate() {
                if !ready[i] {
                    continue;
                }
                let mut buf = [0u8; 512];
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => finished.push(i),
                    Ok(n) => message.extend_from_slice(&buf[..n]),
                }
            }
            for i in finished.into_iter().rev() {
                let (_, _, message) = pending.swap_remove(i);
                if let Err(e) = boot_verdict(&String::from_utf8_lossy(&message)) {
                    failure.get_or_insert(e);
                }
            }
            match sys::wait_signal(&sys::MASTER_SIGNALS, Duration::ZERO) {
                Ok(Some(libc::SIGTERM | libc::SIGINT | libc::SIGQUIT)) => {
                    return Err(Boot::Stop);
                }
                Ok(Some(libc::SIGHUP)) => {
                    log::warning("HUP ignored: workers are still loading the app");
                }
                _ => {}
            }
            if let Some((at, limit)) = deadline
                && Instant::now() >= at
                && !pending.is_empty()
            {
                let late: Vec<String> = pending.iter().map(|(pid, _, _)| pid.to_string()).collect();
                return Err(Boot::Failed(format!(
                    "worker(s) {} still loading the app after --timeout ({}s); raise --timeout \
                     if the app needs longer to import",
                    late.join(", "),
                    limit.as_secs()
                )));
            }
        }
        failure.map_or(Ok(()), |e| Err(Boot::Failed(e)))
    }

    /// TERM `pids`, wait up to `grace` for them, then KILL what remains, and reap them (and
    /// only them: another worker that dies meanwhile is left for [`Master::replace_dead`]).
    fn stop(&mut self, pids: &[libc::pid_t], grace: Duration) {
        let signal = if grace.is_zero() {
            libc::SIGKILL
        } else {
            libc::SIGTERM
        };
        for &pid in pids {
            sys::kill(pid, signal);
        }
        let deadline = Instant::now() + grace + KILL_MARGIN;
        let mut left: Vec<libc::pid_t> = pids.to_vec();
        let mut killed = grace.is_zero();
        while !left.is_empty() {
            left.retain(|&pid| {
                let gone = sys::reap_pid(pid).is_some();
                if gone {
                    self.forget(pid);
                }
                !gone
            });
            if left.is_empty() {
                break;
            }
            if !killed && Instant::now() >= deadline {
                log::warning("workers did not stop in time; killing them");
                for &pid in &left {
                    sys::kill(pid, libc::SIGKILL);
                }
                killed = true;
            }
            let _ = sys::wait_signal(&[libc::SIGCHLD], Duration::from_millis(100));
        }
    }

    /// Reap dead workers and start replacements.
    fn replace_dead(&mut self) -> Result<(), Boot> {
        while let Some((pid, status)) = sys::reap() {
            let Some(number) = self.forget(pid) else {
                continue;
            };
            crate::observe::metrics::restarted();
            match status {
                ExitStatus::Code(worker::BOOT_ERROR) => {
                    return Err(Boot::Failed(format!(
                        "worker {number} (pid {pid}) could not load the app; stopping"
                    )));
                }
                ExitStatus::Code(0) => log::info(&format!(
                    "worker {number} (pid {pid}) retired; starting a new one"
                )),
                ExitStatus::Code(crate::process::lifecycle::PANIC_EXIT) => log::error(&format!(
                    "worker {number} (pid {pid}) stopped after a Python thread panicked (see the log above); starting a new one"
                )),
                ExitStatus::Code(crate::process::lifecycle::TIMEOUT_EXIT) => log::error(&format!(
                    "worker {number} (pid {pid}) stopped after a request timed out; starting a new one"
                )),
                ExitStatus::Code(c) => log::warning(&format!(
                    "worker {number} (pid {pid}) died (exit status {c}); starting a new one"
                )),
                ExitStatus::Signal(s) => log::warning(&format!(
                    "worker {number} (pid {pid}) died (signal {s}); starting a new one"
                )),
            }
            self.spawn_all(std::iter::once(number))
                .map_err(|e| match e {
                    Boot::Failed(e) => Boot::Failed(format!("cannot load the app: {e}")),
                    stop => stop,
                })?;
        }
        Ok(())
    }

    /// HUP: fresh workers load the app again; the old ones stop gracefully once they are up.
    /// With `--preload` the master loads it again first, in a fresh interpreter, and the new
    /// workers fork from that; the old app stays for respawns until they are up. A stop signal
    /// while the new ones load is passed on to the caller.
    fn reload(&mut self) -> Result<(), Boot> {
        let previous = if self.config.preload {
            log::info("Reloading: loading the app in the master (--preload)");
            match preload(self.config) {
                Ok(fresh) => self.preloaded.replace(fresh),
                Err(e) => {
                    log::error(&format!(
                        "cannot load the app: {e}; keeping the running workers"
                    ));
                    return Ok(());
                }
            }
        } else {
            None
        };
        log::info("Reloading: starting new workers");
        let old: Vec<libc::pid_t> = self.workers.keys().copied().collect();
        match self.spawn_all(0..self.config.workers) {
            Ok(_) => {
                drop(previous);
                log::info("Reload: new workers ready; stopping the old ones");
                self.stop(&old, self.config.timeouts.graceful);
                log::info("Reload done");
                Ok(())
            }
            Err(Boot::Failed(e)) => {
                if previous.is_some() {
                    self.preloaded = previous;
                }
                log::error(&format!(
                    "cannot load the app: {e}; keeping the running workers"
                ));
                Ok(())
            }
            Err(stop) => Err(stop),
        }
    }

    /// Drop a reaped worker from the books, emptying its seat; its number, if it was ours.
    fn forget(&mut self, pid: libc::pid_t) -> Option<usize> {
        self.retiring.remove(&pid);
        if let Some(seat) = self.seats.remove(&pid) {
            self.board.clear(seat);
        }
        self.workers.remove(&pid)
    }

    /// `--max-worker-memory`: a worker whose private memory passed the limit is told to stop
    /// gracefully (TERM: it finishes its requests and exits 0), and is then replaced.
    fn check_memory(&mut self) {
        let Some(limit) = self.config.max_worker_memory else {
            return;
        };
        let mib = |b: u64| b / (1024 * 1024);
        let over: Vec<(libc::pid_t, usize, u64)> = self
            .workers
            .iter()
            .filter(|(pid, _)| !self.retiring.contains(pid))
            .filter_map(|(&pid, &number)| {
                let used = sys::private_memory(pid).ok()?;
                (used > limit).then_some((pid, number, used))
            })
            .collect();
        for (pid, number, used) in over {
            log::warning(&format!(
                "worker {number} (pid {pid}) uses {} MiB of private memory, above \
                 --max-worker-memory ({} MiB); retiring it",
                mib(used),
                mib(limit)
            ));
            self.retiring.insert(pid);
            sys::kill(pid, libc::SIGTERM);
        }
    }

    /// Stop every worker gracefully.
    fn shutdown(&mut self) {
        log::info("Shutting down: waiting for requests in flight");
        let pids: Vec<libc::pid_t> = self.workers.keys().copied().collect();
        self.stop(&pids, self.config.timeouts.graceful);
        log::info("Stopped");
    }

    fn cleanup(&self) {
        if let Some(pid_file) = &self.config.pid_file {
            let _ = std::fs::remove_file(pid_file);
        }
        for listener in &self.listeners {
            if let BoundListener::Unix(_, path) = listener
                && !path.as_os_str().is_empty()
            {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// Run the master until it is told to stop.
pub fn run(config: &Config) -> anyhow::Result<()> {
    let listeners = match activated_listeners()? {
        Some(listeners) => {
            log::info(&format!(
                "Using {} socket(s) passed by systemd (LISTEN_FDS); --bind is ignored",
                listeners.len()
            ));
            listeners
        }
        None => bind(&config.binds, config.backlog)?,
    };
    if let Some(pid_file) = &config.pid_file {
        std::fs::write(pid_file, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write the pid file {}", pid_file.display()))?;
    }
    // Signals are taken synchronously: blocked here, waited for in the loop, and unblocked in
    // each worker right after fork.
    sys::block_signals(&sys::MASTER_SIGNALS).context("cannot block signals")?;
    log::info(&format!(
        "rwsgi {} serving {} (Python 3.14 on RustPython)",
        env!("CARGO_PKG_VERSION"),
        config.app.display()
    ));
    for listener in &listeners {
        log::info(&format!(
            "Listening at: {} ({})",
            describe(listener, config.tls.is_some()),
            std::process::id()
        ));
    }
    if let Some(mount) = &config.mount {
        log::info(&format!("Mounted at {mount}"));
    }
    log::info(&format!(
        "Using {} worker process{} with {} Python thread{} each",
        config.workers,
        if config.workers == 1 { "" } else { "es" },
        config.threads,
        if config.threads == 1 { "" } else { "s" },
    ));
    let metrics = match config.metrics {
        Some(addr) => {
            crate::observe::metrics::enable().context("cannot map the shared metrics counters")?;
            let l = std::net::TcpListener::bind(addr)
                .with_context(|| format!("cannot listen for --metrics on {addr}"))?;
            l.set_nonblocking(true)?;
            if let Ok(local) = l.local_addr() {
                log::info(&format!("Metrics at: http://{local}/metrics"));
            }
            Some(l)
        }
        None => None,
    };
    let tls = config
        .tls
        .as_ref()
        .map(crate::http::tls::server_config)
        .transpose()
        .context("cannot set up TLS")?;
    let board =
        crate::http::occupancy::Board::map().context("cannot map the shared admission board")?;
    let preloaded = if config.preload {
        log::info("Loading the app in the master (--preload)");
        Some(preload(config).map_err(|e| anyhow::anyhow!("cannot load the app: {e}"))?)
    } else {
        None
    };
    let mut master = Master {
        config,
        metrics,
        tls,
        listeners,
        workers: HashMap::new(),
        board,
        seats: HashMap::new(),
        retiring: std::collections::HashSet::new(),
        preloaded,
    };
    let outcome = supervise(&mut master);
    master.cleanup();
    outcome
}

/// `--preload`: load the app in this process (the master), on this thread. The app's
/// traceback goes to the log; the error is its one line.
fn preload(config: &Config) -> Result<Preloaded, LoadError> {
    Preloaded::load(&worker::app_settings(config)).inspect_err(LoadError::log_traceback)
}

fn supervise(master: &mut Master<'_>) -> anyhow::Result<()> {
    let mut watcher = if master.config.reload {
        let roots = crate::process::worker::watched_dirs(master.config);
        let w = crate::process::reload::Watcher::new(&roots)
            .context("--reload cannot watch the app's files")?;
        log::info("Watching the app's files (--reload)");
        Some(w)
    } else {
        None
    };
    match master.spawn_all(0..master.config.workers) {
        Ok(_) => {}
        Err(Boot::Failed(e)) => bail!("cannot load the app: {e}"),
        Err(Boot::Stop) => {
            master.shutdown();
            return Ok(());
        }
    }
    log::info("Ready");
    loop {
        let tick = if watcher.is_some() { RELOAD_TICK } else { TICK };
        let signal = sys::wait_signal(&sys::MASTER_SIGNALS, tick).context("waiting for signals")?;
        let mut outcome = Ok(());
        if let Some(changed) = watcher
            .as_mut()
            .and_then(crate::process::reload::Watcher::changed)
        {
            log::info(&format!("{} changed", changed.display()));
            outcome = master.reload();
            // Changes made while the new workers loaded are already in the new code.
            let _ = watcher
                .as_mut()
                .and_then(crate::process::reload::Watcher::changed);
        }
        if outcome.is_ok() {
            outcome = match signal {
                Some(libc::SIGTERM | libc::SIGINT | libc::SIGQUIT) => Err(Boot::Stop),
                Some(libc::SIGHUP) => master.reload(),
                _ => {
                    master.check_memory();
                    master.replace_dead()
                }
            };
        }
        match outcome {
            Ok(()) => {}
            Err(Boot::Stop) => {
                master.shutdown();
                return Ok(());
            }
            Err(Boot::Failed(e)) => {
                let pids: Vec<libc::pid_t> = master.workers.keys().copied().collect();
                master.stop(&pids, master.config.timeouts.graceful);
                bail!("{e}");
            }
        }
    }
}
