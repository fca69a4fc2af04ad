//! The accept loop of one worker: hyper HTTP/1.1 connections on the listeners the master bound,
//! and the graceful drain when the worker is told to stop (no new connections; requests in
//! flight finish; idle keep-alive connections close).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::{Limits, Timeouts};
use crate::http::guard::{ConnState, GuardedIo};
use crate::http::service::{self, Shared};
use crate::http::zero_copy::ZeroCopy;
use crate::log;
use crate::wsgi::environ::ConnInfo;

/// How long a new connection keeps its worker slot before its first request is queued.
const RESERVATION_GRACE: Duration = Duration::from_millis(100);

/// Pause after a failed accept (EMFILE and friends) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A listening socket, converted for tokio inside the worker.
pub enum Listener {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener),
}

impl Listener {
    async fn accept(&self) -> std::io::Result<(Connection, ConnInfo)> {
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
                Ok((Connection::Tcp(stream), info))
            }
            Self::Unix(l) => {
                let (stream, _) = l.accept().await?;
                let info = ConnInfo {
                    remote: None,
                    local: None,
                    scheme: "http",
                };
                Ok((Connection::Unix(stream), info))
            }
        }
    }
}

enum Connection {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

/// How a worker serves connections.
#[derive(Debug, Clone, Copy)]
pub struct ServerSettings {
    pub limits: Limits,
    pub timeouts: Timeouts,
    pub max_connections: usize,
    /// Accept a PROXY protocol header at the start of each connection.
    pub proxy_protocol: bool,
}

/// The hyper settings, each on purpose.
fn builder(timeouts: &Timeouts) -> http1::Builder {
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
        // hyper's default of 100 headers, as gunicorn's limit_request_fields.
        .max_headers(100);
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
    let graceful = Arc::new(GracefulShutdown::new());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let connections = Arc::new(Semaphore::new(settings.max_connections));
    let mut accept_loops = tokio::task::JoinSet::new();
    for listener in listeners {
        let shared = Arc::clone(&shared);
        let graceful = Arc::clone(&graceful);
        let connections = Arc::clone(&connections);
        let mut stop = stop_rx.clone();
        accept_loops.spawn(async move {
            loop {
                // At most --max-connections open, and a new one only while a Python thread
                // is free (see `load`).
                let permit = tokio::select! {
                    _ = stop.changed() => return,
                    permit = Arc::clone(&connections).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => return,
                    },
                };
                tokio::select! {
                    _ = stop.changed() => return,
                    () = shared.load.wait_for_room() => {}
                }
                tokio::select! {
                    _ = stop.changed() => return,
                    accepted = listener.accept() => match accepted {
                        Ok((conn, info)) => {
                            serve(conn, info, &shared, &settings, &graceful, permit);
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
    let _ = stop_tx.send(true);
    while accept_loops.join_next().await.is_some() {}
    let Ok(graceful) = Arc::try_unwrap(graceful) else {
        return;
    };
    if tokio::time::timeout(settings.timeouts.graceful, graceful.shutdown())
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
            (http::StatusCode::OK, crate::metrics::render())
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

fn serve(
    conn: Connection,
    info: ConnInfo,
    shared: &Arc<Shared>,
    settings: &ServerSettings,
    graceful: &GracefulShutdown,
    permit: OwnedSemaphorePermit,
) {
    match conn {
        Connection::Tcp(stream) => {
            spawn_connection(stream, info, shared, settings, graceful, permit)
        }
        Connection::Unix(stream) => {
            spawn_connection(stream, info, shared, settings, graceful, permit)
        }
    }
}

fn spawn_connection<S>(
    stream: S,
    info: ConnInfo,
    shared: &Arc<Shared>,
    settings: &ServerSettings,
    graceful: &GracefulShutdown,
    permit: OwnedSemaphorePermit,
) where
    S: AsyncRead + AsyncWrite + ZeroCopy + Unpin + Send + 'static,
{
    let shared = Arc::clone(shared);
    let info = Arc::new(info);
    let state = Arc::new(ConnState::default());
    state.hold(shared.load.reserve());
    {
        // A connection that sends nothing quickly gives its slot back, so idle clients cannot
        // keep a worker from accepting.
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            tokio::time::sleep(RESERVATION_GRACE).await;
            state.release();
        });
    }
    let proxy = settings.proxy_protocol.then(|| {
        // Unix-socket peers are local, as trusted as 127.0.0.1.
        info.remote
            .is_none_or(|r| shared.rules.trusted.trusts(r.ip()))
    });
    let io = GuardedIo::new(
        stream,
        Arc::clone(&state),
        settings.limits,
        settings.timeouts,
        proxy,
    );
    let svc = service_fn(move |req| {
        service::handle(
            Arc::clone(&shared),
            Arc::clone(&info),
            Arc::clone(&state),
            req,
        )
    });
    let conn = builder(&settings.timeouts).serve_connection(TokioIo::new(io), svc);
    let conn = graceful.watch(conn);
    tokio::spawn(async move {
        // Per-connection errors (client gone, malformed request) end that connection only.
        let _ = conn.await;
        drop(permit);
    });
}
