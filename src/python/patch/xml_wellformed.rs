//! XML well-formedness, as expat checks it.
//!
//! RustPython 0.6.0's `pyexpat` (stdlib/src/pyexpat.rs, on xml-rs) discards the parser's
//! errors, so malformed documents parse: `ET.fromstring('<a><b></a>')`, `'<a>'`, an undefined
//! entity and `xmlns:p=""` (undeclaring a prefix) returned elements where CPython raises
//! `ParseError`, and minidom and sax accepted them too. Apps parse untrusted request bodies
//! with these (a WebDAV compliance suite got 207 where it expects 400). Reproducer:
//! `xml.etree.ElementTree.fromstring('<a><b></a>')` must raise `ParseError: mismatched tag:
//! line 1, column 8`.
//!
//! Every parser made by `pyexpat.ParserCreate` (which ElementTree, minidom, sax, plistlib
//! and xmlrpc all use) gets a libexpat checker (`python::expat`) made with the same encoding
//! and namespace mode. `Parse` and `ParseFile` feed each chunk to the checker first; a chunk
//! that breaks the document raises `ExpatError` with expat's code, message, line and column
//! (ElementTree turns it into `ParseError`, sax into `SAXParseException`) before RustPython's
//! parser sees it. `ErrorString`, `errors.messages`/`codes` and the parsers'
//! `ErrorCode`/`ErrorLineNumber`/`ErrorColumnNumber` are added, as sax needs them.
//!
//! Two more differences in what RustPython's parser reads are mended on the way in: line ends
//! are normalised to `\n` (XML 1.0 section 2.11; RustPython kept `\r\n` and `\r` in text),
//! and a `str` document's encoding declaration is read as UTF-8, as pyexpat does (RustPython
//! decoded `<?xml version='1.0' encoding='iso-8859-1'?><a>\u{bd}</a>` given as `str` as
//! Latin-1 bytes of its UTF-8 form: mojibake). Reproducers:
//! `ET.fromstring('<a>1\r\n2</a>').text == '1\n2'`, and that declaration giving `'\u{bd}'`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::OnceLock;

use rustpython_vm::{
    AsObject, PyObjectRef, PyResult, TryFromObject, VirtualMachine,
    builtins::{PyBytes, PyStr, PyType},
    function::{ArgBytesLike, FuncArgs, ItemDoc, PyMethodDef, PyMethodFlags},
};

use crate::python::expat::{self, Checker, Violation};

/// How many parsers one thread tracks; the oldest is let go (unchecked) past it. A parser is
/// let go as soon as its document ends, so only abandoned ones wait here.
const TRACKED: usize = 64;

/// A parser made by `ParserCreate`, held until its document ends.
struct Entry {
    parser: PyObjectRef,
    checker: Option<Checker>,
    error: Option<Violation>,
    /// Nothing has been fed yet.
    first: bool,
    /// The last chunk ended with `\r` (its `\n` may open the next).
    pending_cr: bool,
    /// The document's bytes are ASCII-compatible (not UTF-16), so line ends can be
    /// normalised byte by byte.
    ascii_compatible: bool,
}

thread_local! {
    static PARSERS: RefCell<VecDeque<Entry>> = const { RefCell::new(VecDeque::new()) };
}

fn with_entry<R>(parser: &PyObjectRef, f: impl FnOnce(&mut Entry) -> R) -> Option<R> {
    PARSERS.with(|parsers| {
        let mut parsers = parsers.borrow_mut();
        parsers.iter_mut().find(|e| e.parser.is(parser)).map(f)
    })
}

fn forget(parser: &PyObjectRef) {
    let gone = PARSERS.with(|parsers| {
        let mut parsers = parsers.borrow_mut();
        let at = parsers.iter().position(|e| e.parser.is(parser))?;
        parsers.remove(at)
    });
    drop(gone); // outside the borrow: dropping the parser may run Python
}

