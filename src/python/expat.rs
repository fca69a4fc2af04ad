//! libexpat, the XML parser CPython's `pyexpat` is built on, as a well-formedness checker:
//! it is fed the same bytes as RustPython's parser and answers only whether the document is
//! still well-formed, with expat's own error code, message and position. No handlers are
//! set, so no Python runs inside it. Linked statically from Debian's libexpat1-dev.

use std::ffi::{CStr, CString, c_char, c_int, c_ulong, c_void};

#[link(name = "expat", kind = "static")]
unsafe extern "C" {
    fn XML_ParserCreate(encoding: *const c_char) -> *mut c_void;
    fn XML_ParserCreateNS(encoding: *const c_char, separator: c_char) -> *mut c_void;
    fn XML_ParserFree(parser: *mut c_void);
    fn XML_SetEncoding(parser: *mut c_void, encoding: *const c_char) -> c_int;
    fn XML_Parse(parser: *mut c_void, s: *const c_char, len: c_int, is_final: c_int) -> c_int;
    fn XML_GetErrorCode(parser: *mut c_void) -> c_int;
    fn XML_ErrorString(code: c_int) -> *const c_char;
    fn XML_GetCurrentLineNumber(parser: *mut c_void) -> c_ulong;
    fn XML_GetCurrentColumnNumber(parser: *mut c_void) -> c_ulong;
}

/// `XML_STATUS_ERROR`.
const STATUS_ERROR: c_int = 0;
/// `XML_ERROR_UNKNOWN_ENCODING`: expat itself reads UTF-8, UTF-16, ISO-8859-1 and US-ASCII;
/// CPython's pyexpat adds single-byte encodings through Python's codecs.
pub const ERROR_UNKNOWN_ENCODING: u32 = 18;
/// `XML_ERROR_INCORRECT_ENCODING`.
pub const ERROR_INCORRECT_ENCODING: u32 = 19;

/// Where and why a document stopped being well-formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// expat's error code (`xml.parsers.expat.errors`).
    pub code: u32,
    /// expat's message for the code, e.g. "mismatched tag".
    pub message: String,
    /// 1-based line.
    pub line: u64,
    /// 0-based column.
    pub column: u64,
}

/// expat's message for an error code, if it has one.
pub fn error_string(code: u32) -> Option<String> {
    let code = c_int::try_from(code).ok()?;
    // SAFETY: XML_ErrorString takes any code and returns NULL or a pointer to a static,
    // NUL-terminated string that is never freed.
    let text = unsafe { XML_ErrorString(code) };
    if text.is_null() {
        return None;
    }
    // SAFETY: non-null, static and NUL-terminated, as above.
    Some(
        unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// One document's checker. Not `Send`: it stays on the thread (and interpreter) that made it.
#[derive(Debug)]
pub struct Checker {
    parser: *mut c_void,
    /// Nothing has been fed yet (an encoding can still be forced).
    fresh: bool,
}

impl Checker {
    /// A checker as `ParserCreate(encoding, namespace_separator)` would make; `None` when
    /// expat cannot make one (out of memory, or an encoding name with a NUL byte).
    pub fn new(encoding: Option<&str>, namespace_separator: Option<char>) -> Option<Self> {
        let encoding = encoding.map(CString::new).transpose().ok()?;
        let encoding_ptr = encoding.as_ref().map_or(std::ptr::null(), |e| e.as_ptr());
        let parser = match namespace_separator {
            // SAFETY: `encoding_ptr` is NULL or a NUL-terminated string alive for the call;
            // expat copies it.
            None => unsafe { XML_ParserCreate(encoding_ptr) },
            Some(separator) => {
                let separator = u8::try_from(separator).ok()? as c_char;
                // SAFETY: as above; the separator is passed by value.
                unsafe { XML_ParserCreateNS(encoding_ptr, separator) }
            }
        };
        (!parser.is_null()).then_some(Self {
            parser,
            fresh: true,
        })
    }

    /// Read what follows as UTF-8 whatever the document declares, as pyexpat does for `str`
    /// input. Only possible before the first byte.
    pub fn force_utf8(&mut self) {
        if self.fresh {
            // SAFETY: `self.parser` is a live parser (freed only in Drop); the name is a
            // static NUL-terminated string.
            unsafe { XML_SetEncoding(self.parser, c"utf-8".as_ptr()) };
        }
    }

    /// Feed `data`; `last` ends the document.
    pub fn feed(&mut self, data: &[u8], last: bool) -> Result<(), Violation> {
        self.fresh = false;
        // Fed in pieces that fit expat's int length.
        let mut pieces = data.chunks(1 << 30).peekable();
        if pieces.peek().is_none() {
            return self.parse(&[], last);
        }
        while let Some(piece) = pieces.next() {
            self.parse(piece, last && pieces.peek().is_none())?;
        }
        Ok(())
    }

    fn parse(&mut self, piece: &[u8], last: bool) -> Result<(), Violation> {
        let len = c_int::try_from(piece.len()).unwrap_or(c_int::MAX);
        // SAFETY: `self.parser` is live; `piece` is valid for `len` bytes (at most its
        // length) for the duration of the call, and expat copies what it keeps.
        let status = unsafe {
            XML_Parse(
                self.parser,
                piece.as_ptr().cast::<c_char>(),
                len,
                c_int::from(last),
            )
        };
        if status != STATUS_ERROR {
            return Ok(());
        }
        // SAFETY: `self.parser` is live; these read its error state.
        let (code, line, column) = unsafe {
            (
                XML_GetErrorCode(self.parser),
                XML_GetCurrentLineNumber(self.parser),
                XML_GetCurrentColumnNumber(self.parser),
            )
        };
        let code = u32::try_from(code).unwrap_or(0);
        // c_ulong is u64 here but 32 bits on some targets.
        #[allow(clippy::useless_conversion)]
        Err(Violation {
            code,
            message: error_string(code).unwrap_or_else(|| format!("error {code}")),
            line: u64::from(line),
            column: u64::from(column),
        })
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        // SAFETY: the parser was created by XML_ParserCreate(NS), is freed only here, once.
        unsafe { XML_ParserFree(self.parser) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(doc: &[u8], ns: bool) -> Result<(), Violation> {
        let mut c = Checker::new(None, ns.then_some('}')).expect("parser");
        c.feed(doc, true)
    }

    #[test]
    fn expat_refuses_what_it_refuses_with_its_positions() {
        let e = check(b"<a><b></a>", true).expect_err("mismatched");
        assert_eq!(
            (e.code, e.message.as_str(), e.line, e.column),
            (7, "mismatched tag", 1, 8)
        );
        assert_eq!(check(b"<a>", true).expect_err("eof").code, 3);
        assert_eq!(check(b"<a>&foo;</a>", true).expect_err("entity").code, 11);
        assert_eq!(
            check(br#"<a xmlns:bar=""/>"#, true)
                .expect_err("undeclare")
                .code,
            28
        );
        assert!(
            check(br#"<a xmlns:bar=""/>"#, false).is_ok(),
            "fine without namespaces"
        );
        assert_eq!(check(b"<a/><b/>", true).expect_err("junk").code, 9);
        assert!(check(b"<!DOCTYPE a [<!ENTITY e 'v'>]><a>&e;</a>", true).is_ok());
    }

    #[test]
    fn a_document_may_arrive_in_pieces() {
        let mut c = Checker::new(None, None).expect("parser");
        c.feed(b"<a><b>te", false).expect("so far so good");
        c.feed(b"xt</b>", false).expect("still");
        assert_eq!(c.feed(b"</c>", true).expect_err("mismatch").code, 7);
    }
}
