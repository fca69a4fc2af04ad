//! A fuzz run over the request path, as a unit test: generated and mutated request bytes go
//! through the framing guard (whole and in random pieces), every head it passes goes through
//! hyper's parser (httparse) and the environ build, and random app statuses and headers go
//! through the response-head checks. Nothing may panic, and the guard must give the same
//! result however the bytes are split, and never pass a byte after a refused head.
//!
//! `cargo test --lib --ignore-rust-version fuzz` runs it for 2 s (CI);
//! `RWSGI_FUZZ_SECS=600 cargo test --release --lib --ignore-rust-version fuzz -- --nocapture`
//! for ten minutes. `RWSGI_FUZZ_SEED` replays a run (the seed is printed).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::http::connection::{Requests, Verdict};
use crate::http::guard::{Cut, Scanner};
use crate::http::limits::Limits;
use crate::wsgi::environ::{self, ConnInfo, EnvironRules};
use crate::wsgi::forwarded::TrustedProxies;
use crate::wsgi::response::HeadBuilder;

/// xorshift64*: small, fast, and reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a [u8]]) -> &'a [u8] {
        items[self.below(items.len())]
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

const METHODS: &[&[u8]] = &[
    b"GET", b"POST", b"PUT", b"HEAD", b"OPTIONS", b"DELETE", b"CONNECT", b"get", b"G#T", b"PATCH",
];
const TARGETS: &[&[u8]] = &[
    b"/",
    b"/a/b?c=d&e",
    b"/%2F%00%ff?x=%zz",
    b"*",
    b"http://h:80/p?q",
    b"/caf\xc3\xa9/\"q\"?a=<b>",
    b"//x/../y/./z",
    b"/a#frag",
    b"",
    b"noslash",
];
const VERSIONS: &[&[u8]] = &[
    b"HTTP/1.1",
    b"HTTP/1.0",
    b"HTTP/2.0",
    b"HTTP/1.1 ",
    b"http/1.1",
];
const NAMES: &[&[u8]] = &[
    b"Host",
    b"Content-Length",
    b"Transfer-Encoding",
    b"Content-Type",
    b"X-Forwarded-For",
    b"X-Forwarded-Proto",
    b"Forwarded",
    b"Expect",
    b"Connection",
    b"Trailer",
    b"Bad Name",
    b"X:Y",
    b"",
];
const VALUES: &[&[u8]] = &[
    b"example.com:8000",
    b"0",
    b"5",
    b"18446744073709551616",
    b"chunked",
    b"gzip, chunked",
    b"chunked, gzip",
    b"100-continue",
    b"for=1.2.3.4;proto=https",
    b"1.2.3.4, 5.6.7.8",
    b"https",
    b"caf\xe9",
    b"a\x07b",
    b" ",
];

