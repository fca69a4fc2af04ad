//! `json.dumps` of list and tuple subclasses.
//!
//! CPython's C encoder (`c_make_encoder`, which `json.dumps` uses) reads a list or tuple
//! subclass through its iterator (`PySequence_Fast`), as the pure-Python encoder does.
//! RustPython 0.6.0's native encoder (`_json.make_encoder`, stdlib/src/json.rs) reads the
//! object's own list storage instead, so a subclass that keeps its items elsewhere or
//! overrides `__iter__` is encoded wrong, silently. Django's `ErrorList` is
//! `class ErrorList(UserList, list)`: its items live in `.data` and the list storage is empty,
//! so the everyday `JsonResponse(form.errors, status=400)` answered `{"name": []}`.
//! Reproducer: `class L(UserList, list): pass; json.dumps(L(["a"]))` must give `'["a"]'`
//! (RustPython gave `'[]'`).
//!
//! `_json.make_encoder` is replaced (before `json` is first imported) by our own native
//! encoder with CPython's rules, written from CPython's documented behaviour and checked
//! against the pure-Python encoder (`json.encoder._make_iterencode`) on generated values:
//! exact lists are read in place (a list that shrinks under a `default()` call ends early, as
//! CPython's does), subclasses through their iterator, dicts through `items()` unless exact,
//! `int` and `float` subclasses as their base type's text, circular references refused, the
//! error notes (`when serializing list item 0`) of CPython 3.14. Strings escaped by the
//! standard escapers (`ensure_ascii` or not) are escaped natively; any other `encoder` is
//! called.

use rustpython_vm::{
    AsObject, Py, PyObject, PyObjectRef, PyPayload, PyResult, VirtualMachine,
    builtins::{
        PyBaseExceptionRef, PyDict, PyFloat, PyInt, PyList, PyStr, PyStrRef, PyTuple, PyType,
    },
    class::PyClassImpl,
    common::{
        json::encode_string,
        wtf8::{Wtf8, Wtf8Buf},
    },
    literal::float,
    protocol::PyIterReturn,
    pyclass,
    types::{Callable, Constructor, PyComparisonOp},
};

/// How string values and keys are turned into JSON strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    /// `_json.encode_basestring_ascii` (`ensure_ascii=True`, the default): done here.
    Ascii,
    /// `_json.encode_basestring` (`ensure_ascii=False`): done here.
    Unicode,
    /// Any other callable: called, and its result must be a `str`.
    Call,
}

/// `_json.make_encoder(markers, default, encoder, indent, key_separator, item_separator,
/// sort_keys, skipkeys, allow_nan)`, called with `(obj, current_indent_level)` it returns a
/// one-item tuple with the JSON text.
#[pyclass(module = "_json", name = "Encoder")]
#[derive(Debug, PyPayload)]
struct Encoder {
    check_circular: bool,
    default: PyObjectRef,
    encoder: PyObjectRef,
    escape: Escape,
    indent: Option<Wtf8Buf>,
    key_separator: PyStrRef,
    item_separator: PyStrRef,
    sort_keys: bool,
    skipkeys: bool,
    allow_nan: bool,
}

impl Constructor for Encoder {
    // Nested: argument tuples implement `FromArgs` up to 8 items.
    type Args = (
        PyObjectRef,
        PyObjectRef,
        PyObjectRef,
        PyObjectRef,
        PyStrRef,
        PyStrRef,
        (PyObjectRef, PyObjectRef, PyObjectRef),
    );

    fn py_new(
        _cls: &Py<PyType>,
        (markers, default, encoder, indent, key_separator, item_separator, flags): Self::Args,
        vm: &VirtualMachine,
    ) -> PyResult<Self> {
        let check_circular = if vm.is_none(&markers) {
            false
        } else if markers.downcast_ref::<PyDict>().is_some() {
            true
        } else {
            return Err(vm.new_type_error(format!(
                "make_encoder() argument 1 must be dict or None, not {}",
                markers.class().name()
            )));
        };
        let indent = if vm.is_none(&indent) {
            None
        } else if let Some(text) = indent.downcast_ref::<PyStr>() {
            Some(text.as_wtf8().to_owned())
        } else {
            return Err(vm.new_type_error(format!(
                "make_encoder() argument 4 must be str or None, not {}",
                indent.class().name()
            )));
        };
        let escapers = vm.import("_json", 0)?;
        let escape = if encoder.is(&escapers.get_attr("encode_basestring_ascii", vm)?) {
            Escape::Ascii
        } else if encoder.is(&escapers.get_attr("encode_basestring", vm)?) {
            Escape::Unicode
        } else {
            Escape::Call
        };
        let (sort_keys, skipkeys, allow_nan) = flags;
        Ok(Self {
            check_circular,
            default,
            encoder,
            escape,
            indent,
            key_separator,
            item_separator,
            sort_keys: sort_keys.try_to_bool(vm)?,
            skipkeys: skipkeys.try_to_bool(vm)?,
            allow_nan: allow_nan.try_to_bool(vm)?,
        })
    }
}

