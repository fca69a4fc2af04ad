//! `hyper-hello PORT [WORKERS]`: answers every request with the 12-byte "Hello World!" that
//! apps/hello.py sends, on 127.0.0.1:PORT. Each worker is one OS thread running a tokio
//! current_thread runtime that accepts from the shared listening socket (no Python at all):
//! the ceiling that any server on this machine's HTTP stack can reach.

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener as StdListener};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

async fn hello(_req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::builder()
        .header("Content-Type", "text/plain")
        .body(Full::new(Bytes::from_static(b"Hello World!")))
        .expect("static response"))
}

fn serve(listener: StdListener) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            tokio::task::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(hello))
                    .await;
            });
        }
    });
}

fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).expect("usage: hyper-hello PORT [WORKERS]");
    let workers: usize = args.next().and_then(|w| w.parse().ok()).unwrap_or(1).max(1);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = StdListener::bind(addr).expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    eprintln!("hyper-hello listening on http://{addr} with {workers} worker(s)");
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let l = listener.try_clone().expect("clone listener");
            std::thread::spawn(move || serve(l))
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
}
