//! The buffering behind `wsgi.input`: `read`, `readline` and `readlines` over a source of body
//! chunks. Pure Rust; `python::native` wraps it in the Python object and supplies a source that
//! pulls chunks from the connection on demand, so a large upload never sits in memory whole.

use bytes::{Buf, Bytes, BytesMut};
use thiserror::Error;

/// Why a body read failed. Both end the request: the app sees an `OSError`.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum InputError {
    #[error("the client went away before sending the whole request body")]
    Disconnected,
    #[error("malformed request body: {0}")]
    Malformed(String),
    #[error("timed out waiting for the request body")]
    TimedOut,
    #[error("the request body is larger than --limit-request-body")]
    TooLarge,
    #[error("the request body arrived slower than --body-min-rate")]
    TooSlow,
}

/// Where body bytes come from: `Ok(None)` is the end of the body.
pub trait ChunkSource {
    fn next_chunk(&mut self) -> Result<Option<Bytes>, InputError>;
}

/// A buffered reader with the file-like methods PEP 3333 asks of `wsgi.input`.
#[derive(Debug)]
pub struct BodyReader<S> {
    source: S,
    buf: BytesMut,
    eof: bool,
}

impl<S: ChunkSource> BodyReader<S> {
    pub fn new(source: S) -> Self {
        Self {
            source,
            buf: BytesMut::new(),
            eof: false,
        }
    }

    /// Pull one more chunk into the buffer; false at the end of the body.
    fn fill(&mut self) -> Result<bool, InputError> {
        if self.eof {
            return Ok(false);
        }
        match self.source.next_chunk()? {
            Some(chunk) => {
                self.buf.extend_from_slice(&chunk);
                Ok(true)
            }
            None => {
                self.eof = true;
                Ok(false)
            }
        }
    }

    /// `read(size)`: up to `size` bytes, fewer only at the end of the body; `None` reads to the
    /// end.
    pub fn read(&mut self, size: Option<usize>) -> Result<Bytes, InputError> {
        let want = size.unwrap_or(usize::MAX);
        if want == 0 {
            return Ok(Bytes::new());
        }
        // Fast path: an empty buffer and a chunk of exactly the size asked is handed over
        // without a copy. A shorter chunk must not be returned alone: read(n) is short only at
        // the end of the body, as on a file (WebOb's LimitedLengthFile takes a short read for
        // a disconnected client and fails multipart uploads).
        if self.buf.is_empty() && !self.eof && size.is_some() {
            match self.source.next_chunk()? {
                Some(chunk) if chunk.len() == want => return Ok(chunk),
                Some(chunk) => self.buf.extend_from_slice(&chunk),
                None => {
                    self.eof = true;
                    return Ok(Bytes::new());
                }
            }
        }
        while self.buf.len() < want && self.fill()? {}
        let n = want.min(self.buf.len());
        Ok(self.buf.split_to(n).freeze())
    }

    /// `readline(size)`: up to and including the next `\n`, at most `size` bytes.
    pub fn readline(&mut self, size: Option<usize>) -> Result<Bytes, InputError> {
        let limit = size.unwrap_or(usize::MAX);
        let mut scanned = 0;
        loop {
            if let Some(i) = self.buf[scanned..].iter().position(|&b| b == b'\n') {
                let n = (scanned + i + 1).min(limit);
                return Ok(self.buf.split_to(n).freeze());
            }
            scanned = self.buf.len();
            if scanned >= limit || !self.fill()? {
                let n = limit.min(self.buf.len());
                return Ok(self.buf.split_to(n).freeze());
            }
        }
    }

    /// `readlines(hint)`: lines until the end, or until their total passes `hint`.
    pub fn readlines(&mut self, hint: Option<usize>) -> Result<Vec<Bytes>, InputError> {
        let mut lines = Vec::new();
        let mut total = 0;
        loop {
            let line = self.readline(None)?;
            if line.is_empty() {
                return Ok(lines);
            }
            total += line.len();
            lines.push(line);
            if hint.is_some_and(|h| h > 0 && total >= h) {
                return Ok(lines);
            }
        }
    }

    /// Bytes buffered but not yet read (for tests and diagnostics).
    pub fn buffered(&self) -> usize {
        self.buf.remaining()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that hands out fixed chunks, then maybe an error.
    struct Chunks(Vec<Result<Bytes, InputError>>);

    impl ChunkSource for Chunks {
        fn next_chunk(&mut self) -> Result<Option<Bytes>, InputError> {
            if self.0.is_empty() {
                return Ok(None);
            }
            self.0.remove(0).map(Some)
        }
    }

    fn reader(chunks: &[&str]) -> BodyReader<Chunks> {
        BodyReader::new(Chunks(
            chunks
                .iter()
                .map(|c| Ok(Bytes::copy_from_slice(c.as_bytes())))
                .collect(),
        ))
    }

    #[test]
    fn read_sizes_across_chunks() {
        let mut r = reader(&["abc", "defg", "h"]);
        assert_eq!(r.read(Some(2)).expect("read"), "ab");
        assert_eq!(r.read(Some(4)).expect("read"), "cdef");
        assert_eq!(r.read(None).expect("read"), "gh");
        assert_eq!(r.read(Some(5)).expect("read"), "");
        assert_eq!(r.read(None).expect("read"), "");
    }

    /// Regression (frameworks issue 5): read(n) on an empty buffer returned the first chunk
    /// alone when it was shorter than n; WebOb took that short read for a disconnected client.
    #[test]
    fn read_is_short_only_at_the_end() {
        let mut r = reader(&["ab", "cde", "f"]);
        assert_eq!(r.read(Some(4)).expect("read"), "abcd");
        assert_eq!(r.read(Some(10)).expect("read"), "ef");
        let mut r = reader(&["abc", "d"]);
        assert_eq!(r.read(Some(3)).expect("read"), "abc");
        assert_eq!(r.read(Some(3)).expect("read"), "d");
    }

    #[test]
    fn read_zero_pulls_nothing() {
        let mut r = reader(&["abc"]);
        assert_eq!(r.read(Some(0)).expect("read"), "");
        assert_eq!(r.buffered(), 0);
        assert_eq!(r.read(None).expect("read"), "abc");
    }

    #[test]
    fn readline_forms() {
        let mut r = reader(&["one\ntw", "o\nthree ", "no newline"]);
        assert_eq!(r.readline(None).expect("line"), "one\n");
        assert_eq!(r.readline(Some(2)).expect("line"), "tw");
        assert_eq!(r.readline(None).expect("line"), "o\n");
        assert_eq!(r.readline(None).expect("line"), "three no newline");
        assert_eq!(r.readline(None).expect("line"), "");
    }

    #[test]
    fn readlines_with_and_without_hint() {
        let mut r = reader(&["a\nb\n", "c\nd"]);
        assert_eq!(r.readlines(Some(3)).expect("lines"), vec!["a\n", "b\n"]);
        assert_eq!(r.readlines(None).expect("lines"), vec!["c\n", "d"]);
    }

    #[test]
    fn errors_surface() {
        let mut r = BodyReader::new(Chunks(vec![
            Ok(Bytes::from_static(b"ab")),
            Err(InputError::Disconnected),
        ]));
        assert_eq!(r.read(None), Err(InputError::Disconnected));
    }
}
