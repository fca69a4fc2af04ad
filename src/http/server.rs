//! The accept loop of one worker: hyper connections on the listeners the master bound (HTTP/1.1
//! through the framing guard; HTTP/2 over TLS by ALPN or as h2c with prior knowledge), and the
//! graceful drain when the worker is told to stop (no new connections; requests in
//! flight finish; idle keep-alive connections close).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::http::connection::{Admission, Connection, Requests};
use crate::http::drain::{Drain, Tracked};
use crate::http::guard::GuardedIo;
use crate::http::limits::{Limits, Timeouts};
use crate::http::service::{self, Shared};
use crate::http::zero_copy::ZeroCopy;
use crate::observe::log;
use crate::wsgi::environ::ConnInfo;

/// How long a new connection keeps its worker slot before its first request is queued.
const RESERVATION_GRACE: Duration = Duration::from_millis(100);

/// When the worker stops, how long a connection that has sent nothing yet may take to send its
/// first request before it is closed.
/// Two seconds: on a loaded machine a client may be descheduled for over a second between
/// connecting and sending (the reload test saw it at one).
const FIRST_REQUEST_GRACE: Duration = Duration::from_secs(2);

/// How often a worker with no free Python thread looks at its waiting connections, at the
/// longest (see `admit`): it also looks each time one of its jobs ends.
const ADMISSION_WAIT: Duration = Duration::from_millis(5);

/// How long a connection must have been waiting while every worker was busy before a busy
/// worker takes it: a worker that frees a thread within this time takes it instead (a
/// sequential client's next connection arrives in the moment the last response leaves).
const ALL_BUSY_WAIT: Duration = Duration::from_millis(15);

/// How long a connection waits before a busy worker takes it even though another worker shows
/// a free thread (one that does not accept: at `--max-connections`, or stalled).
const STALLED_WAIT: Duration = Duration::from_secs(1);

/// Connections a busy worker holds that have not sent their first request, at most, when it
/// takes one ahead while no other worker has a free thread and its own jobs are young (see
/// `admit`).
const LOOKAHEAD: usize = 1;

/// A worker's requests in flight count as young (it is about to be free) below this age.
const LOOKAHEAD_AGE: Duration = Duration::from_millis(2);

/// Pause after a failed accept (EMFILE and friends) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The next connection. Taken at once while a Python thread is free, so that connections go
/// to idle workers first (see `occupancy`), and as soon as one comes by a worker that is alone
/// on the board (one worker: a connection it left waiting could go nowhere else, and pacing it
/// only added its wait to the first request, the p99 of a burst of new clients; BENCHMARKS.md,
/// "Admission: new connections at a saturated worker"). A worker whose threads are all busy
/// does not accept a waiting connection while another worker shows a free thread on the shared
/// board: a busy worker that took it would queue the request behind its own, and a request
/// stuck for `--timeout` took a neighbour's request down with it (1 in 40 fresh requests got
/// 504 with 3 of 4 workers stuck). When every worker has been busy for `ALL_BUSY_WAIT` while a
/// connection waits, the worker with the shortest queue takes one waiting connection each time
/// one of its jobs ends (or every `ADMISSION_WAIT`), so keep-alive clients keeping every
/// thread busy cannot starve new connections, and new clients are taken at the pace the
/// worker serves; any busy worker takes one after `STALLED_WAIT` whatever the board says.
/// Taking the whole backlog at once instead stacked requests behind one worker's slow ones:
/// 3x gunicorn's p99 for a fast endpoint under saturation (BENCHMARKS.md, "Admission").
/// One exception keeps short requests pipelined: while no other worker has a free thread and
/// every job this worker holds is younger than `LOOKAHEAD_AGE`, it accepts at once, one
/// connection at a time (`LOOKAHEAD` not yet sent their first request), so that the next
/// request is parsed and queued while the current one runs (BENCHMARKS.md, "Hello world
/// A/B"); a worker busy with a long or stuck request never does.
async fn admit(
    listener: &Listener,
    occupancy: &crate::http::occupancy::Occupancy,
) -> std::io::Result<(Stream, ConnInfo)> {
    // Since when a connection has been waiting here, and since when every worker has been busy
    // while it waited.
    let (mut waiting_since, mut all_busy_since) = (None::<Instant>, None::<Instant>);
    loop {
        // One reading of the board per look.
        let all_busy_elsewhere = matches!(occupancy.free_elsewhere(), Some(0) | None);
        // Alone, or all busy with young jobs: accept as soon as a connection comes, looking at
        // the board again every `ADMISSION_WAIT` (a worker that joins, or a job that ages,
        // changes the answer).
        if occupancy.alone()
            || (all_busy_elsewhere && occupancy.may_look_ahead(LOOKAHEAD, LOOKAHEAD_AGE))
        {
            tokio::select! {
                accepted = listener.accept() => return accepted,
                () = tokio::time::sleep(ADMISSION_WAIT) => continue,
            }
        }
        // Created before the checks, so that a job ending between them still wakes the look.
        let released = occupancy.released();
        if occupancy.has_room() {
            return listener.accept().await;
        }
        if !listener.pending() {
            (waiting_since, all_busy_since) = (None, None);
            if tokio::time::timeout(ADMISSION_WAIT, occupancy.wait_for_room())
                .await
                .is_ok()
            {
                return listener.accept().await;
            }
            continue;
        }
        let now = Instant::now();
        let waiting = *waiting_since.get_or_insert(now);
        if all_busy_elsewhere {
            all_busy_since.get_or_insert(now);
        } else {
            all_busy_since = None;
        }
        let shortest = all_busy_since
            .is_some_and(|since| now.duration_since(since) >= ALL_BUSY_WAIT)
            && occupancy.least_loaded();
        if shortest || now.duration_since(waiting) >= STALLED_WAIT {
            tokio::select! {
                biased;
                accepted = listener.accept() => return accepted,
                // Another worker took it meanwhile.
                () = std::future::ready(()) => (waiting_since, all_busy_since) = (None, None),
            }
        }
        // Look again when one of this worker's jobs ends: a thread may be free, or its queue
        // the shortest.
        let _ = tokio::time::timeout(ADMISSION_WAIT, released).await;
    }
}

