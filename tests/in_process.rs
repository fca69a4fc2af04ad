//! In-process tests of the HTTP layer, in the style of mini-redis: `server::run` on a loopback
//! listener in this process, its jobs taken by plain Rust threads that play small apps (no
//! interpreter), and the shutdown trigger passed in by the test. Each test speaks raw HTTP
//! bytes over a real socket and ends by stopping the server and waiting for `run` to return
//! (the drain). They cover what lies between the socket and the job contract (`src/job.rs`):
//! the framing guard, the service, admission, and the body paths both ways; they run in
//! seconds, where the real-binary tests beside them pay for an interpreter each.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use bytes::Bytes;
use rwsgi::http::limits::{Limits, Timeouts};
use rwsgi::http::occupancy::{Board, Occupancy, Seat};
use rwsgi::http::server::{self, Listener, ServerSettings};
use rwsgi::http::service::Shared;
use rwsgi::job::{BodyChannel, Job, Reply};
use rwsgi::observe::access_log::{DEFAULT_FORMAT, Format};
use rwsgi::observe::log::{self, AccessLog, Level};
use rwsgi::process::lifecycle::{Lifecycle, Retire};
use rwsgi::wsgi::environ::EnvironRules;
use rwsgi::wsgi::forwarded::TrustedProxies;
use rwsgi::wsgi::input::InputError;
use rwsgi::wsgi::response::{HeadBuilder, ResponseHead};

use crate::common::{
    IO_TIMEOUT, TempDir, parse_all, parse_head_only, parse_one, read_to_close, read_until,
};

/// How long `stop` waits for `run` to return. The graceful timeout is far longer (see
/// `Setup::default`), so `run` returning within this shows that the drain finished, not that
/// it gave up on the requests in flight.
const DRAIN_WAIT: Duration = Duration::from_secs(60);

/// Jobs queued per consumer thread, as `python::pool` queues them per Python thread.
const QUEUE_PER_CONSUMER: usize = 4;

/// How one in-process server is set up.
struct Setup {
    /// Consumer threads: the worker's Python threads.
    consumers: usize,
    limits: Limits,
    timeouts: Timeouts,
    max_connections: usize,
    /// `--max-requests`.
    max_requests: Option<u64>,
    /// A seat on a board shared with other in-process servers.
    seat: Option<Seat>,
    /// What `/name` answers.
    name: &'static str,
    /// A listener shared with another server (as workers share the master's); else a new one.
    listener: Option<std::net::TcpListener>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            consumers: 2,
            limits: Limits::default(),
            timeouts: Timeouts {
                graceful: Duration::from_secs(600),
                ..Timeouts::default()
            },
            max_connections: 100,
            max_requests: None,
            seat: None,
            name: "server",
            listener: None,
        }
    }
}

/// What the consumer threads share with the test.
struct Control {
    name: &'static str,
    /// One message each time a `/hold` request reaches its app.
    held: flume::Sender<()>,
    /// Each message lets one `/hold` answer, or one `/stream` go on.
    release: flume::Receiver<()>,
    /// The path and query of every job, in the order the consumers took them.
    seen: Mutex<Vec<String>>,
}

/// `server::run` on its own thread and runtime (as a worker runs it), fed to consumer threads.
struct InProcess {
    addr: SocketAddr,
    control: Arc<Control>,
    held: flume::Receiver<()>,
    release: Option<flume::Sender<()>>,
    lifecycle: Arc<Lifecycle>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// A message once `run` has returned.
    done: flume::Receiver<()>,
    server: Option<std::thread::JoinHandle<()>>,
    consumers: Vec<std::thread::JoinHandle<()>>,
    /// The server's count of busy consumers, as its accept loop reads it.
    occupancy: Arc<Occupancy>,
}

/// Access-log lines off, the server log at errors only: the tests read sockets, not logs.
fn quiet_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let format = Format::parse(DEFAULT_FORMAT).expect("the default access-log format parses");
        log::configure(Level::Error, &AccessLog::Off, format, false).expect("configure the logs");
    });
}