/// RustPython's `xmlparser.Parse`.
static ORIGINAL_PARSE: OnceLock<PyObjectRef> = OnceLock::new();

static PARSER_CREATE_DEF: PyMethodDef = PyMethodDef::new_const(
    "ParserCreate",
    parser_create,
    PyMethodFlags::empty(),
    ItemDoc::static_text("Return a new XML parser object."),
);
static PARSE_DEFS: [PyMethodDef; 2] = [
    PyMethodDef::new_const(
        "Parse",
        parse,
        PyMethodFlags::METHOD,
        ItemDoc::static_text("Parse XML data; `isfinal` should be true at the end of the data."),
    ),
    PyMethodDef::new_const(
        "ParseFile",
        parse_file,
        PyMethodFlags::METHOD,
        ItemDoc::static_text("Parse XML data from file-like object."),
    ),
];
static ERROR_STRING_DEF: PyMethodDef = PyMethodDef::new_const(
    "ErrorString",
    error_string,
    PyMethodFlags::empty(),
    ItemDoc::static_text("ErrorString(code, /)\n--\n\nReturns string error for given number."),
);
static ERROR_CODE_DEF: PyMethodDef = PyMethodDef::new_const(
    "ErrorCode",
    error_code,
    PyMethodFlags::empty(),
    ItemDoc::NONE,
);
static ERROR_LINE_DEF: PyMethodDef = PyMethodDef::new_const(
    "ErrorLineNumber",
    error_line,
    PyMethodFlags::empty(),
    ItemDoc::NONE,
);
static ERROR_COLUMN_DEF: PyMethodDef = PyMethodDef::new_const(
    "ErrorColumnNumber",
    error_column,
    PyMethodFlags::empty(),
    ItemDoc::NONE,
);

/// A positional or keyword argument.
fn arg<'a>(args: &'a FuncArgs, index: usize, name: &str) -> Option<&'a PyObjectRef> {
    args.args.get(index).or_else(|| args.kwargs.get(name))
}

/// Each interpreter's original `pyexpat.ParserCreate`.
static ORIGINAL_CREATE: super::PerInterpreter = super::PerInterpreter::new();

/// `ParserCreate`: the interpreter's original, then a checker for the parser it made.
fn parser_create(args: FuncArgs, vm: &VirtualMachine) -> PyResult {
    let original = ORIGINAL_CREATE.get(vm)?;
    let text = |o: Option<&PyObjectRef>| {
        o.and_then(|o| {
            o.downcast_ref::<PyStr>()
                .map(|s| s.to_string_lossy().into_owned())
        })
    };
    let encoding = text(arg(&args, 0, "encoding"));
    let separator = text(arg(&args, 1, "namespace_separator"));
    let parser = original.call(args, vm)?;
    // "" is namespace processing with no separator, as in expat.
    let separator = separator.map(|s| s.chars().next().unwrap_or('\0'));
    if let Some(checker) = Checker::new(encoding.as_deref(), separator) {
        let evicted = PARSERS.with(|parsers| {
            let mut parsers = parsers.borrow_mut();
            let evicted = (parsers.len() >= TRACKED).then(|| parsers.pop_front());
            parsers.push_back(Entry {
                parser: parser.clone(),
                checker: Some(checker),
                error: None,
                first: true,
                pending_cr: false,
                ascii_compatible: true,
            });
            evicted
        });
        drop(evicted);
    }
    Ok(parser)
}

/// `pyexpat.ExpatError` for `v`, as CPython's pyexpat raises it.
fn expat_error(
    v: &Violation,
    vm: &VirtualMachine,
) -> PyResult<rustpython_vm::builtins::PyBaseExceptionRef> {
    let modules = vm.sys_module.get_attr("modules", vm)?;
    let class = modules
        .get_item("pyexpat", vm)?
        .get_attr("error", vm)?
        .downcast::<PyType>()
        .map_err(|_| vm.new_type_error("pyexpat.error is not a class"))?;
    let message = format!("{}: line {}, column {}", v.message, v.line, v.column);
    let exc = vm.new_exception_msg(class, message.into());
    let obj = exc.as_object();
    obj.set_attr("code", vm.ctx.new_int(v.code), vm)?;
    obj.set_attr("lineno", vm.ctx.new_int(v.line), vm)?;
    obj.set_attr("offset", vm.ctx.new_int(v.column), vm)?;
    Ok(exc)
}