#[pyclass(with(Callable, Constructor))]
impl Encoder {}

impl Callable for Encoder {
    type Args = (PyObjectRef, isize);

    fn call(zelf: &Py<Self>, (obj, level): Self::Args, vm: &VirtualMachine) -> PyResult {
        let mut call = Call {
            enc: zelf,
            vm,
            out: Wtf8Buf::new(),
            open: Vec::new(),
        };
        call.value(&obj, level)?;
        Ok(vm.new_tuple((vm.ctx.new_str(call.out),)).into())
    }
}

/// One encoding: the text so far and the containers being encoded (circular references).
struct Call<'a> {
    enc: &'a Encoder,
    vm: &'a VirtualMachine,
    out: Wtf8Buf,
    /// Ids of the lists, dicts and `default()` inputs being encoded, outermost first.
    open: Vec<usize>,
}

impl Call<'_> {
    fn value(&mut self, obj: &PyObject, level: isize) -> PyResult<()> {
        let vm = self.vm;
        if vm.is_none(obj) {
            self.out.push_str("null");
        } else if obj.is(&vm.ctx.true_value) {
            self.out.push_str("true");
        } else if obj.is(&vm.ctx.false_value) {
            self.out.push_str("false");
        } else if let Some(text) = obj.downcast_ref::<PyStr>() {
            self.string(obj, text)?;
        } else if let Some(int) = obj.downcast_ref::<PyInt>() {
            let text = int_text(int, vm)?;
            self.out.push_str(&text);
        } else if let Some(number) = obj.downcast_ref::<PyFloat>() {
            let text = self.float_text(obj, number)?;
            self.out.push_str(&text);
        } else if obj.downcast_ref::<PyList>().is_some() || obj.downcast_ref::<PyTuple>().is_some()
        {
            vm.with_recursion("while encoding a JSON object", || self.sequence(obj, level))?;
        } else if let Some(dict) = obj.downcast_ref::<PyDict>() {
            vm.with_recursion("while encoding a JSON object", || {
                self.dict(obj, dict, level)
            })?;
        } else {
            self.default(obj, level)?;
        }
        Ok(())
    }

    /// A value the encoder does not know: `default(obj)`, encoded in its place.
    fn default(&mut self, obj: &PyObject, level: isize) -> PyResult<()> {
        let vm = self.vm;
        self.enter(obj)?;
        // The note is for a failure to encode what `default()` gave, not for `default()`'s own.
        let done = self
            .enc
            .default
            .call((obj.to_owned(),), vm)
            .and_then(|new| {
                vm.with_recursion("while encoding a JSON object", || self.value(&new, level))
                    .map_err(|e| {
                        note(
                            e,
                            || format!("when serializing {} object", type_name(obj, vm)),
                            vm,
                        )
                    })
            });
        self.leave();
        done
    }

    /// A list or tuple: exact ones read in place, subclasses through their iterator.
    fn sequence(&mut self, obj: &PyObject, level: isize) -> PyResult<()> {
        let vm = self.vm;
        let exact_list = obj.class().is(vm.ctx.types.list_type);
        let items: Vec<PyObjectRef> = if exact_list {
            Vec::new()
        } else if let Some(tuple) = obj.downcast_ref_if_exact::<PyTuple>(vm) {
            tuple.as_slice().to_vec()
        } else {
            iterate(obj, vm)?
        };
        let list = obj.downcast_ref::<PyList>().filter(|_| exact_list);
        // Re-read on each step: a `default()` that shrinks the list ends the loop early.
        let len = |items: &Vec<PyObjectRef>| list.map_or(items.len(), |l| l.borrow_vec().len());
        let item = |items: &Vec<PyObjectRef>, i: usize| match list {
            Some(l) => l.borrow_vec().get(i).cloned(),
            None => items.get(i).cloned(),
        };
        if len(&items) == 0 {
            self.out.push_str("[]");
            return Ok(());
        }
        self.enter(obj)?;
        self.out.push_char('[');
        let inner = self.open_indent(level);
        let mut i = 0;
        let mut done = Ok(());
        while i < len(&items) {
            let Some(value) = item(&items, i) else { break };
            if i > 0 {
                self.separator(inner);
            }
            if let Err(e) = self.value(&value, inner) {
                done = Err(note(
                    e,
                    || format!("when serializing {} item {i}", type_name(obj, vm)),
                    vm,
                ));
                break;
            }
            i += 1;
        }
        if done.is_ok() {
            self.close_indent(level);
            self.out.push_char(']');
        }
        self.leave();
        done
    }

    fn dict(&mut self, obj: &PyObject, dict: &Py<PyDict>, level: isize) -> PyResult<()> {
        // The stored entries decide emptiness, for subclasses too (CPython's `PyDict_GET_SIZE`).
        if dict.__len__() == 0 {
            self.out.push_str("{}");
            return Ok(());
        }
        self.enter(obj)?;
        let done = self.dict_items(obj, dict, level);
        self.leave();
        done
    }

    fn dict_items(&mut self, obj: &PyObject, dict: &Py<PyDict>, level: isize) -> PyResult<()> {
        let vm = self.vm;
        let mut items = if obj.class().is(vm.ctx.types.dict_type) {
            dict.items_vec()
        } else {
            let listed = vm.call_method(obj, "items", ())?;
            iterate(&listed, vm)?
                .into_iter()
                .map(|pair| {
                    let pair = pair
                        .downcast::<PyTuple>()
                        .ok()
                        .filter(|t| t.len() == 2)
                        .ok_or_else(|| vm.new_value_error("items must return 2-tuples"))?;
                    Ok((pair[0].clone(), pair[1].clone()))
                })
                .collect::<PyResult<Vec<_>>>()?
        };
        if self.enc.sort_keys {
            // Keys are unique, so comparing them alone orders the pairs as `sorted()` would.
            rustpython_vm::sorting::timsort(&mut items, &mut |a, b| {
                a.0.rich_compare_bool(&b.0, PyComparisonOp::Lt, vm)
            })?;
        }
        self.out.push_char('{');
        // Line breaks only around items written: a dict whose keys are all skipped is `{}`.
        let inner = level + isize::from(self.enc.indent.is_some());
        let mut first = true;
        for (key, value) in &items {
            let Some(key_text) = self.key(key)? else {
                continue;
            };
            if first {
                self.newline(inner);
            } else {
                self.separator(inner);
            }
            first = false;
            self.out.push_wtf8(&key_text);
            self.out.push_wtf8(self.enc.key_separator.as_wtf8());
            self.value(value, inner).map_err(|e| {
                note(
                    e,
                    || {
                        let key = key.repr(vm).map(|r| r.as_wtf8().to_string());
                        format!(
                            "when serializing {} item {}",
                            type_name(obj, vm),
                            key.unwrap_or_default()
                        )
                    },
                    vm,
                )
            })?;
        }
        if !first {
            self.close_indent(level);
        }
        self.out.push_char('}');
        Ok(())
    }

    /// A dict key as JSON text, or `None` to skip it (`skipkeys`).
    fn key(&mut self, key: &PyObject) -> PyResult<Option<Wtf8Buf>> {
        let vm = self.vm;
        let text: Wtf8Buf = if let Some(text) = key.downcast_ref::<PyStr>() {
            return self.escaped(key, text.as_wtf8()).map(Some);
        } else if let Some(number) = key.downcast_ref::<PyFloat>() {
            self.float_text(key, number)?.into()
        } else if key.is(&vm.ctx.true_value) {
            "true".into()
        } else if key.is(&vm.ctx.false_value) {
            "false".into()
        } else if vm.is_none(key) {
            "null".into()
        } else if let Some(int) = key.downcast_ref::<PyInt>() {
            int_text(int, vm)?.into()
        } else if self.enc.skipkeys {
            return Ok(None);
        } else {
            return Err(vm.new_type_error(format!(
                "keys must be str, int, float, bool or None, not {}",
                key.class().name()
            )));
        };
        let as_str = vm.ctx.new_str(text.clone());
        self.escaped(as_str.as_object(), &text).map(Some)
    }

    fn string(&mut self, obj: &PyObject, text: &Py<PyStr>) -> PyResult<()> {
        // Most strings need no escape at all: copied between quotes, without a buffer of their
        // own.
        if let Some(plain) = text.to_str().filter(|t| self.needs_no_escape(t)) {
            self.out.push_char('"');
            self.out.push_str(plain);
            self.out.push_char('"');
            return Ok(());
        }
        let escaped = self.escaped(obj, text.as_wtf8())?;
        self.out.push_wtf8(&escaped);
        Ok(())
    }

    /// Whether the standard escaper would give `text` back unchanged between quotes: no
    /// control character, quote or backslash, and only ASCII for `ensure_ascii`.
    fn needs_no_escape(&self, text: &str) -> bool {
        let max = match self.enc.escape {
            Escape::Ascii => 0x7e,
            Escape::Unicode => 0xff,
            Escape::Call => return false,
        };
        text.bytes()
            .all(|b| b >= 0x20 && b <= max && b != b'"' && b != b'\\')
    }

    /// `text` (the value of the `str` `obj`) as a quoted JSON string.
    fn escaped(&self, obj: &PyObject, text: &Wtf8) -> PyResult<Wtf8Buf> {
        match self.enc.escape {
            Escape::Ascii => Ok(encode_string(text, true)),
            Escape::Unicode => Ok(encode_string(text, false)),
            Escape::Call => {
                let vm = self.vm;
                let out = self.enc.encoder.call((obj.to_owned(),), vm)?;
                let out = out.downcast::<PyStr>().map_err(|o| {
                    vm.new_type_error(format!(
                        "encoder() must return a string, not {}",
                        o.class().name()
                    ))
                })?;
                Ok(out.as_wtf8().to_owned())
            }
        }
    }

    /// A float's JSON text: its `float.__repr__`, or `NaN`/`Infinity` when `allow_nan`.
    fn float_text(&self, obj: &PyObject, number: &PyFloat) -> PyResult<String> {
        let value = number.to_f64();
        if value.is_finite() {
            return Ok(float::to_string(value));
        }
        if !self.enc.allow_nan {
            let vm = self.vm;
            let repr = obj.repr(vm)?;
            return Err(vm.new_value_error(format!(
                "Out of range float values are not JSON compliant: {}",
                repr.as_wtf8()
            )));
        }
        Ok(if value.is_nan() {
            "NaN"
        } else if value > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }
        .to_owned())
    }

    /// Mark `obj` as being encoded; a second entry is a circular reference.
    fn enter(&mut self, obj: &PyObject) -> PyResult<()> {
        if !self.enc.check_circular {
            return Ok(());
        }
        let id = obj.get_id();
        if self.open.contains(&id) {
            return Err(self.vm.new_value_error("Circular reference detected"));
        }
        self.open.push(id);
        Ok(())
    }

    fn leave(&mut self) {
        if self.enc.check_circular {
            self.open.pop();
        }
    }

    /// After an opening bracket: the items' indentation level, and its line break.
    fn open_indent(&mut self, level: isize) -> isize {
        if self.enc.indent.is_none() {
            return level;
        }
        self.newline(level + 1);
        level + 1
    }

    fn close_indent(&mut self, level: isize) {
        if self.enc.indent.is_some() {
            self.newline(level);
        }
    }

    fn separator(&mut self, level: isize) {
        self.out.push_wtf8(self.enc.item_separator.as_wtf8());
        if self.enc.indent.is_some() {
            self.newline(level);
        }
    }

    fn newline(&mut self, level: isize) {
        if let Some(indent) = &self.enc.indent {
            self.out.push_char('\n');
            for _ in 0..level.max(0) {
                self.out.push_wtf8(indent);
            }
        }
    }
}

