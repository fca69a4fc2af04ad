//! The few raw Unix calls the process model needs (fork, wait, signal masks, kill, pread,
//! inotify, the environment), each wrapped once, with its `// SAFETY:` reason, so the rest of
//! the crate has no `unsafe` block of its own. What is left outside states a promise, never
//! performs a raw call: `unsafe { sys::fork() }` (the caller says why its process has a single
//! thread there) and `unsafe impl` [`SharedZeroed`] beside each type mapped by
//! [`shared_zeroed`]. (`python/expat.rs`, the Python side's binding to libexpat, is the one
//! foreign-function interface kept beside its user.)

use std::io;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Signals the master waits for synchronously; they stay blocked in the master and are
/// unblocked in each worker right after fork.
pub const MASTER_SIGNALS: [libc::c_int; 5] = [
    libc::SIGCHLD,
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
];

/// The signals that stop a worker gracefully.
pub const STOP_SIGNALS: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGQUIT];

/// A type that [`shared_zeroed`] may map.
///
/// # Safety
///
/// All-zero bytes are a valid value of the type, and the type is sound to share between
/// processes that fork from one another: plain integers and atomics only (`repr(C)`), no
/// pointer, reference, lock or other process-local state, no `Drop` that matters (the mapping
/// is never freed), and an alignment of at most a page.
pub unsafe trait SharedZeroed: Sync {}

/// The page size the mapping is aligned to, at least.
const PAGE: usize = 4096;

/// A zeroed `T` in anonymous memory shared with every process forked afterwards (it is never
/// freed).
pub fn shared_zeroed<T: SharedZeroed>() -> io::Result<&'static T> {
    const { assert!(std::mem::align_of::<T>() <= PAGE) };
    let len = std::mem::size_of::<T>().max(1);
    // SAFETY: a fresh anonymous shared mapping; the kernel zero-fills it, page-aligned.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the mapping is large enough, aligned to a page (enough for `T`, as asserted),
    // zeroed (a valid `T`, as `SharedZeroed` promises), shared across fork only as
    // `SharedZeroed` allows, and never unmapped.
    Ok(unsafe { &*ptr.cast::<T>() })
}

/// The first descriptor systemd passes to a socket-activated service.
pub const SD_LISTEN_FDS_START: RawFd = 3;

/// A listening socket handed to this process (socket activation).
pub enum InheritedListener {
    Unix(std::os::unix::net::UnixListener),
    Tcp(std::net::TcpListener),
}

/// The listening socket systemd passed as descriptor `fd` (from [`SD_LISTEN_FDS_START`]; the
/// caller has checked `LISTEN_FDS` and `LISTEN_PID`), owned from now on. Each descriptor is
/// adopted at most once: a second call for it fails, so it never has two owners.
pub fn adopt_listen_fd(fd: RawFd) -> io::Result<InheritedListener> {
    static ADOPTED: std::sync::Mutex<std::collections::BTreeSet<RawFd>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let unix = is_unix_socket(fd)?;
    if fd < SD_LISTEN_FDS_START {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a socket-activation descriptor",
        ));
    }
    let mut adopted = ADOPTED.lock().map_err(|_| io::Error::other("poisoned"))?;
    if !adopted.insert(fd) {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "descriptor already adopted",
        ));
    }
    // Both arms: systemd passed this descriptor to us to own; it is a socket (checked above),
    // nothing else in the process uses it, and the set above lets it be adopted only once.
    Ok(if unix {
        // SAFETY: as above, and a Unix-domain socket (checked above).
        InheritedListener::Unix(unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) })
    } else {
        // SAFETY: as above, and an internet socket (checked above).
        InheritedListener::Tcp(unsafe { std::net::TcpListener::from_raw_fd(fd) })
    })
}

/// How many threads this process has (`/proc/self/task`).
fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// Set the environment variable `name` to `value`. Another thread could read the environment
/// meanwhile, so this is sound only while the process has a single thread, which it checks:
/// with more than one thread (or where `/proc` cannot tell) it fails and sets nothing.
pub fn set_env(name: &str, value: &str) -> io::Result<()> {
    if thread_count()? != 1 {
        return Err(io::Error::other(
            "the environment is set only while the process has a single thread",
        ));
    }
    // SAFETY: the process has a single thread (checked above, and only this thread could start
    // another), so nothing reads or writes the environment concurrently.
    unsafe { std::env::set_var(name, value) };
    Ok(())
}