/// Check `data` against the parser's checker; an error that CPython would raise is raised.
fn check(
    zelf: &PyObjectRef,
    data: &[u8],
    is_str: bool,
    last: bool,
    vm: &VirtualMachine,
) -> PyResult<()> {
    let outcome = with_entry(zelf, |entry| {
        let checker = entry.checker.as_mut()?;
        if is_str {
            checker.force_utf8();
        }
        let Err(v) = checker.feed(data, last) else {
            return None;
        };
        entry.checker = None;
        // An encoding only Python's codecs know: CPython's pyexpat reads it, expat alone
        // cannot, so this document goes unchecked.
        if v.code == expat::ERROR_UNKNOWN_ENCODING {
            return None;
        }
        entry.error = Some(v.clone());
        Some(v)
    })
    .flatten();
    match outcome {
        Some(v) => Err(expat_error(&v, vm)?),
        None => Ok(()),
    }
}

fn call_parse(zelf: PyObjectRef, args: FuncArgs, last: bool, vm: &VirtualMachine) -> PyResult {
    let original = ORIGINAL_PARSE
        .get()
        .expect("Parse is only installed after the original is saved");
    let mut call = args;
    call.prepend_arg(zelf.clone());
    let result = original.call(call, vm);
    if last {
        forget_unless_failed(&zelf);
    }
    result
}

/// Let a parser go once its document is done, unless it keeps an error to report.
fn forget_unless_failed(zelf: &PyObjectRef) {
    if with_entry(zelf, |e| e.error.is_none()).unwrap_or(false) {
        forget(zelf);
    }
}

/// `xmlparser.Parse(data, isfinal=False)`.
fn parse(zelf: PyObjectRef, mut args: FuncArgs, vm: &VirtualMachine) -> PyResult {
    let last = match arg(&args, 1, "isfinal") {
        Some(flag) => flag.clone().try_to_bool(vm)?,
        None => false,
    };
    let replacement = match arg(&args, 0, "data") {
        Some(data) => {
            if let Some(s) = data.downcast_ref::<PyStr>() {
                check(&zelf, s.as_bytes(), true, last, vm)?;
                as_rustpython_reads(&zelf, s.as_bytes(), true).map(|b| {
                    vm.ctx
                        .new_str(String::from_utf8_lossy(&b).into_owned())
                        .into()
                })
            } else if let Some(b) = data.downcast_ref::<PyBytes>() {
                check(&zelf, b.as_bytes(), false, last, vm)?;
                as_rustpython_reads(&zelf, b.as_bytes(), false).map(|b| vm.ctx.new_bytes(b).into())
            } else if let Ok(b) = ArgBytesLike::try_from_object(vm, data.clone()) {
                let bytes = b.borrow_buf().to_vec();
                check(&zelf, &bytes, false, last, vm)?;
                // RustPython's Parse takes str or bytes only.
                let bytes = as_rustpython_reads(&zelf, &bytes, false).unwrap_or(bytes);
                Some(vm.ctx.new_bytes(bytes).into())
            } else {
                None
            }
        }
        None => None,
    };
    if let Some(data) = replacement {
        match args.args.first_mut() {
            Some(first) => *first = data,
            None => {
                args.kwargs.swap_remove("data");
                args.args.insert(0, data);
            }
        }
    }
    call_parse(zelf, args, last, vm)
}