/// The items of `obj` through its iterator (`list(obj)`).
fn iterate(obj: &PyObject, vm: &VirtualMachine) -> PyResult<Vec<PyObjectRef>> {
    let iter = obj.get_iter(vm)?;
    let mut items = Vec::new();
    loop {
        match iter.next(vm)? {
            PyIterReturn::Return(item) => items.push(item),
            PyIterReturn::StopIteration(_) => return Ok(items),
        }
    }
}

/// An int's (or int subclass's) decimal text, as `int.__repr__` gives it (with its digit
/// limit).
fn int_text(int: &PyInt, vm: &VirtualMachine) -> PyResult<String> {
    let value = int.as_bigint();
    if value.bits() < 64 {
        return Ok(value.to_string());
    }
    let exact = vm.ctx.new_bigint(value);
    Ok(exact.as_object().repr(vm)?.as_wtf8().to_string())
}

/// The type's name as CPython's `%T` writes it: `module.QualName`, builtins bare.
fn type_name(obj: &PyObject, vm: &VirtualMachine) -> String {
    let class = obj.class();
    let qualname = class
        .as_object()
        .get_attr("__qualname__", vm)
        .ok()
        .and_then(|q| q.str(vm).ok())
        .map_or_else(|| class.name().to_string(), |q| q.as_wtf8().to_string());
    match class
        .as_object()
        .get_attr("__module__", vm)
        .ok()
        .and_then(|m| m.str(vm).ok())
    {
        Some(module) if module.as_wtf8() != "builtins" => {
            format!("{}.{qualname}", module.as_wtf8())
        }
        _ => qualname,
    }
}

/// `exc` with the note `text()` added (`BaseException.add_note`).
fn note(
    exc: PyBaseExceptionRef,
    text: impl FnOnce() -> String,
    vm: &VirtualMachine,
) -> PyBaseExceptionRef {
    let _ = exc.add_note(vm.ctx.new_str(text()), vm);
    exc
}

/// Replace `_json.make_encoder` in this interpreter's `_json` module.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let module = vm.import("_json", 0)?;
    let ours: PyObjectRef = Encoder::make_static_type().to_owned().into();
    module.set_attr("make_encoder", ours, vm)?;
    Ok(())
}