/// A new non-blocking, close-on-exec inotify descriptor.
pub fn inotify_init() -> io::Result<OwnedFd> {
    // SAFETY: inotify_init1 returns a new descriptor or -1.
    let raw = cvt(unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) })?;
    // SAFETY: `raw` is a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Watch `path` for the events in `mask` on the inotify descriptor `fd`; the watch descriptor.
pub fn inotify_add_watch(fd: BorrowedFd<'_>, path: &std::ffi::CStr, mask: u32) -> io::Result<i32> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid descriptor and a NUL-terminated path that outlives the call.
    cvt(unsafe { libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), mask) })
}

/// read(2) from `fd` into `buf`: the bytes read (0 at the end).
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: reading at most `buf.len()` bytes into our own buffer from a valid descriptor.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// Whether `fd` is a Unix-domain socket (else an IP one); an error if it is no socket.
pub fn is_unix_socket(fd: RawFd) -> io::Result<bool> {
    // SAFETY: sockaddr_storage is plain data large enough for any address; len says its size.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: valid pointers to our own storage and length.
    cvt(unsafe { libc::getsockname(fd, (&raw mut addr).cast(), &mut len) })?;
    Ok(i32::from(addr.ss_family) == libc::AF_UNIX)
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn signal_set(signals: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a plain C struct we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

fn set_signal_mask(how: libc::c_int, signals: &[libc::c_int]) -> io::Result<()> {
    let set = signal_set(signals);
    // SAFETY: valid set pointer; a null old-set pointer is allowed.
    let ret = unsafe { libc::pthread_sigmask(how, &set, std::ptr::null_mut()) };
    if ret != 0 {
        return Err(io::Error::from_raw_os_error(ret));
    }
    Ok(())
}

/// Block `signals` for this thread (the master is single-threaded).
pub fn block_signals(signals: &[libc::c_int]) -> io::Result<()> {
    set_signal_mask(libc::SIG_BLOCK, signals)
}

/// Unblock `signals` (in a freshly forked worker).
pub fn unblock_signals(signals: &[libc::c_int]) -> io::Result<()> {
    set_signal_mask(libc::SIG_UNBLOCK, signals)
}

/// Wait up to `timeout` for one of `signals` (which must be blocked). `None` on timeout.
pub fn wait_signal(
    signals: &[libc::c_int],
    timeout: std::time::Duration,
) -> io::Result<Option<libc::c_int>> {
    let set = signal_set(signals);
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
    };
    // SAFETY: valid set and timespec; a null siginfo pointer is allowed.
    let ret = unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &ts) };
    match ret {
        -1 => {
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(None),
                _ => Err(err),
            }
        }
        sig => Ok(Some(sig)),
    }
}

/// What `fork` returned.
pub enum Forked {
    Child,
    Parent(libc::pid_t),
}

/// Fork the process.
///
/// # Safety
///
/// The process has a single thread: the child gets only the calling thread, so a lock another
/// thread held (the allocator's, the environment's, a runtime's) would stay held forever and
/// the child's state would not be whole.
pub unsafe fn fork() -> io::Result<Forked> {
    // SAFETY: the caller guarantees a single-threaded process, so the child's state is whole.
    let pid = cvt(unsafe { libc::fork() })?;
    Ok(if pid == 0 {
        Forked::Child
    } else {
        Forked::Parent(pid)
    })
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Signal(i32),
}

/// Reap one exited child without blocking.
pub fn reap() -> Option<(libc::pid_t, ExitStatus)> {
    reap_child(-1)
}

/// Reap `pid` if it has exited, without blocking; other children are left alone.
pub fn reap_pid(pid: libc::pid_t) -> Option<ExitStatus> {
    reap_child(pid).map(|(_, how)| how)
}

fn reap_child(which: libc::pid_t) -> Option<(libc::pid_t, ExitStatus)> {
    let mut status = 0;
    // SAFETY: valid pointer to a c_int.
    let pid = unsafe { libc::waitpid(which, &mut status, libc::WNOHANG) };
    if pid <= 0 {
        return None;
    }
    Some((pid, exit_status(status)))
}

