//! One request: check what hyper does not, build the environ, queue the job, and turn the first
//! reply into a response. Errors that never reach the app are mapped in `error::RequestError`.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};

use crate::http::body::ReplyBody;
use crate::http::connection::{Admission, Connection, Verdict};
use crate::http::error::RequestError;
use crate::http::limits::{Limits, Timeouts};
use crate::http::occupancy::Occupancy;
use crate::http::static_files::{self, StaticMount};
use crate::job::{BodyChannel, BodyFault, FaultCell, Job, Reply, Token};
use crate::observe::access_log::Access;
use crate::observe::log;
use crate::process::lifecycle::{Lifecycle, Retire};
use crate::wsgi::environ::{self, ConnInfo, EnvironError, EnvironRules};
use crate::wsgi::input::InputError;

/// Body chunks buffered between the connection and `wsgi.input`: enough to keep a reading app
/// busy, small enough that an upload costs a bounded amount of memory.
const BODY_CHANNEL_DEPTH: usize = 4;

/// Response chunks buffered between the app and the connection; beyond this a slow client
/// pushes back on the app's iteration.
const REPLY_CHANNEL_DEPTH: usize = 8;

/// Most unread body bytes skipped after the app is done, so that a kept-alive connection can
/// serve its next request; a longer rest closes the connection instead.
const DISCARD_LIMIT: u64 = 1 << 20;

/// How long that skipping may take.
const DISCARD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A body of at most this many bytes, with a known length and no `Expect: 100-continue`, is
/// read whole before the job is queued: the app then reads it without waiting on this thread
/// (a round trip between the threads per read otherwise), and a slow client never holds a
/// Python thread for it.
const PREFETCH_LIMIT: u64 = 64 * 1024;

/// What every request of a worker shares.
#[derive(Debug)]
pub struct Shared {
    pub jobs: flume::Sender<Job>,
    pub occupancy: Arc<Occupancy>,
    pub rules: EnvironRules,
    pub limits: Limits,
    pub timeouts: Timeouts,
    pub lifecycle: Arc<Lifecycle>,
    pub statics: Vec<StaticMount>,
}

/// The service function for hyper. `connection`: the parts this request shares with its
/// connection's guard (verdict, PROXY peer) and with the accept (the held worker slot).
pub async fn handle(
    shared: Arc<Shared>,
    conn: Arc<ConnInfo>,
    connection: Arc<Connection>,
    req: Request<Incoming>,
) -> Result<Response<ReplyBody>, std::convert::Infallible> {
    // A PROXY protocol header names the real client.
    let conn = match connection.proxy_peer.get() {
        Some(peer) => Arc::new(ConnInfo {
            remote: Some(peer),
            ..(*conn).clone()
        }),
        None => conn,
    };
    let access = access_entry(&req, &conn);
    let gauge = crate::observe::metrics::RequestInFlight::start();
    // The guard queued one verdict per head it passed on, in order.
    let (verdict, open) = connection.next_request();
    let outcome = match verdict {
        Some(Verdict::Refused(why)) => Err(RequestError::Refused(why)),
        Some(Verdict::Encoded(raw)) => {
            let mut req = req;
            req.extensions_mut().insert(raw);
            serve_accepted(&shared, &conn, &connection.admission, req, &access).await
        }
        Some(Verdict::Accepted) | None => {
            serve_accepted(&shared, &conn, &connection.admission, req, &access).await
        }
    };
    let response = match outcome {
        Ok(response) => response,
        Err(e) => error_response(&e),
    };
    let status = response.status().as_u16();
    let mut access = access;
    let wanted = log::access_response_headers();
    if !wanted.is_empty() {
        access.response_headers = Access::pick(response.headers(), wanted);
    }
    Ok(response.map(|body| body.with_access(access, status, open, gauge)))
}

/// A request the guard passed: a static file when one matches, else the app.
async fn serve_accepted(
    shared: &Arc<Shared>,
    conn: &Arc<ConnInfo>,
    admission: &Admission,
    req: Request<Incoming>,
    access: &Access,
) -> Result<Response<ReplyBody>, RequestError> {
    if static_files::owned(&shared.statics, req.uri().path()) {
        // The filesystem calls run on the blocking pool: a slow disk must not stall the
        // worker's runtime and every connection on it.
        let (shared, method, path, headers) = (
            Arc::clone(shared),
            req.method().clone(),
            req.uri().path().to_owned(),
            req.headers().clone(),
        );
        let served = tokio::task::spawn_blocking(move || {
            static_files::serve(&shared.statics, &method, &path, &headers)
        })
        .await;
        if let Ok(Some(response)) = served {
            return Ok(response);
        }
    }
    let mut what = String::with_capacity(access.method.len() + 1 + access.target.len());
    what.push_str(&access.method);
    what.push(' ');
    what.push_str(&access.target);
    let outcome = call(shared, conn, admission, req, &what).await;
    shared.lifecycle.served_one();
    outcome
}