/// A listening socket, converted for tokio inside the worker.
pub enum Listener {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener),
}

impl Listener {
    /// Whether a connection is waiting to be accepted (the socket is readable).
    fn pending(&self) -> bool {
        use std::os::fd::AsRawFd;
        let fd = match self {
            Self::Tcp(l) => l.as_raw_fd(),
            Self::Unix(l) => l.as_raw_fd(),
        };
        crate::process::sys::poll_readable(&[fd], Duration::ZERO)
            .is_ok_and(|r| r.first() == Some(&true))
    }

    async fn accept(&self) -> std::io::Result<(Stream, ConnInfo)> {
        match self {
            Self::Tcp(l) => {
                let (stream, remote) = l.accept().await?;
                // Small responses go out at once instead of waiting for Nagle.
                let _ = stream.set_nodelay(true);
                let info = ConnInfo {
                    remote: Some(remote),
                    local: stream.local_addr().ok(),
                    scheme: "http",
                };
                Ok((Stream::Tcp(stream), info))
            }
            Self::Unix(l) => {
                let (stream, _) = l.accept().await?;
                let info = ConnInfo {
                    remote: None,
                    local: None,
                    scheme: "http",
                };
                Ok((Stream::Unix(stream), info))
            }
        }
    }
}

/// An accepted socket, before TLS or the protocol is settled.
enum Stream {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

/// How a worker serves connections.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub limits: Limits,
    pub timeouts: Timeouts,
    pub max_connections: usize,
    /// Accept a PROXY protocol header at the start of each connection.
    pub proxy_protocol: bool,
    /// TLS on every TCP listener (`--certfile`), with ALPN offering h2.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// The hyper settings, each on purpose.
fn builder(timeouts: &Timeouts, fields: usize) -> http1::Builder {
    let mut b = http1::Builder::new();
    b.timer(TokioTimer::new())
        // Default on; written here because pipelining and keep-alive are promised.
        .keep_alive(true)
        // A backstop only: the guard enforces --keep-alive and --header-timeout separately,
        // while hyper's timer runs from the end of one request to the end of the next head.
        .header_read_timeout(timeouts.keep_alive + timeouts.header)
        // Header names go out in Title-Case, as the app and most servers write them.
        .title_case_headers(true)
        // Body frames are queued, never copied into hyper's buffer: zero-copy file bodies rely
        // on the writer seeing their placeholder slices (see `zero_copy`).
        .writev(true)
        // Off (hyper's default): with it on, hyper 1.12 drops a buffered response when the
        // connection closes after it (HTTP/1.0 or `Connection: close` followed by more
        // pipelined bytes); the gunicorn corpus cases 019 and 021 caught it.
        .pipeline_flush(false)
        // A client that half-closes after its request still gets the response.
        .half_close(true)
        // --limit-request-fields: the guard answers 431 past it, so hyper must take as many
        // (its own default of 100 answered 431 to a request the limit allowed).
        .max_headers(fields);
    b
}

/// Serve on `listeners` until `shutdown` completes, then drain.
pub async fn run(
    listeners: Vec<Listener>,
    metrics: Option<tokio::net::TcpListener>,
    shared: Arc<Shared>,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let drain = Drain::new(stop_rx.clone());
    let settings = Arc::new(settings);
    let connections = Arc::new(Semaphore::new(settings.max_connections));
    let mut accept_loops = tokio::task::JoinSet::new();
    for listener in listeners {
        let shared = Arc::clone(&shared);
        let drain = drain.clone();
        let connections = Arc::clone(&connections);
        let settings = Arc::clone(&settings);
        let mut stop = stop_rx.clone();
        accept_loops.spawn(async move {
            loop {
                // At most --max-connections open, and a new one preferably while a Python
                // thread is free (see `admit`).
                let permit = tokio::select! {
                    _ = stop.changed() => return,
                    permit = Arc::clone(&connections).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => return,
                    },
                };
                tokio::select! {
                    _ = stop.changed() => return,
                    accepted = admit(&listener, &shared.occupancy) => match accepted {
                        Ok((stream, info)) => {
                            spawn_connection(stream, info, &shared, &settings, &drain, permit);
                        }
                        Err(e) => {
                            log::warning(&format!("accept failed: {e}"));
                            tokio::time::sleep(ACCEPT_BACKOFF).await;
                        }
                    },
                }
            }
        });
    }
    if let Some(listener) = metrics {
        let mut stop = stop_rx.clone();
        accept_loops.spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    accepted = listener.accept() => if let Ok((stream, _)) = accepted {
                        tokio::spawn(serve_metrics(stream));
                    },
                }
            }
        });
    }
    shutdown.await;
    // Other workers see this one as full from now on.
    shared.occupancy.close();
    let _ = stop_tx.send(true);
    while accept_loops.join_next().await.is_some() {}
    log::info(&format!(
        "worker (pid {}) stopping: draining {} connection(s)",
        std::process::id(),
        drain.live()
    ));
    if tokio::time::timeout(settings.timeouts.graceful, drain.idle())
        .await
        .is_err()
    {
        log::warning("requests still running after the graceful timeout were cut off");
    }
}