/// One request-like message: a head, then a body framed (or not) as the head says.
fn message(rng: &mut Rng) -> Vec<u8> {
    let mut m = Vec::new();
    if rng.chance(5) {
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(rng.pick(METHODS));
    m.push(b' ');
    m.extend_from_slice(rng.pick(TARGETS));
    m.push(b' ');
    m.extend_from_slice(rng.pick(VERSIONS));
    m.extend_from_slice(b"\r\n");
    let chunked = rng.chance(30);
    let length = rng.below(40);
    for _ in 0..rng.below(8) {
        m.extend_from_slice(rng.pick(NAMES));
        m.extend_from_slice(b": ");
        m.extend_from_slice(rng.pick(VALUES));
        m.extend_from_slice(b"\r\n");
    }
    if chunked {
        m.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    } else if rng.chance(70) {
        m.extend_from_slice(format!("Content-Length: {length}\r\n").as_bytes());
    }
    m.extend_from_slice(b"\r\n");
    if chunked {
        for _ in 0..rng.below(4) {
            let n = rng.below(20);
            m.extend_from_slice(format!("{n:x}").as_bytes());
            if rng.chance(20) {
                m.extend_from_slice(b";ext=\"v\"");
            }
            m.extend_from_slice(b"\r\n");
            m.extend(rng.bytes(n));
            m.extend_from_slice(b"\r\n");
        }
        m.extend_from_slice(b"0\r\n");
        if rng.chance(30) {
            m.extend_from_slice(rng.pick(NAMES));
            m.extend_from_slice(b": t\r\n");
        }
        m.extend_from_slice(b"\r\n");
    } else {
        m.extend(rng.bytes(length));
    }
    m
}

/// A few messages, then a few random edits.
fn input(rng: &mut Rng) -> Vec<u8> {
    let mut data = Vec::new();
    for _ in 0..=rng.below(3) {
        data.extend(message(rng));
    }
    for _ in 0..rng.below(4) {
        if data.is_empty() {
            break;
        }
        let at = rng.below(data.len());
        match rng.below(4) {
            0 => data[at] = rng.next() as u8,
            1 => data.insert(at, rng.next() as u8),
            2 => {
                data.remove(at);
            }
            _ => {
                let end = (at + rng.below(16)).min(data.len());
                let copy = data[at..end].to_vec();
                data.splice(at..at, copy);
            }
        }
    }
    data
}

/// The guard over `data` fed in pieces from `sizes` (cycled).
fn scan(data: &[u8], sizes: &[usize]) -> (Vec<u8>, Vec<Verdict>, Option<Cut>) {
    let requests = Arc::new(Requests::default());
    let mut scanner = Scanner::new(Arc::clone(&requests), Limits::default());
    let mut out = BytesMut::new();
    let mut cut = None;
    let (mut at, mut i) = (0, 0);
    while at < data.len() && cut.is_none() {
        let n = sizes[i % sizes.len()].max(1).min(data.len() - at);
        if let Err(c) = scanner.feed(&data[at..at + n], &mut out) {
            cut = Some(c);
        }
        at += n;
        i += 1;
    }
    let verdicts = std::iter::from_fn(|| requests.next_verdict()).collect();
    (out.to_vec(), verdicts, cut)
}

/// Every head in the guard's output through httparse (as hyper parses it) and the environ.
fn environs(out: &[u8], rules: &EnvironRules, conn: &ConnInfo) {
    let mut rest = out;
    while !rest.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 128];
        let mut req = httparse::Request::new(&mut headers);
        let Ok(httparse::Status::Complete(used)) = req.parse(rest) else {
            return; // a body, or a head hyper itself would refuse: the guard's tests cover these
        };
        let mut builder = http::Request::builder()
            .method(req.method.unwrap_or("GET"))
            .uri(req.path.unwrap_or("/"));
        for h in req.headers.iter() {
            builder = builder.header(h.name, h.value);
        }
        if let Ok(request) = builder.body(()) {
            let (parts, ()) = request.into_parts();
            let _ = environ::build(&parts, conn, rules);
        }
        rest = &rest[used..];
    }
}

/// Random app statuses and headers through the response-head checks.
fn response_heads(rng: &mut Rng) {
    let statuses: &[&[u8]] = &[
        b"200 OK",
        b"999 X",
        b"20 short",
        b"200",
        b"404 Not Found\r\n",
    ];
    let mut status = rng.pick(statuses).to_vec();
    if rng.chance(30) {
        status.extend(rng.bytes(3));
    }
    let Ok(mut head) = HeadBuilder::new(&String::from_utf8_lossy(&status)) else {
        return;
    };
    for _ in 0..rng.below(5) {
        let name = String::from_utf8_lossy(rng.pick(NAMES)).into_owned();
        let mut value = rng.pick(VALUES).to_vec();
        if rng.chance(30) {
            value.extend(rng.bytes(4));
        }
        let _ = head.header(&name, &String::from_utf8_lossy(&value));
    }
    let _ = head.finish();
}

#[test]
fn request_path_never_panics_and_splits_agree() {
    let secs = std::env::var("RWSGI_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(2);
    let seed = std::env::var("RWSGI_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    println!("fuzz seed {seed} for {secs} s (RWSGI_FUZZ_SEED replays it)");
    let mut rng = Rng(seed);
    let rules = EnvironRules {
        mount: None,
        trusted: TrustedProxies::parse(&["127.0.0.1".to_owned()]).expect("valid"),
    };
    let conn = ConnInfo {
        remote: Some("127.0.0.1:5555".parse().expect("addr")),
        local: Some("127.0.0.1:8000".parse().expect("addr")),
        scheme: "http",
    };
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut cases = 0u64;
    while Instant::now() < deadline {
        for _ in 0..100 {
            let data = input(&mut rng);
            let whole = scan(&data, &[data.len()]);
            let sizes: Vec<usize> = (0..4).map(|_| 1 + rng.below(17)).collect();
            let split = scan(&data, &sizes);
            assert_eq!(
                whole, split,
                "split {sizes:?} differs for {data:?} (seed {seed})"
            );
            let (out, _, cut) = &whole;
            if *cut == Some(Cut::Refused) {
                assert!(
                    out.ends_with(super::guard::DUMMY_REQUEST),
                    "bytes after a refused head passed (seed {seed}): {data:?}"
                );
            }
            environs(out, &rules, &conn);
            response_heads(&mut rng);
            cases += 1;
        }
    }
    println!("fuzz: {cases} inputs, no panic");
}
