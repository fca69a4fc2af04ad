//! The response body: the first chunk that came with the head, then the chunks the app yields
//! and zero-copy file parts (`wsgi.file_wrapper`, `--static`), cut at the app's Content-Length. Dropping it (the response is done, or the client went away)
//! drops the reply receiver, which stops the app's iteration, and writes the access-log line.

use std::fs::File;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_core::Stream;
use http_body::{Body, Frame, SizeHint};
use thiserror::Error;

use crate::http::connection::OpenRequest;
use crate::http::zero_copy;
use crate::job::Reply;
use crate::observe::access_log::Access;
use crate::observe::log;

/// Why a response body stopped early. hyper then closes the connection instead of pretending
/// the response was complete.
#[derive(Debug, Error)]
pub enum BodyError {
    #[error("the app failed after the response head was sent")]
    Aborted,
}

pub struct ReplyBody {
    first: Option<Bytes>,
    rest: Option<flume::r#async::RecvStream<'static, Reply>>,
    /// Bytes the app's Content-Length still allows.
    remaining: Option<u64>,
    sent: u64,
    access: Option<(Access, u16)>,
    /// The app failed mid-body: the error goes out on the next poll, after hyper has flushed
    /// what it already holds (else the client could get nothing at all).
    aborting: bool,
    /// Keeps the request counted as open on its connection until the body is done.
    open: Option<OpenRequest>,
    /// A file part being sent with sendfile(2).
    file: Option<FilePart>,
    /// Counts the request in flight for `--metrics` until the body is done.
    gauge: Option<crate::observe::metrics::RequestInFlight>,
}

/// Bytes read per frame when a file cannot go out with sendfile (TLS, HTTP/2).
const READ_CHUNK: u64 = 256 * 1024;

/// What is left of a zero-copy file part.
struct FilePart {
    file: Arc<File>,
    offset: u64,
    left: u64,
    /// A read in progress on the blocking pool (TLS, HTTP/2): a slow disk must not stall the
    /// worker's single-threaded runtime, and every other connection with it.
    reading: Option<tokio::task::JoinHandle<std::io::Result<Vec<u8>>>>,
}

impl FilePart {
    fn new(file: File, offset: u64, left: u64) -> Self {
        Self {
            file: Arc::new(file),
            offset,
            left,
            reading: None,
        }
    }
}

impl ReplyBody {
    /// A complete body known up front.
    pub fn full(data: Bytes) -> Self {
        Self::streaming(data, None, None)
    }

    /// `first`, then whatever arrives on `rest` until `End`.
    pub fn streaming(
        first: Bytes,
        rest: Option<flume::Receiver<Reply>>,
        content_length: Option<u64>,
    ) -> Self {
        Self {
            first: Some(first),
            rest: rest.map(flume::Receiver::into_stream),
            remaining: content_length,
            sent: 0,
            access: None,
            aborting: false,
            open: None,
            file: None,
            gauge: None,
        }
    }

    /// `len` bytes of `file` from `offset`, sent with sendfile(2).
    pub fn file(file: File, offset: u64, len: u64) -> Self {
        let mut body = Self::full(Bytes::new());
        body.file = Some(FilePart::new(file, offset, len));
        body
    }