/// One connection to the `--metrics` listener: `GET /metrics` only.
async fn serve_metrics(stream: tokio::net::TcpStream) {
    let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
        let (status, body) = if req.uri().path() == "/metrics" {
            (http::StatusCode::OK, crate::observe::metrics::render())
        } else {
            (http::StatusCode::NOT_FOUND, "Not Found\n".to_owned())
        };
        let mut response =
            hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(body)));
        *response.status_mut() = status;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        Ok::<_, std::convert::Infallible>(response)
    });
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(TokioIo::new(stream), svc)
        .await;
}

/// What a connection's task needs from its worker.
struct Context {
    shared: Arc<Shared>,
    settings: Arc<ServerSettings>,
    drain: Drain,
    permit: OwnedSemaphorePermit,
    /// The worker slot taken at accept, held until the first request is queued or
    /// `RESERVATION_GRACE` has passed (whichever comes first; the grace runs from accept).
    admission: Admission,
    /// Counted by the drain from accept on, through the TLS handshake or the h2c peek: a
    /// connection accepted just before a stop is waited for, not reset by the runtime's end.
    tracked: Tracked,
}

/// The HTTP/2 connection preface (RFC 9113 §3.4): a client speaking h2c with prior knowledge
/// opens with it.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether a plain TCP connection opens with the HTTP/2 preface (looked at without consuming
/// it, bounded by the header timeout).
async fn is_h2c(stream: &tokio::net::TcpStream, timeout: Duration) -> bool {
    let look = async {
        let mut buf = [0u8; H2_PREFACE.len()];
        loop {
            if stream.readable().await.is_err() {
                return false;
            }
            let n = match stream.peek(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => n,
            };
            if buf[..n] != H2_PREFACE[..n] {
                return false;
            }
            if n == H2_PREFACE.len() {
                return true;
            }
            // A partial match: wait for more bytes.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(timeout, look).await.unwrap_or(false)
}

fn spawn_connection(
    stream: Stream,
    mut info: ConnInfo,
    shared: &Arc<Shared>,
    settings: &Arc<ServerSettings>,
    drain: &Drain,
    permit: OwnedSemaphorePermit,
) {
    let cx = Context {
        shared: Arc::clone(shared),
        settings: Arc::clone(settings),
        drain: drain.clone(),
        permit,
        // Taken here, before the accept loop looks for room again: taken in the connection's
        // task, it came too late, and an idle worker accepted a second connection that then
        // queued behind the first one's request.
        admission: Admission::hold_for(shared.occupancy.reserve(), RESERVATION_GRACE),
        tracked: drain.track(),
    };
    tokio::spawn(async move {
        let header = cx.settings.timeouts.header;
        match stream {
            Stream::Tcp(stream) => match cx.settings.tls.clone() {
                Some(tls) => {
                    let accept = tokio_rustls::TlsAcceptor::from(tls).accept(stream);
                    let Ok(Ok(stream)) = tokio::time::timeout(header, accept).await else {
                        return;
                    };
                    info.scheme = "https";
                    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                        serve_h2(stream, info, cx).await;
                    } else {
                        serve_h1(stream, info, cx, false).await;
                    }
                }
                None if is_h2c(&stream, header).await => serve_h2(stream, info, cx).await,
                None => serve_h1(stream, info, cx, true).await,
            },
            Stream::Unix(stream) => serve_h1(stream, info, cx, true).await,
        }
    });
}

/// The hyper service of one connection: every request goes to `service::handle`.
fn wsgi_service(
    shared: Arc<Shared>,
    info: Arc<ConnInfo>,
    connection: Arc<Connection>,
) -> impl hyper::service::Service<
    hyper::Request<hyper::body::Incoming>,
    Response = hyper::Response<crate::http::body::ReplyBody>,
    Error = std::convert::Infallible,
    Future = impl Future<
        Output = Result<hyper::Response<crate::http::body::ReplyBody>, std::convert::Infallible>,
    > + Send,
> + Clone {
    service_fn(move |req| {
        service::handle(
            Arc::clone(&shared),
            Arc::clone(&info),
            Arc::clone(&connection),
            req,
        )
    })
}

/// HTTP/1.x through the framing guard. `sendfile`: the transport is a plain socket that
/// sendfile(2) can write to.
async fn serve_h1<S>(stream: S, info: ConnInfo, cx: Context, sendfile: bool)
where
    S: AsyncRead + AsyncWrite + ZeroCopy + Unpin + Send + 'static,
{
    let Context {
        shared,
        settings,
        drain,
        permit,
        admission,
        tracked: _tracked,
    } = cx;
    let info = Arc::new(info);
    let connection = Arc::new(Connection::new(admission, sendfile));
    let proxy = settings.proxy_protocol.then(|| {
        // Unix-socket peers are local, as trusted as 127.0.0.1.
        info.remote
            .is_none_or(|r| shared.rules.trusted.trusts(r.ip()))
    });
    let io = GuardedIo::new(
        stream,
        Arc::clone(&connection),
        settings.limits,
        settings.timeouts,
        proxy,
    );
    let conn = builder(&settings.timeouts, settings.limits.fields).serve_connection(
        TokioIo::new(io),
        wsgi_service(shared, info, Arc::clone(&connection)),
    );
    tokio::pin!(conn);
    // Per-connection errors (client gone, malformed request) end that connection only.
    tokio::select! {
        _ = conn.as_mut() => return,
        () = drain.stopping() => {}
    }
    // Stopping. A connection whose first request has not arrived yet gets a moment for it:
    // closing it at once would lose a request the client already sent (the reload race).
    let requests = &connection.requests;
    if !requests.seen() {
        let first = async {
            while !requests.seen() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        // The connection first: on a starved machine the grace can run out in the very poll
        // in which the request becomes readable; polled first, it is read and dispatched,
        // and the graceful shutdown below lets it finish.
        tokio::select! {
            biased;
            _ = conn.as_mut() => return,
            _ = tokio::time::timeout(FIRST_REQUEST_GRACE, first) => {}
        }
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
    drop(permit);
}

/// Streams one HTTP/2 connection may have open at once: RFC 9113 §6.5.2 recommends no fewer
/// than 100. Each open stream can hold a queued job and a body buffer, so not unlimited.
const H2_MAX_STREAMS: u32 = 100;

/// Streams a client may open and reset before hyper has accepted them (the "rapid reset"
/// flood, CVE-2023-44487), and streams we may reset for errors, before the connection is
/// closed: hyper's defaults, written down because they are a defence.
const H2_MAX_PENDING_RESETS: usize = 20;
const H2_MAX_ERROR_RESETS: usize = 1024;

/// Flow-control windows: what one stream, and one connection, may send before the app reads.
/// They bound the memory a slow app's uploads take per connection (hyper's adaptive window
/// would grow them).
const H2_STREAM_WINDOW: u32 = 256 * 1024;
const H2_CONNECTION_WINDOW: u32 = 1024 * 1024;

/// Response bytes hyper buffers per stream before the writer waits.
const H2_SEND_BUFFER: usize = 400 * 1024;

/// HTTP/2 (over TLS with ALPN `h2`, or h2c with prior knowledge). hyper's h2 framing needs no
/// guard: there is no request smuggling through HTTP/1 framing to stop. Every hyper h2
/// setting is set here on purpose:
/// - `--keep-alive`: a connection with no open stream for that long is closed with GOAWAY
///   (hyper has no idle timeout of its own, and its PINGs kept idle connections open for ever).
/// - PINGs every `--keep-alive` while the connection lives, and a peer that does not answer
///   one within `--header-timeout` is gone: this finds dead peers under a long response.
/// - `--header-timeout` also bounds the TLS handshake and the h2c preface (see
///   `spawn_connection`); a request's header block is bounded in size by
///   `max_header_list_size`.
async fn serve_h2<S>(stream: S, info: ConnInfo, cx: Context)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Context {
        shared,
        settings,
        drain,
        permit,
        admission,
        tracked: _tracked,
    } = cx;
    // No sendfile: HTTP/2 frames every body byte itself.
    let connection = Arc::new(Connection::new(admission, false));
    let inner = wsgi_service(shared, Arc::new(info), Arc::clone(&connection));
    let counted = Arc::clone(&connection.requests);
    let svc = service_fn(move |req| {
        counted.stream_opened();
        hyper::service::Service::call(&inner, req)
    });
    let timeouts = settings.timeouts;
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(timeouts.keep_alive))
        .keep_alive_timeout(timeouts.header)
        .max_concurrent_streams(H2_MAX_STREAMS)
        .max_pending_accept_reset_streams(H2_MAX_PENDING_RESETS)
        .max_local_error_reset_streams(H2_MAX_ERROR_RESETS)
        .initial_stream_window_size(H2_STREAM_WINDOW)
        .initial_connection_window_size(H2_CONNECTION_WINDOW)
        .adaptive_window(false)
        .max_send_buf_size(H2_SEND_BUFFER)
        .max_header_list_size(
            u32::try_from(
                settings
                    .limits
                    .field_size
                    .saturating_mul(settings.limits.fields),
            )
            .unwrap_or(u32::MAX)
            .min(1 << 20),
        );
    let conn = builder.serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    let idle = tokio::select! {
        _ = conn.as_mut() => return,
        () = drain.stopping() => false,
        () = idle_for(&connection.requests, timeouts.keep_alive) => true,
    };
    // GOAWAY: streams the client opened are finished; it retries the rest elsewhere.
    conn.as_mut().graceful_shutdown();
    if idle {
        // Nothing is open: a peer that does not take part in the closing handshake (it
        // answers GOAWAY's PING) has `--header-timeout` before the socket is closed.
        let _ = tokio::time::timeout(timeouts.header, conn).await;
    } else {
        let _ = conn.await;
    }
    drop(permit);
}

/// Completes once `requests` has had none open for `limit`.
async fn idle_for(requests: &Requests, limit: Duration) {
    loop {
        match requests.idle_since() {
            Some(since) if since.elapsed() >= limit => return,
            Some(since) => tokio::time::sleep_until(since + limit).await,
            None => tokio::time::sleep(limit).await,
        }
    }
}