/// The chunk as RustPython's parser must get it to read what expat reads: line ends
/// normalised, and for `str` input the declared encoding read as UTF-8. `None`: unchanged.
fn as_rustpython_reads(zelf: &PyObjectRef, data: &[u8], is_str: bool) -> Option<Vec<u8>> {
    with_entry(zelf, |entry| {
        let mut data = std::borrow::Cow::Borrowed(data);
        if entry.first && !data.is_empty() {
            entry.first = false;
            entry.ascii_compatible = is_str || ascii_compatible(&data);
            if is_str && let Some(rewritten) = declared_utf8(&data) {
                data = std::borrow::Cow::Owned(rewritten);
            }
        }
        if entry.ascii_compatible
            && let Some(normalised) = normalise_line_ends(&data, &mut entry.pending_cr)
        {
            data = std::borrow::Cow::Owned(normalised);
        }
        match data {
            std::borrow::Cow::Owned(v) => Some(v),
            std::borrow::Cow::Borrowed(_) => None,
        }
    })
    .flatten()
}

/// Not UTF-16 (a byte-order mark, or `<` and `?` as 16-bit units) nor EBCDIC.
fn ascii_compatible(data: &[u8]) -> bool {
    !matches!(
        data,
        [0xfe, 0xff, ..] | [0xff, 0xfe, ..] | [0, b'<', ..] | [b'<', 0, ..] | [0x4c, 0x6f, ..]
    )
}

/// The XML declaration at the start of `data` with its encoding made `utf-8`, if it names
/// another.
fn declared_utf8(data: &[u8]) -> Option<Vec<u8>> {
    let bom = if data.starts_with("\u{feff}".as_bytes()) {
        3
    } else {
        0
    };
    let rest = &data[bom..];
    if !rest.starts_with(b"<?xml") {
        return None;
    }
    let end = rest.windows(2).position(|w| w == b"?>")?;
    let decl = &rest[..end];
    let at = decl.windows(8).position(|w| w == b"encoding")?;
    let mut i = at + 8;
    while decl.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    if decl.get(i) != Some(&b'=') {
        return None;
    }
    i += 1;
    while decl.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    let quote = *decl.get(i).filter(|q| **q == b'"' || **q == b'\'')?;
    let value_start = i + 1;
    let value_len = decl[value_start..].iter().position(|b| *b == quote)?;
    let value = &decl[value_start..value_start + value_len];
    if value.eq_ignore_ascii_case(b"utf-8") || value.eq_ignore_ascii_case(b"utf8") {
        return None;
    }
    let start = bom + value_start;
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&data[..start]);
    out.extend_from_slice(b"utf-8");
    out.extend_from_slice(&data[start + value_len..]);
    Some(out)
}

/// `\r\n` and lone `\r` as `\n`, across chunk boundaries; `None` when nothing changes.
fn normalise_line_ends(data: &[u8], pending_cr: &mut bool) -> Option<Vec<u8>> {
    if data.is_empty() {
        return None;
    }
    let skip_lf = std::mem::take(pending_cr) && data[0] == b'\n';
    if !skip_lf && !data.contains(&b'\r') {
        return None;
    }
    let mut out = Vec::with_capacity(data.len());
    let mut i = usize::from(skip_lf);
    while i < data.len() {
        if data[i] == b'\r' {
            out.push(b'\n');
            match data.get(i + 1) {
                Some(b'\n') => i += 1,
                Some(_) => {}
                None => *pending_cr = true,
            }
        } else {
            out.push(data[i]);
        }
        i += 1;
    }
    Some(out)
}

/// `xmlparser.ParseFile(file)`: the whole file, as one final chunk.
fn parse_file(zelf: PyObjectRef, file: PyObjectRef, vm: &VirtualMachine) -> PyResult {
    let data = vm.call_method(&file, "read", ())?;
    let args = FuncArgs::from(vec![data, vm.ctx.new_bool(true).into()]);
    parse(zelf, args, vm)
}