    /// The next frame of the file part: a placeholder whose segment is promised to the writer
    /// (sendfile), or bytes read on the blocking pool (TLS, HTTP/2); `None` once the part is
    /// done.
    fn file_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BodyError>>> {
        let Some(part) = self.file.as_mut() else {
            return Poll::Ready(None);
        };
        let mut n = part.left.min(zero_copy::FRAME as u64);
        if let Some(remaining) = self.remaining {
            n = n.min(remaining);
        }
        if n == 0 {
            self.file = None;
            if self.remaining == Some(0) {
                self.rest = None;
            }
            return Poll::Ready(None);
        }
        let Some(open) = &self.open else {
            self.file = None;
            return Poll::Ready(Some(Err(BodyError::Aborted)));
        };
        let frame = match open.sendfile() {
            Some(segments) => {
                segments.push(&part.file, part.offset, n);
                Some(zero_copy::placeholder(n as usize))
            }
            // TLS or HTTP/2: the bytes pass through user space, read from the file in bounded
            // pieces off the runtime. A short read means the file shrank: cut, never pad.
            None => {
                let reading = part.reading.get_or_insert_with(|| {
                    use std::os::fd::AsRawFd;
                    let (file, offset) = (Arc::clone(&part.file), part.offset);
                    let want = n.min(READ_CHUNK) as usize;
                    tokio::task::spawn_blocking(move || {
                        crate::process::sys::pread(file.as_raw_fd(), want, offset)
                    })
                });
                let read = ready!(Pin::new(reading).poll(cx));
                part.reading = None;
                read.ok()
                    .and_then(Result::ok)
                    .filter(|data| !data.is_empty())
                    .map(Bytes::from)
            }
        };
        let Some(frame) = frame else {
            self.file = None;
            return Poll::Ready(Some(Err(BodyError::Aborted)));
        };
        let len = frame.len() as u64;
        part.offset += len;
        part.left -= len;
        self.sent += len;
        if let Some(remaining) = self.remaining.as_mut() {
            *remaining -= len;
        }
        Poll::Ready(Some(Ok(frame)))
    }

    /// Log the request, count it, and close it on its connection, when the body is dropped.
    pub fn with_access(
        mut self,
        access: Access,
        status: u16,
        open: OpenRequest,
        gauge: crate::observe::metrics::RequestInFlight,
    ) -> Self {
        self.access = Some((access, status));
        self.open = Some(open);
        self.gauge = Some(gauge);
        self
    }

    /// Cut `data` to what Content-Length allows; stop the stream once it is used up.
    fn limit(&mut self, mut data: Bytes) -> Bytes {
        if let Some(remaining) = self.remaining.as_mut() {
            if (data.len() as u64) >= *remaining {
                data.truncate(*remaining as usize);
                *remaining = 0;
                self.rest = None;
            } else {
                *remaining -= data.len() as u64;
            }
        }
        self.sent += data.len() as u64;
        data
    }
}

impl Body for ReplyBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        if this.aborting {
            return Poll::Ready(Some(Err(BodyError::Aborted)));
        }
        if let Some(first) = this.first.take()
            && !first.is_empty()
        {
            let data = this.limit(first);
            if !data.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
        }
        loop {
            match ready!(this.file_frame(cx)) {
                Some(Ok(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {}
            }
            let Some(rest) = this.rest.as_mut() else {
                return Poll::Ready(None);
            };
            match ready!(Pin::new(rest).poll_next(cx)) {
                Some(Reply::File { file, offset, len }) => {
                    this.file = Some(FilePart::new(file, offset, len));
                }
                Some(Reply::Chunk(data)) => {
                    let data = this.limit(data);
                    if !data.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                }
                Some(Reply::End) => {
                    this.rest = None;
                    return Poll::Ready(None);
                }
                // Abort, a second head, or the Python side gone without `End`.
                Some(Reply::Abort | Reply::Head { .. }) | None => {
                    this.rest = None;
                    // Pending once, so hyper flushes the bytes already written; then the error.
                    this.aborting = true;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        !self.aborting
            && self.file.is_none()
            && self.rest.is_none()
            && self.first.as_ref().is_none_or(Bytes::is_empty)
    }

    fn size_hint(&self) -> SizeHint {
        // Exact only for a complete body without the app's own Content-Length: with one, hyper
        // frames by the header, and a body shorter than it must still go out (then the
        // connection is cut), not be refused before the head is written.
        match (&self.rest, &self.first, self.remaining) {
            (None, first, None) if self.file.is_none() => {
                SizeHint::with_exact(first.as_ref().map_or(0, |f| f.len() as u64))
            }
            _ => SizeHint::default(),
        }
    }
}

impl Drop for ReplyBody {
    fn drop(&mut self) {
        if let Some((access, status)) = self.access.take() {
            crate::observe::metrics::finished(status, access.started.elapsed());
            log::access(&access, status, self.sent);
        }
    }
}