/// Wait for `pid` to exit and reap it.
pub fn wait_pid(pid: libc::pid_t) -> io::Result<ExitStatus> {
    let mut status = 0;
    loop {
        // SAFETY: valid pointer to a c_int.
        match cvt(unsafe { libc::waitpid(pid, &mut status, 0) }) {
            Ok(_) => return Ok(exit_status(status)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn exit_status(status: libc::c_int) -> ExitStatus {
    if libc::WIFSIGNALED(status) {
        ExitStatus::Signal(libc::WTERMSIG(status))
    } else {
        ExitStatus::Code(libc::WEXITSTATUS(status))
    }
}

/// Wait up to `timeout` until one of `fds` is readable (or closed at the other end); returns
/// which are. Interrupted waits report none.
pub fn poll_readable(fds: &[RawFd], timeout: std::time::Duration) -> io::Result<Vec<bool>> {
    let mut polled: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let millis = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    let count = libc::nfds_t::try_from(polled.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many descriptors"))?;
    // SAFETY: `polled` is a valid array of `count` pollfd structures that outlives the call.
    let ret = unsafe { libc::poll(polled.as_mut_ptr(), count, millis) };
    if ret == -1 {
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(polled.iter().map(|p| p.revents != 0).collect())
}

/// A process's private memory in bytes (USS: its private clean and dirty pages, as
/// /proc/PID/smaps_rollup counts them).
pub fn private_memory(pid: libc::pid_t) -> io::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))?;
    let kib: u64 = text
        .lines()
        .filter(|l| l.starts_with("Private_Clean:") || l.starts_with("Private_Dirty:"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    Ok(kib * 1024)
}

/// What the process does on a signal, as sigaction(2) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Default,
    Ignored,
    /// A handler is installed.
    Handled,
}

/// The current disposition of `signal`.
pub fn signal_disposition(signal: libc::c_int) -> io::Result<Disposition> {
    // SAFETY: sigaction is plain data; all-zero is a valid value to be overwritten.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only reads the current one into `old`, which we own.
    cvt(unsafe { libc::sigaction(signal, std::ptr::null(), &mut old) })?;
    Ok(match old.sa_sigaction {
        libc::SIG_DFL => Disposition::Default,
        libc::SIG_IGN => Disposition::Ignored,
        _ => Disposition::Handled,
    })
}

/// Send `signal` to `pid`; a process already gone is not an error.
pub fn kill(pid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill has no memory effects.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Set the backlog of a listening socket (Linux accepts a second listen() to change it).
pub fn listen(fd: RawFd, backlog: i32) -> io::Result<()> {
    // SAFETY: listen has no memory effects; a bad fd is reported as an error.
    cvt(unsafe { libc::listen(fd, backlog) }).map(drop)
}

/// A close-on-exec duplicate of `fd`, owned.
pub fn dup(fd: RawFd) -> io::Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) returns a new descriptor we then own alone.
    let new = cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) })?;
    // SAFETY: `new` is a fresh, valid descriptor owned by nobody else.
    Ok(unsafe { std::fs::File::from_raw_fd(new) })
}

/// sendfile(2): up to `count` bytes of `file` from `*offset` (advanced) to `socket`.
pub fn sendfile(socket: RawFd, file: RawFd, offset: &mut u64, count: usize) -> io::Result<usize> {
    let mut off = libc::off_t::try_from(*offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file offset too large"))?;
    // SAFETY: valid descriptors are the caller's; `off` is a valid off_t we own.
    let n = unsafe { libc::sendfile(socket, file, &mut off, count) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    *offset = u64::try_from(off).unwrap_or(*offset);
    Ok(n as usize)
}

/// Read up to `len` bytes of `fd` at `offset`, retrying on EINTR. Empty at end of file.
pub fn pread(fd: RawFd, len: usize, offset: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let offset = libc::off_t::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file offset too large"))?;
    loop {
        // SAFETY: buf is valid for len bytes; fd is the caller's open descriptor.
        let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), len, offset) };
        if n >= 0 {
            buf.truncate(n as usize);
            return Ok(buf);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Put the calling thread under SCHED_BATCH: when another thread wakes it, it waits for the
/// running thread to block or use up its slice instead of preempting it (no privilege needed).
pub fn batch_scheduling() -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; `param` is a valid sched_param for the call.
    cvt(unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &raw const param) }).map(drop)
}

/// Turn transparent huge pages off for this process and the processes it forks.
pub fn disable_transparent_huge_pages() -> io::Result<()> {
    // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments and touches no memory of ours.
    cvt(unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) }).map(drop)
}

/// Fill `buf` from the kernel's random generator (getrandom(2), which needs no /dev/urandom:
/// a FROM scratch image has none).
pub fn fill_random(buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: getrandom writes at most `rest.len()` bytes into `rest`, which we own.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        match usize::try_from(n) {
            Ok(n) => filled += n,
            Err(_) => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}
