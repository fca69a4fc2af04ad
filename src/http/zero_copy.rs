//! Zero-copy file bodies under hyper. hyper writes every body byte itself, so a file cannot be
//! handed to sendfile(2) directly. Instead a file body yields *placeholder* frames: slices of
//! one static, never-written buffer, each registered beforehand, in order, as a segment of the
//! file. hyper queues body frames without copying them (the writev strategy, forced in
//! `server::builder`), so the connection's writer ([`guard::GuardedIo`](super::guard)) sees
//! those very slices and hands its writes to [`poll_write`] / [`poll_write_vectored`] here,
//! which recognise them by address and send the registered file segment with sendfile(2)
//! instead. A placeholder without a registered segment, or a file that ends early, fails the
//! connection: the placeholder bytes themselves are never sent.
//!
//! The segments are the `sendfile` part of the connection
//! ([`Connection`](crate::http::connection::Connection)), absent where sendfile(2) cannot
//! write (TLS, HTTP/2): file bodies then read the file instead.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use tokio::io::{AsyncWrite, Interest};

/// The largest placeholder frame: one sendfile call's worth.
pub const FRAME: usize = 1 << 20;

/// Never written, so it stays in untouched zero pages and costs no memory.
static PLACEHOLDER: [u8; FRAME] = [0; FRAME];

/// A placeholder frame of `len` bytes (at most [`FRAME`]).
pub fn placeholder(len: usize) -> Bytes {
    Bytes::from_static(&PLACEHOLDER[..len.min(FRAME)])
}

/// Whether `slice` lies inside the placeholder buffer.
pub fn is_placeholder(slice: &[u8]) -> bool {
    let start = PLACEHOLDER.as_ptr() as usize;
    let p = slice.as_ptr() as usize;
    !slice.is_empty() && p >= start && p + slice.len() <= start + FRAME
}

/// Part of a file promised to the connection's writer.
#[derive(Debug)]
struct Segment {
    file: Arc<File>,
    offset: u64,
    len: u64,
}

/// A connection's promised segments, in write order.
#[derive(Debug, Default)]
pub struct Segments(Mutex<VecDeque<Segment>>);

impl Segments {
    /// Promise `len` bytes of `file` from `offset` for the next placeholder of that length.
    pub fn push(&self, file: &Arc<File>, offset: u64, len: u64) {
        if let Ok(mut q) = self.0.lock() {
            q.push_back(Segment {
                file: Arc::clone(file),
                offset,
                len,
            });
        }
    }

    /// Send up to `want` bytes of the front segment to `socket`.
    fn poll_send<S: ZeroCopy>(
        &self,
        socket: &S,
        cx: &mut Context<'_>,
        want: usize,
    ) -> Poll<io::Result<usize>> {
        let Ok(mut q) = self.0.lock() else {
            return Poll::Ready(Err(io::Error::other("segment queue poisoned")));
        };
        let Some(front) = q.front_mut() else {
            return Poll::Ready(Err(io::Error::other(NO_SEGMENT)));
        };
        let count = usize::try_from(front.len).map_or(want, |len| len.min(want));
        let sent =
            ready!(socket.poll_send_file(cx, front.file.as_raw_fd(), &mut front.offset, count))?;
        if sent == 0 {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file ended before its promised length",
            )));
        }
        front.len -= sent as u64;
        if front.len == 0 {
            q.pop_front();
        }
        Poll::Ready(Ok(sent))
    }
}

/// Write `buf` to `socket`, the writer's side of zero-copy bodies: a placeholder frame becomes
/// sendfile(2) of the front segment of `segments` (the connection's `sendfile` part), any other
/// bytes go straight to the socket.
pub fn poll_write<S: AsyncWrite + ZeroCopy + Unpin>(
    socket: &mut S,
    segments: Option<&Segments>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    if is_placeholder(buf) {
        return poll_send_segment(socket, segments, cx, buf.len());
    }
    Pin::new(socket).poll_write(cx, buf)
}

/// [`poll_write`] for a vectored write: the slices before the first placeholder go out
/// together, a placeholder at the front goes out with sendfile(2) alone.
pub fn poll_write_vectored<S: AsyncWrite + ZeroCopy + Unpin>(
    socket: &mut S,
    segments: Option<&Segments>,
    cx: &mut Context<'_>,
    bufs: &[io::IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    match bufs.iter().position(|b| is_placeholder(b)) {
        None => Pin::new(socket).poll_write_vectored(cx, bufs),
        Some(0) => poll_send_segment(socket, segments, cx, bufs[0].len()),
        // The bytes before the file part first; hyper calls again for the rest.
        Some(i) => Pin::new(socket).poll_write_vectored(cx, &bufs[..i]),
    }
}

/// Send a placeholder's worth of the front segment; a connection without segments (TLS) has
/// none promised, as for an empty queue.
fn poll_send_segment<S: ZeroCopy>(
    socket: &S,
    segments: Option<&Segments>,
    cx: &mut Context<'_>,
    want: usize,
) -> Poll<io::Result<usize>> {
    match segments {
        Some(segments) => segments.poll_send(socket, cx, want),
        None => Poll::Ready(Err(io::Error::other(NO_SEGMENT))),
    }
}

/// A placeholder reached the writer with no file segment promised for it.
const NO_SEGMENT: &str = "placeholder bytes without a file segment";

/// A socket sendfile(2) can write to.
pub trait ZeroCopy {
    /// sendfile from `file` at `offset` (advanced), at most `count` bytes, waiting for
    /// writability.
    fn poll_send_file(
        &self,
        cx: &mut Context<'_>,
        file: RawFd,
        offset: &mut u64,
        count: usize,
    ) -> Poll<io::Result<usize>>;
}

macro_rules! zero_copy_for {
    ($stream:ty) => {
        impl ZeroCopy for $stream {
            fn poll_send_file(
                &self,
                cx: &mut Context<'_>,
                file: RawFd,
                offset: &mut u64,
                count: usize,
            ) -> Poll<io::Result<usize>> {
                loop {
                    ready!(self.poll_write_ready(cx))?;
                    let socket = self.as_raw_fd();
                    match self.try_io(Interest::WRITABLE, || {
                        crate::process::sys::sendfile(socket, file, offset, count)
                    }) {
                        Ok(n) => return Poll::Ready(Ok(n)),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
            }
        }
    };
}

zero_copy_for!(tokio::net::TcpStream);
zero_copy_for!(tokio::net::UnixStream);

/// TLS encrypts in user space, so no sendfile: file bodies on TLS connections read the file
/// instead (their connection has no `sendfile` part), and this is never reached.
impl<S> ZeroCopy for tokio_rustls::server::TlsStream<S> {
    fn poll_send_file(
        &self,
        _cx: &mut Context<'_>,
        _file: RawFd,
        _offset: &mut u64,
        _count: usize,
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "sendfile over TLS",
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_recognised_by_address() {
        let p = placeholder(100);
        assert!(is_placeholder(&p));
        assert!(is_placeholder(&p[10..20]));
        let copy = p.to_vec();
        assert!(
            !is_placeholder(&copy),
            "a copy of the bytes is not a placeholder"
        );
        assert!(!is_placeholder(b""));
        assert_eq!(placeholder(FRAME + 5).len(), FRAME);
    }
}
