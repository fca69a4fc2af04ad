//! The guard's I/O: [`GuardedIo`] wraps a connection's socket for hyper. Reads go through the
//! [`Scanner`] (after a PROXY protocol header, when one may come); the idle and head timers run
//! here; writes go to the socket, file bodies through the sendfile path of
//! [`zero_copy`](crate::http::zero_copy).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BytesMut};
use http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::rules::{bad, reject};
use super::scanner::{Cut, Scanner};
use crate::http::connection::Connection;
use crate::http::limits::{Limits, Timeouts};
use crate::http::proxy_protocol::{self, Parsed};
use crate::http::zero_copy::{self, ZeroCopy};

/// Bytes read from the socket at a time.
const READ_SIZE: usize = 16 * 1024;

/// The connection as hyper sees it: reads pass through the [`Scanner`], writes go straight
/// (file bodies through the sendfile path).
/// It also keeps time: an idle connection (no request open, nothing of the next one received)
/// is closed after `--keep-alive`; a head that has begun must be complete within
/// `--header-timeout`, else 408.
pub struct GuardedIo<S> {
    inner: S,
    /// Its parts this side uses: `requests` (through the scanner, and for the idle clock),
    /// `proxy_peer` (set from a PROXY header) and `sendfile` (the writer's segments).
    connection: Arc<Connection>,
    /// Still looking for a PROXY protocol header.
    proxy: Option<ProxyHeader>,
    scanner: Scanner,
    out: BytesMut,
    raw: Box<[u8]>,
    cut: Option<Cut>,
    timeouts: Timeouts,
    idle_since: Option<Instant>,
    timer: Pin<Box<Sleep>>,
}

/// The start of a connection while a PROXY header may still come.
struct ProxyHeader {
    buf: Vec<u8>,
    trusted: bool,
}

impl<S> GuardedIo<S> {
    /// `proxy`: look for a PROXY protocol header first (`--proxy-protocol`), and whether the
    /// peer may send one.
    pub fn new(
        inner: S,
        connection: Arc<Connection>,
        limits: Limits,
        timeouts: Timeouts,
        proxy: Option<bool>,
    ) -> Self {
        Self {
            proxy: proxy.map(|trusted| ProxyHeader {
                buf: Vec::new(),
                trusted,
            }),
            inner,
            scanner: Scanner::new(Arc::clone(&connection.requests), limits),
            connection,
            out: BytesMut::new(),
            raw: vec![0u8; READ_SIZE].into_boxed_slice(),
            cut: None,
            timeouts,
            idle_since: None,
            timer: Box::pin(tokio::time::sleep(timeouts.keep_alive)),
        }
    }

    /// When waiting for the client must end, and whether that is mid-head.
    fn deadline(&mut self) -> Option<(Instant, bool)> {
        if let Some(started) = self.scanner.head_started() {
            return Some((started + self.timeouts.header, true));
        }
        if self.scanner.idle() && self.connection.requests.none_open() {
            let since = *self.idle_since.get_or_insert_with(Instant::now);
            return Some((since + self.timeouts.keep_alive, false));
        }
        self.idle_since = None;
        None
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for GuardedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.out.is_empty() {
                let n = this.out.len().min(buf.remaining());
                buf.put_slice(&this.out[..n]);
                this.out.advance(n);
                return Poll::Ready(Ok(()));
            }
            match &this.cut {
                Some(Cut::Refused) => return Poll::Ready(Ok(())),
                Some(Cut::Body(why)) => {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, *why)));
                }
                None => {}
            }
            let deadline = this.deadline();
            let mut raw = ReadBuf::new(&mut this.raw);
            match Pin::new(&mut this.inner).poll_read(cx, &mut raw) {
                Poll::Ready(result) => result?,
                Poll::Pending => {
                    let Some((at, mid_head)) = deadline else {
                        return Poll::Pending;
                    };
                    if this.timer.deadline() != at {
                        this.timer.as_mut().reset(at);
                    }
                    ready!(this.timer.as_mut().poll(cx));
                    if mid_head {
                        let why = reject(StatusCode::REQUEST_TIMEOUT, "request head too slow");
                        this.cut = Some(this.scanner.refuse(why, &mut this.out));
                        continue;
                    }
                    // Idle past --keep-alive: end of stream, and hyper closes quietly.
                    this.cut = Some(Cut::Refused);
                    return Poll::Ready(Ok(()));
                }
            }
            this.idle_since = None;
            let filled = raw.filled();
            if filled.is_empty() {
                return Poll::Ready(Ok(()));
            }
            let result = match this.proxy.as_mut() {
                None => this.scanner.feed(filled, &mut this.out),
                Some(proxy) => {
                    proxy.buf.extend_from_slice(filled);
                    match proxy_protocol::parse(&proxy.buf) {
                        Parsed::Incomplete => Ok(()),
                        Parsed::NotProxy => {
                            let data = std::mem::take(&mut proxy.buf);
                            this.proxy = None;
                            this.scanner.feed(&data, &mut this.out)
                        }
                        Parsed::Header { .. } if !proxy.trusted => Err(this.scanner.refuse(
                            bad("PROXY header from a peer not in --forwarded-allow-ips"),
                            &mut this.out,
                        )),
                        Parsed::Header { len, source } => {
                            let data = std::mem::take(&mut proxy.buf);
                            this.proxy = None;
                            if let Some(source) = source {
                                this.connection.proxy_peer.set(source);
                            }
                            this.scanner.feed(&data[len..], &mut this.out)
                        }
                        Parsed::Invalid(why) => Err(this.scanner.refuse(bad(why), &mut this.out)),
                    }
                }
            };
            if let Err(cut) = result {
                this.cut = Some(cut);
            }
        }
    }
}

/// Writes go straight to the socket, except placeholder frames of zero-copy bodies, which
/// become sendfile(2) calls (see `zero_copy`).
impl<S: AsyncWrite + ZeroCopy + Unpin> AsyncWrite for GuardedIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let segments = this.connection.sendfile.as_ref();
        zero_copy::poll_write(&mut this.inner, segments, cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let segments = this.connection.sendfile.as_ref();
        zero_copy::poll_write_vectored(&mut this.inner, segments, cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
