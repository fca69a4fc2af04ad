//! `bytes.strip`/`lstrip`/`rstrip` (and `bytearray`'s) strip bytes, not UTF-8 characters.
//!
//! CPython strips single bytes: those in `chars`, or the six ASCII whitespace bytes. RustPython
//! 0.6.0 (vm/src/bytes_inner.rs) calls bstr's `trim_*_with`, which decodes the data as UTF-8
//! and tests each *character* truncated to a byte (`c as u8`), and bstr's `trim`, which strips
//! Unicode whitespace. So `b'\xe3\x84\xb4'.rstrip(b'4')` gives `b''` (U+3134 truncates to
//! `0x34`), `b'\xc2\xa0'.strip()` gives `b''` (NO-BREAK SPACE), and invalid UTF-8 is tested
//! as U+FFFD (`b'\xff'.rstrip(b'\xfd')` gives `b''`). `urllib.parse.quote('ㄴ')` left the
//! character unquoted through the first of these (its safe-character check rstrips).
//! Reproducer: `b'\xe3\x84\xb4'.rstrip(b'4')` must give `b'\xe3\x84\xb4'`.
//!
//! The six methods are replaced by native ones on byte spans. The types are process-wide, so
//! this runs once.

use std::sync::Once;

use rustpython_vm::{
    AsObject, PyObjectRef, PyPayload, PyRef, PyResult, VirtualMachine,
    builtins::{PyByteArray, PyBytes},
    function::{ArgBytesLike, ItemDoc, OptionalArg, PyMethodDef, PyMethodFlags},
};

/// What `bytes.strip()` strips with no argument: CPython's `Py_ISSPACE` bytes.
const ASCII_WHITESPACE: &[u8] = b" \t\n\r\x0b\x0c";

#[derive(Clone, Copy)]
enum Side {
    Both,
    Left,
    Right,
}

/// The span of `data` left after stripping the bytes in `set` from `side`.
fn span(data: &[u8], set: &[u8], side: Side) -> std::ops::Range<usize> {
    let mut start = 0;
    let mut end = data.len();
    if matches!(side, Side::Both | Side::Left) {
        while start < end && set.contains(&data[start]) {
            start += 1;
        }
    }
    if matches!(side, Side::Both | Side::Right) {
        while end > start && set.contains(&data[end - 1]) {
            end -= 1;
        }
    }
    start..end
}

/// Run `f` over the bytes to strip: `chars`' contents, or ASCII whitespace for none/`None`.
fn with_set<R>(chars: OptionalArg<Option<ArgBytesLike>>, f: impl FnOnce(&[u8]) -> R) -> R {
    match chars.flatten() {
        Some(chars) => {
            // A copy: `chars` may be the very bytearray being stripped, borrowed below.
            let set = chars.borrow_buf().to_vec();
            f(&set)
        }
        None => f(ASCII_WHITESPACE),
    }
}

fn bytes_side(
    zelf: PyRef<PyBytes>,
    chars: OptionalArg<Option<ArgBytesLike>>,
    side: Side,
    vm: &VirtualMachine,
) -> PyObjectRef {
    let data = zelf.as_bytes();
    let kept = with_set(chars, |set| span(data, set, side));
    if kept.len() == data.len() && zelf.class().is(vm.ctx.types.bytes_type) {
        return zelf.into(); // as CPython: an exact bytes with nothing to strip is returned as is
    }
    vm.ctx.new_bytes(data[kept].to_vec()).into()
}

fn bytearray_side(
    zelf: PyRef<PyByteArray>,
    chars: OptionalArg<Option<ArgBytesLike>>,
    side: Side,
    vm: &VirtualMachine,
) -> PyRef<PyByteArray> {
    let set = with_set(chars, <[u8]>::to_vec);
    let kept = {
        let data = zelf.borrow_buf();
        data[span(&data, &set, side)].to_vec()
    };
    PyByteArray::from(kept).into_ref(&vm.ctx)
}