impl InProcess {
    fn start(setup: Setup) -> Self {
        quiet_logs();
        let listener = setup.listener.unwrap_or_else(|| {
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0")
        });
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener for tokio");
        let addr = listener.local_addr().expect("the listener's address");
        let (jobs, queue) = flume::bounded(setup.consumers * QUEUE_PER_CONSUMER);
        let (held_tx, held) = flume::unbounded();
        let (release, release_rx) = flume::unbounded();
        let control = Arc::new(Control {
            name: setup.name,
            held: held_tx,
            release: release_rx,
            seen: Mutex::default(),
        });
        let consumers = (0..setup.consumers)
            .map(|i| {
                let (queue, control) = (queue.clone(), Arc::clone(&control));
                std::thread::Builder::new()
                    .name(format!("{}-consumer-{i}", setup.name))
                    .spawn(move || consume(&queue, &control))
                    .expect("spawn a consumer thread")
            })
            .collect();
        let lifecycle = Arc::new(Lifecycle::new(setup.max_requests));
        let occupancy = Occupancy::new(setup.consumers, setup.seat);
        let shared = Arc::new(Shared {
            jobs,
            occupancy: Arc::clone(&occupancy),
            rules: EnvironRules {
                mount: None,
                trusted: TrustedProxies::List(Vec::new()),
            },
            limits: setup.limits,
            timeouts: setup.timeouts,
            lifecycle: Arc::clone(&lifecycle),
            statics: Vec::new(),
        });
        let settings = ServerSettings {
            limits: setup.limits,
            timeouts: setup.timeouts,
            max_connections: setup.max_connections,
            proxy_protocol: false,
            tls: None,
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done) = flume::bounded(1);
        let retired = Arc::clone(&lifecycle);
        let server = std::thread::Builder::new()
            .name(format!("{}-http", setup.name))
            .spawn(move || {
                // One current-thread runtime, as in `process::worker`.
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .expect("the listener under tokio");
                    // The test's trigger, or a retirement (as the worker stops on either).
                    let shutdown = async {
                        tokio::select! {
                            _ = stopped => {}
                            () = retired.retired() => {}
                        }
                    };
                    server::run(
                        vec![Listener::Tcp(listener)],
                        None,
                        shared,
                        settings,
                        shutdown,
                    )
                    .await;
                });
                let _ = done_tx.send(());
            })
            .expect("spawn the server thread");
        Self {
            addr,
            control,
            held,
            release: Some(release),
            lifecycle,
            stop: Some(stop),
            done,
            server: Some(server),
            consumers,
            occupancy,
        }
    }

    /// Wait until the server's oldest job has run for `age` (polling its occupancy, bounded).
    fn wait_job_older_than(&self, age: Duration) {
        let deadline = std::time::Instant::now() + IO_TIMEOUT;
        while self.occupancy.oldest().is_none_or(|(ran, _)| ran < age) {
            assert!(
                std::time::Instant::now() < deadline,
                "no job ran for {age:?} within {IO_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(IO_TIMEOUT)).expect("read timeout");
        s
    }

    /// Send `raw` on a new connection and read until the server closes it.
    fn raw(&self, raw: &[u8]) -> Vec<u8> {
        read_to_close(&mut self.send(raw))
    }

    /// Send `raw` on a new connection, and keep the connection.
    fn send(&self, raw: &[u8]) -> TcpStream {
        let mut s = self.connect();
        s.write_all(raw).expect("send");
        s
    }

    /// Wait until a `/hold` request is in its app.
    fn wait_held(&self) {
        self.held
            .recv_timeout(IO_TIMEOUT)
            .expect("a /hold request reached its app");
    }

    /// Let one `/hold` answer (or one `/stream` go on).
    fn release(&self) {
        if let Some(release) = &self.release {
            release.send(()).expect("the consumer threads are running");
        }
    }

    /// The path and query of every job so far, in order.
    fn seen(&self) -> Vec<String> {
        self.control.seen.lock().expect("seen lock").clone()
    }

    /// Trigger the shutdown future; `run` starts draining.
    fn begin_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // Gone if the server already stopped on its own (a retirement).
            let _ = stop.send(());
        }
    }

    /// Wait for `run` to return (the drain is done), then for every thread to end.
    fn wait_stopped(mut self) {
        self.done
            .recv_timeout(DRAIN_WAIT)
            .expect("server::run returned: the drain finished");
        if let Some(server) = self.server.take() {
            server.join().expect("the server thread");
        }
        // The runtime is gone, and `Shared` with it: the job queue is closed.
        self.release.take();
        for consumer in self.consumers.drain(..) {
            consumer.join().expect("a consumer thread");
        }
    }

    /// Stop the server and wait until `run` has returned.
    fn stop(mut self) {
        self.begin_stop();
        self.wait_stopped();
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        // A test that failed before `stop`: let the server and the consumers go, unwaited.
        self.release.take();
        self.begin_stop();
    }
}