fn access_entry(req: &Request<Incoming>, conn: &ConnInfo) -> Access {
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().to_string(), |pq| pq.as_str().to_owned());
    Access {
        remote: conn.remote.map(|a| a.ip().to_string()).unwrap_or_default(),
        method: req.method().as_str().to_owned(),
        target,
        protocol: environ::protocol(req.version()),
        started: std::time::Instant::now(),
        request_headers: Access::pick(req.headers(), log::access_request_headers()),
        response_headers: Vec::new(),
    }
}

fn error_response(e: &RequestError) -> Response<ReplyBody> {
    let status = e.status();
    let text = format!("{}\n", status.canonical_reason().unwrap_or("Error"));
    let mut response = Response::new(ReplyBody::full(Bytes::from(text)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if e.closes() {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

async fn call(
    shared: &Shared,
    conn: &ConnInfo,
    admission: &Admission,
    req: Request<Incoming>,
    what: &str,
) -> Result<Response<ReplyBody>, RequestError> {
    let (parts, body) = req.into_parts();
    let environ = environ::build(&parts, conn, &shared.rules).map_err(|e| match e {
        EnvironError::NotMounted => RequestError::NotMounted,
        EnvironError::ConflictingScheme => RequestError::ConflictingScheme,
    })?;
    if let Some(limit) = shared.limits.body
        && body
            .size_hint()
            .exact()
            .or(Some(body.size_hint().lower()))
            .is_some_and(|n| n > limit)
    {
        return Err(RequestError::TooLarge);
    }
    let fault = Arc::new(FaultCell::default());
    // The body of a client that asked for 100-continue and was never told to send is not
    // read and discarded: that would invite the body the app did not want.
    let discard_body = !parts
        .headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let body = if body.is_end_stream() {
        None
    } else if discard_body
        && let Some(length) = body.size_hint().exact()
        && length <= PREFETCH_LIMIT
    {
        Some(prefetch(body, length, shared.timeouts.body).await?)
    } else {
        Some(pump(
            body,
            Arc::clone(&fault),
            discard_body,
            shared.limits.body,
            shared.timeouts,
        ))
    };
    let what_shared: Arc<str> = Arc::from(what);
    let (reply_tx, replies) = flume::bounded(REPLY_CHANNEL_DEPTH);
    let job = Job {
        environ,
        body,
        reply: reply_tx,
        what: Arc::clone(&what_shared),
        in_flight: Token::new(shared.occupancy.begin(what_shared)),
    };
    // The job now counts as busy; the slot held since accept can go.
    admission.release();
    shared
        .jobs
        .send_async(job)
        .await
        .map_err(|_| RequestError::WorkerGone)?;
    let first_reply = match shared.timeouts.request {
        Some(limit) => match tokio::time::timeout(limit, replies.recv_async()).await {
            Ok(reply) => reply,
            Err(_) => {
                log::error(&format!(
                    "{what} ran past --timeout ({}s); answering 504 and replacing this worker",
                    limit.as_secs()
                ));
                shared.lifecycle.retire(Retire::Timeout);
                return Err(RequestError::Timeout);
            }
        },
        None => replies.recv_async().await,
    };
    let Ok(Reply::Head { head, first, done }) = first_reply else {
        log::error("the app's thread ended without a response (see the error above)");
        return Err(RequestError::NoResponse);
    };
    match fault.get() {
        // The body broke under the app: whatever it answered, the request was bad.
        Some(BodyFault::Malformed) => return Err(RequestError::BadBody),
        Some(BodyFault::TooLarge) => return Err(RequestError::TooLarge),
        Some(BodyFault::TooSlow) => return Err(RequestError::TooSlow),
        None => {}
    }
    let rest = (!done).then_some(replies);
    let mut response = Response::new(ReplyBody::streaming(first, rest, head.content_length));
    *response.status_mut() = head.status;
    if let Some(reason) = head.reason
        && let Ok(reason) = hyper::ext::ReasonPhrase::try_from(reason)
    {
        response.extensions_mut().insert(reason);
    }
    let headers = response.headers_mut();
    headers.reserve(head.headers.len() + 1);
    for (name, value) in head.headers {
        headers.append(name, value);
    }
    if let Some(length) = head.content_length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    if head.close {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(response)
}

/// Read a small body of known `length` whole (see `PREFETCH_LIMIT`), within `--body-timeout`,
/// and hand it to `wsgi.input` as a channel that already holds it and its end.
async fn prefetch(
    mut body: Incoming,
    length: u64,
    timeout: std::time::Duration,
) -> Result<BodyChannel, RequestError> {
    let read = async {
        let mut data = bytes::BytesMut::with_capacity(usize::try_from(length).unwrap_or(0));
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => {
                    if let Ok(chunk) = frame.into_data() {
                        data.extend_from_slice(&chunk);
                    }
                }
                // A client that went away gets no answer anyway; a broken body is its fault.
                Err(_) => return Err(RequestError::BadBody),
            }
        }
        Ok(data.freeze())
    };
    let data = tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| RequestError::TooSlow)??;
    let (tx, chunks) = flume::bounded(2);
    // The receiver is held here: both sends succeed at once.
    let _ = tx.try_send(Ok(data));
    let _ = tx.try_send(Ok(Bytes::new()));
    Ok(BodyChannel {
        start: None,
        chunks,
        timeout,
    })
}

/// Hand the body to `wsgi.input`: a task that starts reading only when the app first reads
/// (so `100 Continue` goes out only then) and forwards chunks with backpressure.
fn pump(
    mut body: Incoming,
    fault: Arc<FaultCell>,
    discard_body: bool,
    limit: Option<u64>,
    timeouts: Timeouts,
) -> BodyChannel {
    let (start, started) = tokio::sync::oneshot::channel::<()>();
    let (tx, chunks) = flume::bounded(BODY_CHANNEL_DEPTH);
    tokio::spawn(async move {
        if started.await.is_err() {
            // The app finished without reading.
            if discard_body {
                skip_rest(&mut body).await;
            }
            return;
        }
        let mut received: u64 = 0;
        let began = std::time::Instant::now();
        loop {
            let item = match body.frame().await {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) if data.is_empty() => continue,
                    Ok(data) => {
                        received += data.len() as u64;
                        if limit.is_some_and(|l| received > l) {
                            fault.set(BodyFault::TooLarge);
                            Err(InputError::TooLarge)
                        } else if too_slow(received, began.elapsed(), &timeouts) {
                            fault.set(BodyFault::TooSlow);
                            Err(InputError::TooSlow)
                        } else {
                            Ok(data)
                        }
                    }
                    Err(_trailers) => continue,
                },
                Some(Err(e)) if e.is_incomplete_message() => Err(InputError::Disconnected),
                Some(Err(e)) => {
                    fault.set(BodyFault::Malformed);
                    Err(InputError::Malformed(e.to_string()))
                }
                // An empty chunk marks the end (see job::BodyChannel).
                None => Ok(Bytes::new()),
            };
            let last = !matches!(&item, Ok(data) if !data.is_empty());
            if tx.send_async(item).await.is_err() {
                if !last {
                    // The app stopped reading part-way.
                    skip_rest(&mut body).await;
                }
                return;
            }
            if last {
                return;
            }
        }
    });
    BodyChannel {
        start: Some(start),
        chunks,
        timeout: timeouts.body,
    }
}

/// A body trickling in below `--body-min-rate` once `--body-timeout` has passed (slowloris on
/// the body, which the gap timeout alone would let through one byte at a time).
fn too_slow(received: u64, elapsed: std::time::Duration, timeouts: &Timeouts) -> bool {
    timeouts.body_min_rate > 0
        && elapsed > timeouts.body
        && (received as f64) < timeouts.body_min_rate as f64 * elapsed.as_secs_f64()
}

/// Read and discard what is left of a body (bounded in bytes and time) so hyper can reuse the
/// connection; past the bounds the body is dropped and hyper closes the connection.
async fn skip_rest(body: &mut Incoming) {
    let skip = async {
        let mut left = DISCARD_LIMIT;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                let Some(rest) = left.checked_sub(data.len() as u64) else {
                    return;
                };
                left = rest;
            }
        }
    };
    let _ = tokio::time::timeout(DISCARD_TIMEOUT, skip).await;
}