fn bytes_strip(
    zelf: PyRef<PyBytes>,
    chars: OptionalArg<Option<ArgBytesLike>>,
    vm: &VirtualMachine,
) -> PyObjectRef {
    bytes_side(zelf, chars, Side::Both, vm)
}

fn bytes_lstrip(
    zelf: PyRef<PyBytes>,
    chars: OptionalArg<Option<ArgBytesLike>>,
    vm: &VirtualMachine,
) -> PyObjectRef {
    bytes_side(zelf, chars, Side::Left, vm)
}

fn bytes_rstrip(
    zelf: PyRef<PyBytes>,
    chars: OptionalArg<Option<ArgBytesLike>>,
    vm: &VirtualMachine,
) -> PyObjectRef {
    bytes_side(zelf, chars, Side::Right, vm)
}

fn bytearray_strip(
    zelf: PyRef<PyByteArray>,
    chars: OptionalArg<Option<ArgBytesLike>>,
    vm: &VirtualMachine,
) -> PyRef<PyByteArray> {
    bytearray_side(zelf, chars, Side::Both, vm)
}

fn bytearray_lstrip(
    zelf: PyRef<PyByteArray>,
    chars: OptionalArg<Option<ArgBytesLike>>,
    vm: &VirtualMachine,
) -> PyRef<PyByteArray> {
    bytearray_side(zelf, chars, Side::Left, vm)
}

fn bytearray_rstrip(
    zelf: PyRef<PyByteArray>,
    chars: OptionalArg<Option<ArgBytesLike>>,
    vm: &VirtualMachine,
) -> PyRef<PyByteArray> {
    bytearray_side(zelf, chars, Side::Right, vm)
}

const STRIP_DOC: &str = "strip($self, bytes=None, /)\n--\n\nStrip leading and trailing bytes contained in the argument.\n\nIf the argument is omitted or None, strip leading and trailing ASCII whitespace.";
const LSTRIP_DOC: &str = "lstrip($self, bytes=None, /)\n--\n\nStrip leading bytes contained in the argument.\n\nIf the argument is omitted or None, strip leading ASCII whitespace.";
const RSTRIP_DOC: &str = "rstrip($self, bytes=None, /)\n--\n\nStrip trailing bytes contained in the argument.\n\nIf the argument is omitted or None, strip trailing ASCII whitespace.";

static BYTES_DEFS: [PyMethodDef; 3] = [
    PyMethodDef::new_const(
        "strip",
        bytes_strip,
        PyMethodFlags::METHOD,
        ItemDoc::static_text(STRIP_DOC),
    ),
    PyMethodDef::new_const(
        "lstrip",
        bytes_lstrip,
        PyMethodFlags::METHOD,
        ItemDoc::static_text(LSTRIP_DOC),
    ),
    PyMethodDef::new_const(
        "rstrip",
        bytes_rstrip,
        PyMethodFlags::METHOD,
        ItemDoc::static_text(RSTRIP_DOC),
    ),
];

static BYTEARRAY_DEFS: [PyMethodDef; 3] = [
    PyMethodDef::new_const(
        "strip",
        bytearray_strip,
        PyMethodFlags::METHOD,
        ItemDoc::static_text(STRIP_DOC),
    ),
    PyMethodDef::new_const(
        "lstrip",
        bytearray_lstrip,
        PyMethodFlags::METHOD,
        ItemDoc::static_text(LSTRIP_DOC),
    ),
    PyMethodDef::new_const(
        "rstrip",
        bytearray_rstrip,
        PyMethodFlags::METHOD,
        ItemDoc::static_text(RSTRIP_DOC),
    ),
];

/// Replace the six methods, once per process.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = super::replace_methods(vm.ctx.types.bytes_type, &BYTES_DEFS, vm)
            .and_then(|_| super::replace_methods(vm.ctx.types.bytearray_type, &BYTEARRAY_DEFS, vm))
            .map(drop);
    });
    result
}