/// Take jobs one at a time until the queue closes, as a Python thread does (`python::pool`).
fn consume(queue: &flume::Receiver<Job>, control: &Control) {
    while let Ok(job) = queue.recv() {
        let Job {
            environ,
            body,
            reply,
            what: _,
            in_flight,
        } = job;
        let path = environ.get("PATH_INFO").unwrap_or_default().to_owned();
        let query = environ.get("QUERY_STRING").unwrap_or_default().to_owned();
        control
            .seen
            .lock()
            .expect("seen lock")
            .push(format!("{path}?{query}"));
        app(control, &path, &query, Input(body), reply);
        // The job counts as busy until its app is done with it.
        drop(in_flight);
    }
}

/// The apps, by path. `reply` is dropped when the app returns, as the Python side drops it.
fn app(control: &Control, path: &str, query: &str, mut input: Input, reply: flume::Sender<Reply>) {
    let _ = match path {
        // The whole body back, or a 500 when reading it failed (as an app's OSError would be).
        "/echo" => match input.read_all() {
            Ok(body) => reply.send(whole("200 OK", body)),
            Err(e) => reply.send(whole("500 Internal Server Error", e.to_string())),
        },
        // One read of the body, the rest left unread.
        "/partial" => {
            let _ = input.next_chunk();
            reply.send(whole("200 OK", "partial"))
        }
        "/query" => reply.send(whole("200 OK", query.to_owned())),
        "/name" => reply.send(whole("200 OK", control.name)),
        // Busy until the test releases it.
        "/hold" => {
            let _ = control.held.send(());
            let _ = control.release.recv();
            reply.send(whole("200 OK", "released"))
        }
        // The first chunk, then the rest once the test releases it.
        "/stream" => {
            let _ = reply.send(Reply::Head {
                head: head("200 OK", &[]),
                first: Bytes::from_static(b"first\n"),
                done: false,
            });
            let _ = control.release.recv();
            let _ = reply.send(Reply::Chunk(Bytes::from_static(b"second\n")));
            reply.send(Reply::End)
        }
        // `<`, the file named by the query (sent with sendfile), `>`.
        "/file" => match std::fs::File::open(query) {
            Ok(file) => {
                let len = file.metadata().map_or(0, |m| m.len());
                let _ = reply.send(Reply::Head {
                    head: head("200 OK", &[("Content-Length", &(len + 2).to_string())]),
                    first: Bytes::from_static(b"<"),
                    done: false,
                });
                let _ = reply.send(Reply::File {
                    file,
                    offset: 0,
                    len,
                });
                let _ = reply.send(Reply::Chunk(Bytes::from_static(b">")));
                reply.send(Reply::End)
            }
            Err(e) => reply.send(whole("500 Internal Server Error", e.to_string())),
        },
        // The head and a first chunk, then a failure.
        "/abort" => {
            let _ = reply.send(Reply::Head {
                head: head("200 OK", &[]),
                first: Bytes::from_static(b"partial"),
                done: false,
            });
            reply.send(Reply::Abort)
        }
        // Gone without a head.
        "/vanish" => Ok(()),
        _ => reply.send(whole("404 Not Found", "no such app")),
    };
}

fn head(status: &str, headers: &[(&str, &str)]) -> ResponseHead {
    let mut head = HeadBuilder::new(status).expect("the apps' statuses are valid");
    head.header("Content-Type", "text/plain")
        .expect("the apps' headers are valid");
    for (name, value) in headers {
        head.header(name, value)
            .expect("the apps' headers are valid");
    }
    head.finish()
}

/// A complete response with its Content-Length.
fn whole(status: &str, body: impl Into<Bytes>) -> Reply {
    let body = body.into();
    Reply::Head {
        head: head(status, &[("Content-Length", &body.len().to_string())]),
        first: body,
        done: true,
    }
}

/// `wsgi.input` as the Python side reads a job's body (`python::native::ChannelSource`): the
/// first read fires `start`, then chunks come until an empty one.
struct Input(Option<BodyChannel>);