fn error_string(code: u32, vm: &VirtualMachine) -> PyObjectRef {
    expat::error_string(code).map_or_else(|| vm.ctx.none(), |s| vm.ctx.new_str(s).into())
}

fn last_error<R>(zelf: &PyObjectRef, f: impl FnOnce(&Violation) -> R) -> Option<R> {
    with_entry(zelf, |e| e.error.as_ref().map(f)).flatten()
}

fn error_code(zelf: PyObjectRef) -> u32 {
    last_error(&zelf, |v| v.code).unwrap_or(0)
}

fn error_line(zelf: PyObjectRef) -> u64 {
    last_error(&zelf, |v| v.line).unwrap_or(1)
}

fn error_column(zelf: PyObjectRef) -> u64 {
    last_error(&zelf, |v| v.column).unwrap_or(0)
}

/// Install into this interpreter's `pyexpat`; the parser type's methods once per process.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let module = vm.import("pyexpat", 0)?;
    ORIGINAL_CREATE.set(vm, module.get_attr("ParserCreate", vm)?);
    let ours = super::module_function(&PARSER_CREATE_DEF, &module, "pyexpat", vm);
    module.set_attr("ParserCreate", ours, vm)?;
    let error_string = super::module_function(&ERROR_STRING_DEF, &module, "pyexpat", vm);
    module.set_attr("ErrorString", error_string, vm)?;
    let errors = module.get_attr("errors", vm)?;
    let (messages, codes) = (vm.ctx.new_dict(), vm.ctx.new_dict());
    for code in 1..=64u32 {
        if let Some(text) = expat::error_string(code) {
            let text: PyObjectRef = vm.ctx.new_str(text).into();
            let key: PyObjectRef = vm.ctx.new_int(code).into();
            messages.set_item(&*key, text.clone(), vm)?;
            codes.set_item(&*text, vm.ctx.new_int(code).into(), vm)?;
        }
    }
    errors.set_attr("messages", messages, vm)?;
    errors.set_attr("codes", codes, vm)?;

    if ORIGINAL_PARSE.get().is_some() {
        return Ok(()); // another interpreter of this process did the type
    }
    let parser_type = super::module_type("pyexpat", "XMLParserType", vm)?;
    let originals = super::replace_methods(parser_type, &PARSE_DEFS, vm)?;
    let _ = ORIGINAL_PARSE.set(originals[0].clone());
    for def in [&ERROR_CODE_DEF, &ERROR_LINE_DEF, &ERROR_COLUMN_DEF] {
        let getter = def.build_function(&vm.ctx);
        let property = vm.ctx.types.property_type.as_object().call((getter,), vm)?;
        parser_type.set_attr(vm.ctx.intern_str(def.name), property);
    }
    parser_type.modified();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_are_normalised_across_chunks() {
        let mut cr = false;
        assert_eq!(
            normalise_line_ends(b"a\r\nb\rc", &mut cr).as_deref(),
            Some(&b"a\nb\nc"[..])
        );
        assert!(!cr);
        assert_eq!(
            normalise_line_ends(b"x\r", &mut cr).as_deref(),
            Some(&b"x\n"[..])
        );
        assert!(cr);
        assert_eq!(
            normalise_line_ends(b"\ny", &mut cr).as_deref(),
            Some(&b"y"[..])
        );
        assert_eq!(normalise_line_ends(b"plain", &mut cr), None);
    }

    #[test]
    fn a_str_declaration_is_read_as_utf8() {
        let out = declared_utf8(b"<?xml version='1.0' encoding = 'iso-8859-1'?><a/>");
        assert_eq!(
            out.as_deref(),
            Some(&b"<?xml version='1.0' encoding = 'utf-8'?><a/>"[..])
        );
        assert_eq!(
            declared_utf8(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>"),
            None
        );
        assert_eq!(declared_utf8(b"<a/>"), None);
        assert!(ascii_compatible(b"<?xml"));
        assert!(!ascii_compatible(&[0xff, 0xfe, b'<', 0]));
    }
}
