//! Zero-copy file bodies under hyper. hyper writes every body byte itself, so a file cannot be
//! handed to sendfile(2) directly. Instead a file body yields *placeholder* frames: slices of
//! one static, never-written buffer, each registered beforehand, in order, as a segment of the
//! file. hyper queues body frames without copying them (the writev strategy, forced in
//! `server::builder`), so the connection's writer ([`guard::GuardedIo`](super::guard)) sees
//! those very slices, recognises them by address, and sends the registered file segment with
//! sendfile(2) instead. A placeholder without a registered segment, or a file that ends early,
//! fails the connection: the placeholder bytes themselves are never sent.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use tokio::io::Interest;

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
    pub fn poll_send<S: ZeroCopy>(
        &self,
        socket: &S,
        cx: &mut Context<'_>,
        want: usize,
    ) -> Poll<io::Result<usize>> {
        let Ok(mut q) = self.0.lock() else {
            return Poll::Ready(Err(io::Error::other("segment queue poisoned")));
        };
        let Some(front) = q.front_mut() else {
            return Poll::Ready(Err(io::Error::other(
                "placeholder bytes without a file segment",
            )));
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
/// instead (`ConnState` says so), and this is never reached.
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