impl Input {
    fn next_chunk(&mut self) -> Result<Option<Bytes>, InputError> {
        let Some(channel) = self.0.as_mut() else {
            return Ok(None);
        };
        if let Some(start) = channel.start.take() {
            let _ = start.send(());
        }
        match channel.chunks.recv_timeout(channel.timeout) {
            Ok(Ok(chunk)) if chunk.is_empty() => {
                self.0 = None;
                Ok(None)
            }
            Ok(Ok(chunk)) => Ok(Some(chunk)),
            Ok(Err(e)) => Err(e),
            Err(flume::RecvTimeoutError::Timeout) => Err(InputError::TimedOut),
            Err(flume::RecvTimeoutError::Disconnected) => Err(InputError::Disconnected),
        }
    }

    fn read_all(&mut self) -> Result<Vec<u8>, InputError> {
        let mut body = Vec::new();
        while let Some(chunk) = self.next_chunk()? {
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

fn text(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

#[test]
fn a_bare_lf_is_refused_and_nothing_after_it_is_served() {
    let server = InProcess::start(Setup::default());
    let raw = server.raw(
        b"GET /query?first HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /query?bare HTTP/1.1\nHost: x\n\n\
          GET /query?after HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let all = parse_all(&raw);
    assert_eq!(all.len(), 2, "{}", text(&raw));
    assert_eq!((all[0].status, all[0].text().as_str()), (200, "first"));
    assert_eq!(all[1].status, 400);
    assert_eq!(all[1].header("connection"), Some("close"));
    assert_eq!(server.seen(), ["/query?first"]);
    server.stop();
}

#[test]
fn content_length_with_chunked_is_refused_and_the_smuggled_request_never_runs() {
    let server = InProcess::start(Setup::default());
    let raw = server.raw(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 45\r\n\
          Transfer-Encoding: chunked\r\n\r\n\
          0\r\n\r\nGET /query?smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let resp = parse_one(&raw);
    assert_eq!(resp.status, 400);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(server.seen().is_empty(), "{:?}", server.seen());
    server.stop();
}

#[test]
fn too_many_or_too_large_header_fields_get_431() {
    let server = InProcess::start(Setup {
        limits: Limits {
            fields: 3,
            field_size: 64,
            ..Limits::default()
        },
        ..Setup::default()
    });
    let many = server.raw(b"GET /query?many HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
    assert!(text(&many).starts_with("HTTP/1.1 431 "), "{}", text(&many));
    let large = format!(
        "GET /query?large HTTP/1.1\r\nHost: x\r\nA: {}\r\n\r\n",
        "a".repeat(64)
    );
    let large = server.raw(large.as_bytes());
    assert!(
        text(&large).starts_with("HTTP/1.1 431 "),
        "{}",
        text(&large)
    );
    // At the limits, served.
    let fits = format!(
        "GET /query?fits HTTP/1.1\r\nHost: x\r\nConnection: close\r\nA: {}\r\n\r\n",
        "a".repeat(59)
    );
    let fits = parse_one(&server.raw(fits.as_bytes()));
    assert_eq!((fits.status, fits.text().as_str()), (200, "fits"));
    assert_eq!(server.seen(), ["/query?fits"]);
    server.stop();
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = InProcess::start(Setup::default());
    let raw = server.raw(
        b"GET /query?1 HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
          GET /vanish HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /query?4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let all = parse_all(&raw);
    let answers: Vec<(u16, String)> = all.iter().map(|r| (r.status, r.text())).collect();
    assert_eq!(
        answers,
        [
            (200, "1".to_owned()),
            (200, "hello".to_owned()),
            // A reply dropped before its head: 500, and the connection goes on.
            (500, "Internal Server Error\n".to_owned()),
            (200, "4".to_owned()),
        ]
    );
    server.stop();
}

#[test]
fn a_chunked_body_is_reassembled_and_its_trailers_accepted() {
    let server = InProcess::start(Setup::default());
    let mut s = server.send(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n",
    );
    s.write_all(b"1\r\n \r\n5\r\nworld\r\n0\r\nX-Checksum: 42\r\n\r\n")
        .expect("send");
    // The request after the trailers is framed where it starts.
    s.write_all(b"GET /query?next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("send");
    let all = parse_all(&read_to_close(&mut s));
    let answers: Vec<(u16, String)> = all.iter().map(|r| (r.status, r.text())).collect();
    assert_eq!(
        answers,
        [(200, "hello world".to_owned()), (200, "next".to_owned())]
    );
    server.stop();
}

#[test]
fn a_partly_read_body_is_skipped_and_the_connection_kept() {
    let server = InProcess::start(Setup::default());
    let raw = server.raw(
        b"POST /partial HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          4\r\naaaa\r\n4\r\nbbbb\r\n4\r\ncccc\r\n0\r\n\r\n\
          GET /query?next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let all = parse_all(&raw);
    let answers: Vec<(u16, String)> = all.iter().map(|r| (r.status, r.text())).collect();
    assert_eq!(
        answers,
        [(200, "partial".to_owned()), (200, "next".to_owned())]
    );
    server.stop();
}

#[test]
fn expect_100_continue_is_answered_only_when_the_app_reads() {
    let server = InProcess::start(Setup::default());
    // The app never reads: no 100, just the answer.
    let unread = server.raw(
        b"POST /query?unread HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
          Expect: 100-continue\r\nConnection: close\r\n\r\n",
    );
    assert!(
        text(&unread).starts_with("HTTP/1.1 200 "),
        "{}",
        text(&unread)
    );
    assert!(!text(&unread).contains("100 Continue"), "{}", text(&unread));
    // The app reads: 100 first, and the body is sent only after it.
    let mut s = server.send(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
          Expect: 100-continue\r\nConnection: close\r\n\r\n",
    );
    let mut raw = read_until(&mut s, b"\r\n\r\n");
    assert!(
        raw.starts_with(b"HTTP/1.1 100 Continue\r\n"),
        "{}",
        text(&raw)
    );
    s.write_all(b"hello").expect("send the body");
    raw.extend(read_to_close(&mut s));
    let all = parse_all(&raw);
    assert_eq!(all.len(), 2, "{}", text(&raw));
    assert_eq!((all[1].status, all[1].text().as_str()), (200, "hello"));
    server.stop();
}

#[test]
fn a_body_over_the_limit_gets_413_and_a_close() {
    let server = InProcess::start(Setup {
        limits: Limits {
            body: Some(16),
            ..Limits::default()
        },
        ..Setup::default()
    });
    // Too large by its Content-Length: answered before the body is sent, without the app.
    let declared = parse_one(
        &server.raw(b"POST /echo?declared HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"),
    );
    assert_eq!(declared.status, 413);
    assert_eq!(declared.header("connection"), Some("close"));
    assert!(server.seen().is_empty(), "{:?}", server.seen());
    // Too large as it arrives: the app's read fails, and the answer is 413 whatever it said.
    let chunked = parse_one(&server.raw(
        b"POST /echo?chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n",
    ));
    assert_eq!(chunked.status, 413);
    assert_eq!(chunked.header("connection"), Some("close"));
    assert_eq!(server.seen(), ["/echo?chunked"]);
    server.stop();
}

#[test]
fn slow_heads_and_stalled_bodies_get_408_and_idle_connections_close() {
    // Short, but no test waits for them: each client waits for the socket. The keep-alive
    // timeout also runs from accept until the first request arrives, so it is the longest.
    let server = InProcess::start(Setup {
        timeouts: Timeouts {
            header: Duration::from_millis(500),
            body: Duration::from_millis(500),
            keep_alive: Duration::from_secs(1),
            graceful: Duration::from_secs(600),
            ..Timeouts::default()
        },
        ..Setup::default()
    });
    let head = server.raw(b"GET /query?slow HTTP/1.1\r\nHost: x\r\n");
    assert!(text(&head).starts_with("HTTP/1.1 408 "), "{}", text(&head));
    // A small body is read whole before the app runs: one that stalls never reaches it.
    let body = server.raw(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf.");
    assert!(text(&body).starts_with("HTTP/1.1 408 "), "{}", text(&body));
    // A kept-alive connection with nothing more to do is closed, quietly.
    let mut s = server.send(b"GET /query?idle HTTP/1.1\r\nHost: x\r\n\r\n");
    let answered = read_until(&mut s, b"\r\n\r\nidle");
    assert!(
        answered.starts_with(b"HTTP/1.1 200 "),
        "{}",
        text(&answered)
    );
    let rest = read_to_close(&mut s);
    assert!(rest.is_empty(), "{}", text(&rest));
    assert_eq!(server.seen(), ["/query?idle"]);
    server.stop();
}

#[test]
fn a_streamed_reply_arrives_chunked_while_the_app_runs() {
    let server = InProcess::start(Setup::default());
    let mut s = server.send(b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    // The first chunk arrives while the app still waits to be released.
    let mut raw = read_until(&mut s, b"first\n");
    server.release();
    raw.extend(read_to_close(&mut s));
    let resp = parse_one(&raw);
    assert_eq!(resp.status, 200);
    assert!(resp.chunked && !resp.truncated, "{}", text(&raw));
    assert_eq!(resp.text(), "first\nsecond\n");
    server.stop();
}

#[test]
fn an_abort_after_the_head_cuts_the_connection() {
    let server = InProcess::start(Setup::default());
    // Kept alive unless cut: reading to the close shows that it was.
    let raw = server.raw(b"GET /abort HTTP/1.1\r\nHost: x\r\n\r\n");
    let resp = parse_one(&raw);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), "partial");
    assert!(resp.chunked && resp.truncated, "{}", text(&raw));
    assert!(!raw.ends_with(b"0\r\n\r\n"), "{}", text(&raw));
    server.stop();
}

#[test]
fn a_file_reply_is_sent_whole_between_the_chunks_around_it() {
    let dir = TempDir::new("in-process-file");
    let path = dir.path().join("data");
    // Over two sendfile frames (zero_copy::FRAME is 1 MiB), and not a multiple of one.
    let data: Vec<u8> = (0..(5 << 19) + 7).map(|i: u32| (i % 251) as u8).collect();
    std::fs::write(&path, &data).expect("write the file");
    let server = InProcess::start(Setup::default());
    let request = format!(
        "GET /file?{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        path.display()
    );
    let resp = parse_one(&server.raw(request.as_bytes()));
    assert_eq!(resp.status, 200);
    let expected = [&b"<"[..], &data, b">"].concat();
    assert_eq!(
        resp.header("content-length"),
        Some(expected.len().to_string().as_str())
    );
    assert!(!resp.truncated);
    assert!(resp.body == expected, "the body differs from the file");
    server.stop();
}

#[test]
fn head_gets_headers_and_no_body() {
    let server = InProcess::start(Setup::default());
    let raw = server.raw(
        b"HEAD /query?head HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /query?next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let (head, used) = parse_head_only(&raw);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("4"));
    // The next response starts right after the HEAD's headers: no body was sent.
    let next = parse_one(&raw[used..]);
    assert_eq!(next.text(), "next");
    server.stop();
}

#[test]
fn a_request_past_the_timeout_gets_504_and_the_worker_retires() {
    let server = InProcess::start(Setup {
        consumers: 1,
        timeouts: Timeouts {
            request: Some(Duration::from_millis(300)),
            graceful: Duration::from_secs(600),
            ..Timeouts::default()
        },
        ..Setup::default()
    });
    let raw = server.raw(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
    let resp = parse_one(&raw);
    assert_eq!(resp.status, 504);
    assert_eq!(resp.header("connection"), Some("close"));
    server.wait_held();
    assert_eq!(server.lifecycle.reason(), Some(Retire::Timeout));
    server.release();
    // Retired: `run` returns without the test's trigger.
    server.wait_stopped();
}

#[test]
fn max_requests_retire_the_worker_after_the_last_answer() {
    let server = InProcess::start(Setup {
        max_requests: Some(2),
        ..Setup::default()
    });
    let raw = server.raw(
        b"GET /query?1 HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /query?2 HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let all = parse_all(&raw);
    let answers: Vec<(u16, String)> = all.iter().map(|r| (r.status, r.text())).collect();
    assert_eq!(answers, [(200, "1".to_owned()), (200, "2".to_owned())]);
    assert_eq!(server.lifecycle.reason(), Some(Retire::MaxRequests));
    server.wait_stopped();
}

#[test]
fn a_connection_that_arrives_while_every_consumer_is_busy_is_served_after() {
    let server = InProcess::start(Setup {
        consumers: 1,
        ..Setup::default()
    });
    let mut first = server.send(b"GET /hold HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    server.wait_held();
    // The only consumer is busy: this connection is still taken (a worker alone on the board
    // takes what comes) and its request queued, neither refused nor dropped.
    let mut second =
        server.send(b"GET /query?second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    server.release();
    let first = parse_one(&read_to_close(&mut first));
    assert_eq!((first.status, first.text().as_str()), (200, "released"));
    let second = parse_one(&read_to_close(&mut second));
    assert_eq!((second.status, second.text().as_str()), (200, "second"));
    assert_eq!(server.seen(), ["/hold?", "/query?second"]);
    server.stop();
}

#[test]
fn max_connections_keeps_the_next_connection_waiting_until_one_closes() {
    let server = InProcess::start(Setup {
        consumers: 2,
        max_connections: 1,
        ..Setup::default()
    });
    let mut first = server.send(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
    server.wait_held();
    // A consumer is free, but the one connection allowed is open: this one waits.
    let mut second =
        server.send(b"GET /query?second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    server.release();
    let released = read_until(&mut first, b"released");
    assert!(
        released.starts_with(b"HTTP/1.1 200 "),
        "{}",
        text(&released)
    );
    first
        .write_all(b"GET /query?again HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("send");
    let again = parse_one(&read_to_close(&mut first));
    assert_eq!(again.text(), "again");
    let second = parse_one(&read_to_close(&mut second));
    assert_eq!(second.text(), "second");
    // The second connection's request ran only once the first connection had closed, after
    // that connection's own next request.
    assert_eq!(server.seen(), ["/hold?", "/query?again", "/query?second"]);
    server.stop();
}

#[test]
fn a_waiting_connection_goes_to_the_worker_with_a_free_thread() {
    let board = Board::map().expect("map the board");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    // A third worker on the board with its one thread busy, so that the first is never alone
    // on it (a worker alone accepts whatever comes).
    let elsewhere = Occupancy::new(1, Some(Seat { board, index: 2 }));
    let _elsewhere_busy = elsewhere.begin("GET /elsewhere");
    let busy = InProcess::start(Setup {
        consumers: 1,
        seat: Some(Seat { board, index: 0 }),
        name: "busy",
        listener: Some(listener.try_clone().expect("clone the listener")),
        ..Setup::default()
    });
    // The only one on the listener, with a free thread, the first worker takes this request
    // and is busy with it.
    let mut held = busy.send(b"GET /hold HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    busy.wait_held();
    // A second worker on the same listener, with its thread free. The busy worker leaves
    // waiting connections to it (it would take one itself only after STALLED_WAIT, a second,
    // with the free one not accepting). Several rounds: a busy worker that
    // accepted at once would win some of these races.
    let free = InProcess::start(Setup {
        consumers: 1,
        seat: Some(Seat { board, index: 1 }),
        name: "free",
        listener: Some(listener),
        ..Setup::default()
    });
    // While its only job is young (2 ms), a busy worker still takes one connection ahead, and
    // each of its looks lasts up to 5 ms: wait until the held job is well past both.
    busy.wait_job_older_than(Duration::from_millis(50));
    for _ in 0..5 {
        let resp =
            parse_one(&free.raw(b"GET /name HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        assert_eq!((resp.status, resp.text().as_str()), (200, "free"));
    }
    busy.release();
    let released = parse_one(&read_to_close(&mut held));
    assert_eq!(released.text(), "released");
    assert_eq!(busy.seen(), ["/hold?"]);
    free.stop();
    busy.stop();
}

#[test]
fn a_stop_finishes_the_request_in_flight_and_closes_idle_connections() {
    let mut server = InProcess::start(Setup::default());
    let mut in_flight = server.send(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
    server.wait_held();
    let mut idle = server.send(b"GET /query?idle HTTP/1.1\r\nHost: x\r\n\r\n");
    read_until(&mut idle, b"\r\n\r\nidle");
    server.begin_stop();
    // Draining: the idle keep-alive connection is closed at once.
    let rest = read_to_close(&mut idle);
    assert!(rest.is_empty(), "{}", text(&rest));
    // The request in flight still gets its whole answer, then its connection closes.
    server.release();
    let resp = parse_one(&read_to_close(&mut in_flight));
    assert_eq!((resp.status, resp.text().as_str()), (200, "released"));
    assert!(!resp.truncated);
    server.wait_stopped();
}
