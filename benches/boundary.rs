//! Micro-benchmark of the per-request Python boundary, without HTTP: the environ built from a
//! parsed request head, the environ dict, the app's call with the native `start_response`, and
//! the body handed to the reply channel. It shows a regression on that path without a load
//! test. Run it (never part of `cargo test`) with
//!
//! ```sh
//! cargo bench --bench boundary --ignore-rust-version            # release profile
//! cargo bench --bench boundary --ignore-rust-version --profile profiling -- --quick
//! ```
//!
//! Each case runs `SAMPLES` samples of a fixed number of calls after a warm-up, and prints the
//! median time per call with the spread (half the min-max range, in % of the median). The
//! "via pool" case sends the same jobs through the worker's queue to a Python thread, so its
//! difference to the in-thread case is the cost of the thread hop.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rwsgi::http::occupancy::Occupancy;
use rwsgi::job::{Job, Reply, Token};
use rwsgi::python::app::{App, AppSettings, AppSource};
use rwsgi::python::{Pool, interp};
use rwsgi::wsgi::environ::{self, ConnInfo, EnvironRules};
use rwsgi::wsgi::forwarded::TrustedProxies;

/// Samples per case; the median is reported.
const SAMPLES: usize = 15;

/// The apps, in `benches/apps.py`.
const CASES: &[(&str, &str)] = &[
    ("hello", "hello: one bytes in a list"),
    ("stream", "16 yielded chunks of 1 KiB"),
    ("writer", "write() of 4 chunks, empty iterable"),
    ("headers", "hello with 10 response headers"),
];

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let calls = if quick { 2_000 } else { 20_000 };
    let apps = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/apps.py");
    let request = Request::new();
    println!(
        "{:<44} {:>12} {:>8}",
        "case (per call, in one interpreter)", "median", "spread"
    );
    let (ns, spread) = measure(calls * 10, || {
        std::hint::black_box(request.environ());
    });
    print_row("environ strings only (Rust, no Python)", ns, spread);
    for (callable, what) in CASES {
        let settings = settings(&apps, callable);
        let interpreter = interp::build(settings.sys_path.clone(), None);
        interpreter.enter(|vm| -> anyhow::Result<()> {
            let app = App::load(
                vm,
                &settings,
                Some(&rwsgi::python::watchdog::ThreadWatch::new()),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let (ns, spread) = measure(calls, || {
                let (job, replies) = request.job();
                app.run_request(vm, job.environ, job.body, job.reply);
                drain(&replies);
            });
            print_row(what, ns, spread);
            Ok(())
        })?;
    }
    let (pool, _) =
        Pool::start(settings(&apps, "hello"), 1, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let jobs = pool.sender();
    let (ns, spread) = measure(calls, || {
        let (job, replies) = request.job();
        if jobs.send(job).is_ok() {
            drain(&replies);
        }
    });
    print_row("hello via the pool (one thread hop each way)", ns, spread);
    drop(jobs);
    pool.shutdown();
    Ok(())
}

fn settings(apps: &std::path::Path, callable: &str) -> AppSettings {
    AppSettings {
        source: AppSource::File(apps.to_path_buf()),
        callable: callable.to_owned(),
        sys_path: Vec::new(),
        bundle: None,
        multiprocess: false,
        hash_seed: None,
    }
}

/// A typical browser-less request: `GET /hello?name=x` with a Host and two more headers.
struct Request {
    parts: http::request::Parts,
    conn: ConnInfo,
    rules: EnvironRules,
    occupancy: Arc<Occupancy>,
}

impl Request {
    fn new() -> Self {
        let (parts, ()) = http::Request::builder()
            .uri("/hello?name=x")
            .header("host", "127.0.0.1:8000")
            .header("user-agent", "boundary-bench")
            .header("accept", "*/*")
            .body(())
            .unwrap_or_default()
            .into_parts();
        let local: SocketAddr = ([127, 0, 0, 1], 8000).into();
        let remote: SocketAddr = ([127, 0, 0, 1], 50000).into();
        Self {
            parts,
            conn: ConnInfo {
                remote: Some(remote),
                local: Some(local),
                scheme: "http",
            },
            rules: EnvironRules {
                mount: None,
                trusted: TrustedProxies::parse(&[]).unwrap_or_else(|e| panic!("{e}")),
            },
            occupancy: Occupancy::new(1, None),
        }
    }

    fn environ(&self) -> environ::Environ {
        environ::build(&self.parts, &self.conn, &self.rules)
            .unwrap_or_else(|e| panic!("environ: {e:?}"))
    }

    /// A job as the HTTP side makes it, and the receiver of its replies.
    fn job(&self) -> (Job, flume::Receiver<Reply>) {
        let (reply, replies) = flume::bounded(64);
        let job = Job {
            environ: self.environ(),
            body: None,
            reply,
            what: "GET /hello".into(),
            in_flight: Token::new(self.occupancy.begin("GET /hello".to_owned())),
        };
        (job, replies)
    }
}

/// Take every reply of one job, and fail loudly on an error response: a benchmark of a broken
/// app measures nothing.
fn drain(replies: &flume::Receiver<Reply>) {
    while let Ok(reply) = replies.recv() {
        match reply {
            Reply::Head { head, done, .. } => {
                assert_eq!(head.status.as_u16(), 200, "the bench app failed");
                if done {
                    return;
                }
            }
            Reply::End | Reply::Abort => return,
            Reply::Chunk(_) | Reply::File { .. } => {}
        }
    }
}

/// Median ns per call over `SAMPLES` samples of `calls` calls, and the spread in %.
fn measure(calls: usize, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..calls / 4 {
        f();
    }
    let mut samples: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let began = Instant::now();
            for _ in 0..calls {
                f();
            }
            duration_ns(began.elapsed()) / calls as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    let median = samples[SAMPLES / 2];
    let spread = (samples[SAMPLES - 1] - samples[0]) / 2.0 / median * 100.0;
    (median, spread)
}

fn duration_ns(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}

fn print_row(what: &str, ns: f64, spread: f64) {
    let time = if ns >= 1000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    };
    println!("{what:<44} {time:>12} {:>7.1}%", spread);
}
