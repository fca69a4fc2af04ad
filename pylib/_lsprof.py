"""`_lsprof` for rwsgi: the deterministic profiler that `cProfile` is built on, in pure Python.

RustPython 0.6.0 (rwsgi's interpreter) ships neither `cProfile` nor its C accelerator
`_lsprof`, so an app that imports cProfile (a CalDAV server does, at module level) cannot
start. This module gives the `_lsprof` API (`Profiler`, `profiler_entry`, `profiler_subentry`)
on top of `sys.setprofile`; pylib/cProfile.py builds on it. It is frozen into the binary from
pylib/.

How it counts, as CPython's does: every Python function, generator resumption and built-in
function call is a *call*. A call's total time includes its subcalls; its inline time does
not. A call made while an earlier call of the same function is still running counts in
`reccallcount` and adds no total time (the outermost call already covers it). Calls still
running when `disable()` is called are closed then. With `subcalls`, each entry also keeps
per-callee totals (`calls`); with `builtins`, built-in functions and methods are profiled.

The profile hook runs on every call and return, so it does the least it can: one dict
lookup keyed by `id()` (a code object's hash is costly on RustPython) and a few list
operations. With the default timer it also stops the clock while it runs, so the times
reported are close to those of the unprofiled program.

Where RustPython's sys.setprofile differs from CPython's, this module makes the counts match
CPython's: a specialized call site sends no 'c_call' (see _claim_call_sites); calling a
class, an `import` statement (`__import__`) and a built-in called by a built-in (sorted's
key=len, map(abs, ...)) send 'c_call'/'c_return' that CPython does not, and are not
reported (see the hook's "c_call" branch).
"""

import sys
import types

__all__ = ["Profiler", "profiler_entry", "profiler_subentry"]

_setprofile = sys.setprofile
_BUILTIN_FUNCTION = types.BuiltinFunctionType
_DESCRIPTORS = (types.MethodDescriptorType, types.ClassMethodDescriptorType)
_ModuleType = types.ModuleType

try:
    from time import perf_counter as _default_timer
except ImportError:  # pragma: no cover - every supported interpreter has it
    from time import time as _default_timer


# -- result records --------------------------------------------------------------------------


def _record_type(name, fields, doc):
    """A named tuple type shaped like CPython's struct sequences (`_lsprof.NAME`). `fields`
    is a sequence of (field name, field doc)."""
    names = tuple(field for field, _ in fields)
    size = len(names)

    def __new__(cls, sequence, dict=None):
        values = tuple(sequence)
        if len(values) != size:
            raise TypeError(
                "_lsprof.%s() takes a %d-sequence (%d-sequence given)" % (name, size, len(values))
            )
        return tuple.__new__(cls, values)

    def __repr__(self):
        parts = ", ".join("%s=%r" % pair for pair in zip(names, self))
        return "_lsprof.%s(%s)" % (name, parts)

    def __reduce__(self):
        return (type(self), (tuple(self), {}))

    def __replace__(self, **changes):
        values = list(self)
        for key, value in changes.items():
            if key not in names:
                raise TypeError("__replace__() got an unexpected keyword argument %r" % key)
            values[names.index(key)] = value
        return tuple.__new__(type(self), values)

    namespace = {
        "__slots__": (),
        "__doc__": doc,
        "__module__": "_lsprof",
        "__new__": __new__,
        "__repr__": __repr__,
        "__reduce__": __reduce__,
        "__replace__": __replace__,
        "__match_args__": names,
        "n_fields": size,
        "n_sequence_fields": size,
        "n_unnamed_fields": 0,
    }
    for index, (field, field_doc) in enumerate(fields):
        namespace[field] = property(_item(index), doc=field_doc)
    return type(name, (tuple,), namespace)


def _item(index):
    def get(self):
        return self[index]

    return get


profiler_entry = _record_type(
    "profiler_entry",
    (
        ("code", "code object or built-in function name"),
        ("callcount", "how many times this was called"),
        ("reccallcount", "how many times called recursively"),
        ("totaltime", "total time in this entry"),
        ("inlinetime", "inline time in this entry (not in subcalls)"),
        ("calls", "details of the calls"),
    ),
    "One function's totals, from Profiler.getstats().",
)
profiler_subentry = _record_type(
    "profiler_subentry",
    (
        ("code", "called code object or built-in function name"),
        ("callcount", "how many times this is called"),
        ("reccallcount", "how many times this is called recursively"),
        ("totaltime", "total time spent in this call"),
        ("inlinetime", "inline time (not in further subcalls)"),
    ),
    "Totals for the calls one function made to another (profiler_entry.calls).",
)


# -- labels for built-in callables -----------------------------------------------------------


def _builtin_label(func, owner):
    """The name CPython's profiler gives a built-in function or method `func` bound to
    `owner`: the repr of the method as found on type(owner) ("<method 'append' of 'list'
    objects>"), else "<built-in method MODULE.NAME>" ("<built-in method builtins.len>")."""
    name = getattr(func, "__name__", "?")
    module = getattr(func, "__module__", None)
    if owner is None:
        if isinstance(module, str) and module != "builtins":
            return "<%s.%s>" % (module, name)
        return "<%s>" % name
    if not isinstance(owner, _ModuleType):
        for klass in type(owner).__mro__:
            found = klass.__dict__.get(name)
            if found is not None:
                try:
                    return repr(found)
                except Exception:
                    break
    if isinstance(module, str):
        return "<built-in method %s.%s>" % (module, name)
    return "<built-in method %s>" % name


# RustPython specializes a call site after a couple of runs (CALL_LEN, CALL_LIST_APPEND,
# CALL_ISINSTANCE, CALL_METHOD_DESCRIPTOR_*, ...), and a specialized call of a built-in
# sends sys.setprofile no 'c_call'/'c_return', tracing or not: len() in a loop was counted
# twice. Claiming sys.monitoring's CALL event (with no callback) while profiling makes it
# instrument every call site, which undoes the specialization and keeps it off, so every
# built-in call reaches the profile hook. CPython needs none of this (its own _lsprof is
# used there), and on an interpreter without sys.monitoring it is skipped.
_monitoring = getattr(sys, "monitoring", None)
_PROFILER_ID = getattr(_monitoring, "PROFILER_ID", 2)


_claims = 0  # profilers enabled that asked for it (threads may each run one)


def _claim_call_sites():
    """Instrument every call site (see above), shared by the profilers enabled; True if
    this call counts as a claim, to release once."""
    global _claims
    if _monitoring is None or sys.implementation.name == "cpython":
        return False
    if _claims == 0:
        try:
            if _monitoring.get_tool(_PROFILER_ID) is not None:
                return False  # another tool holds it: profile without
            _monitoring.use_tool_id(_PROFILER_ID, "cProfile")
            _monitoring.set_events(_PROFILER_ID, _monitoring.events.CALL)
        except Exception:
            return False
    _claims += 1
    return True


def _release_call_sites():
    global _claims
    _claims -= 1
    if _claims == 0:
        try:
            _monitoring.set_events(_PROFILER_ID, 0)
            _monitoring.free_tool_id(_PROFILER_ID)
        except Exception:
            pass


def _report_timer_error():
    error = sys.exc_info()[1]
    try:
        sys.stderr.write("Exception ignored in profiler timer: %r\n" % (error,))
    except Exception:
        pass


# Indexes into an entry list: [code or label, callcount, reccallcount, totaltime, inlinetime,
# recursion depth now, {callee number: subentry} or None, number, kind].
# A subentry list: [callee entry, callcount, reccallcount, totaltime, inlinetime, depth now].
# A running call (the stack): [entry, subentry or None, start, time in subcalls, the frame or
# built-in it belongs to, kind]. A hidden call's entry is its caller's (or None).
_PYTHON, _NATIVE, _HIDDEN = 0, 1, 2


class Profiler:
    """Profiler(timer=None, timeunit=None, subcalls=True, builtins=True)

    Builds a profiler object using the specified timer function.
    The default timer is time.perf_counter (seconds). A custom timer returning floats
    is read as seconds; for one returning integers, timeunit gives how long each unit
    is, in seconds.
    """

    def __new__(cls, *args, **kwargs):
        # Ready to use even if a subclass's __init__ does not call this one's.
        self = super().__new__(cls)
        self._timer = None
        self._timeunit = 0.0
        self._call_sites = False  # whether it holds a claim on sys.monitoring (below)
        self._build()
        return self

    def __init__(self, timer=None, timeunit=0.0, subcalls=True, builtins=True):
        self._timeunit = float(timeunit or 0.0)
        if timer is not self._timer:
            self._timer = timer
            self._build()
        self._options(subcalls, builtins)

    def _build(self):
        entries = []  # every entry, in order of creation
        by_code = {}  # id(code object) -> entry
        by_builtin = {}  # id(long-lived built-in callable) -> entry, or False: not reported
        by_label = {}  # label -> entry, so built-ins with one label share one entry
        by_bound = {}  # (type of __self__, name) -> entry, for bound built-in methods
        pinned = []  # keeps the callables keyed by id() in by_builtin alive
        stack = []
        self._entries = entries
        self._stack = stack
        self._tables = (by_code, by_builtin, by_label, by_bound, pinned)

        user_timer = self._timer
        if user_timer is None:
            timer = _default_timer
            exclude = True  # take the hook's own time off the clock
        else:

            def timer():
                try:
                    return user_timer()
                except Exception:
                    _report_timer_error()
                    return 0

            exclude = False
        paused = 0.0 if exclude else 0
        subcalls = builtins = True
        _id = id

        def options(with_subcalls, with_builtins):
            # None leaves an option as it is.
            nonlocal subcalls, builtins
            if with_subcalls is not None:
                subcalls = bool(with_subcalls)
            if with_builtins is not None:
                builtins = bool(with_builtins)

        def new_entry(label, native):
            entry = [label, 0, 0, 0, 0, 0, None, len(entries), native]
            entries.append(entry)
            return entry

        def code_entry(code):
            label = _OWN_METHODS.get(_id(code))
            if label is not None:
                # One of Profiler's methods: reported as the built-in it stands for, so
                # only with builtins, and looked up here each time (not cached by code).
                return labelled(label) if builtins else None
            entry = by_code[_id(code)] = new_entry(code, _PYTHON)
            return entry

        def labelled(label):
            entry = by_label.get(label)
            if entry is None:
                entry = by_label[label] = new_entry(label, _NATIVE)
            return entry

        def builtin_entry(func):
            # False: a call CPython does not report (classes, slot wrappers, callable
            # objects, __import__), to keep hidden on the stack. None: sys.setprofile, which
            # only enable() and disable() call; its 'c_return' never comes.
            kind = type(func)
            if kind is _BUILTIN_FUNCTION:
                if func is _setprofile:
                    return None
                owner = func.__self__
                if owner is None or isinstance(owner, _ModuleType):
                    if func.__name__ == "__import__":
                        # RustPython sends 'c_call' for every import statement; CPython
                        # reports none (nor an explicit __import__ call, as a result here).
                        entry = False
                    else:
                        entry = labelled(_builtin_label(func, owner))
                    by_builtin[_id(func)] = entry
                    pinned.append(func)
                    return entry
                # A bound method is a new object each time: key it by what names it.
                key = (type(owner), func.__name__)
                entry = by_bound.get(key)
                if entry is None:
                    entry = by_bound[key] = labelled(_builtin_label(func, owner))
                return entry
            if kind in _DESCRIPTORS:
                entry = labelled(repr(func))
                by_builtin[_id(func)] = entry
                pinned.append(func)
                return entry
            if isinstance(func, type):
                # RustPython sends 'c_call' for calling a class (CPython does not); classes
                # are called often and live long, so remember to hide them.
                by_builtin[_id(func)] = False
                pinned.append(func)
            return False

        def close(call, now):
            # The call on top of the stack returns at `now`.
            stack.pop()
            entry, sub, start, inner = call[0], call[1], call[2], call[3]
            if call[5] == _HIDDEN:
                # Not reported: the time of its reported subcalls goes up to its caller.
                if stack:
                    stack[-1][3] += inner
                return
            total = now - start
            if stack:
                stack[-1][3] += total
            depth = entry[5] - 1
            entry[5] = depth
            if depth:
                entry[2] += 1
            else:
                entry[3] += total
            entry[4] += total - inner
            entry[1] += 1
            if sub is not None:
                depth = sub[5] - 1
                sub[5] = depth
                if depth:
                    sub[2] += 1
                else:
                    sub[3] += total
                sub[4] += total - inner
                sub[1] += 1

        def unwind(owner, now):
            # A return whose call is not on top: close the calls above it (their returns
            # went missing), or ignore it if it began before enable().
            for index in range(len(stack) - 1, -1, -1):
                if stack[index][4] is owner:
                    while len(stack) > index:
                        close(stack[-1], now)
                    return

        def hook(frame, event, arg):
            nonlocal paused
            t = timer()
            entry = None
            if event == "call":
                entry = by_code.get(_id(frame.f_code))
                if entry is None:
                    entry = code_entry(frame.f_code)
                owner = frame
            elif event == "return":
                if stack:
                    call = stack[-1]
                    if call[4] is frame:
                        # close(call, t - paused), inlined: this runs on every return.
                        stack.pop()
                        done, sub, start, inner = call[0], call[1], call[2], call[3]
                        total = t - paused - start
                        if stack:
                            stack[-1][3] += total
                        depth = done[5] - 1
                        done[5] = depth
                        if depth:
                            done[2] += 1
                        else:
                            done[3] += total
                        done[4] += total - inner
                        done[1] += 1
                        if sub is not None:
                            depth = sub[5] - 1
                            sub[5] = depth
                            if depth:
                                sub[2] += 1
                            else:
                                sub[3] += total
                            sub[4] += total - inner
                            sub[1] += 1
                    else:
                        unwind(frame, t - paused)
            elif event == "c_call":
                if builtins:
                    if stack and stack[-1][5]:
                        # A built-in called by a built-in (sorted's key=len, map(abs, ...)):
                        # RustPython reports it, CPython only reports calls made by Python
                        # code. Hidden, like calls CPython never reports (below).
                        entry = False
                    else:
                        entry = by_builtin.get(_id(arg))
                        if entry is None:
                            entry = builtin_entry(arg)
                    if entry is False:
                        # Kept on the stack, unreported, so that what it calls is seen as
                        # called by a built-in, and Python code it calls by its caller.
                        caller = stack[-1][0] if stack else None
                        stack.append([caller, None, 0, 0, arg, _HIDDEN])
                        entry = None
                    owner = arg
            elif event == "c_return" or event == "c_exception":
                if stack:
                    call = stack[-1]
                    if call[4] is arg:
                        close(call, t - paused)
            if entry:
                entry[5] += 1
                sub = None
                if subcalls and stack:
                    caller = stack[-1][0]
                    if caller is not None:
                        calls = caller[6]
                        if calls is None:
                            calls = caller[6] = {}
                        sub = calls.get(entry[7])
                        if sub is None:
                            sub = calls[entry[7]] = [entry, 0, 0, 0, 0, 0]
                        sub[5] += 1
                stack.append([entry, sub, t - paused, 0, owner, entry[8]])
            if exclude:
                paused += timer() - t

        def now():
            return timer() - paused

        def flush():
            # disable(): the calls still running end now (CPython's flush_unmatched).
            t = now()
            while stack:
                close(stack[-1], t)

        self._hook = hook
        self._flush = flush
        self._options = options

    # -- the API -------------------------------------------------------------------------

    def enable(self, subcalls=None, builtins=None):
        """Start collecting profiling information.
        If 'subcalls' is True, also records for each function
        statistics separated according to its current caller.
        If 'builtins' is True, records the time spent in
        built-in functions separately from their caller.
        Either left out keeps its setting (from the constructor,
        or the last enable()), as CPython's does.
        """
        # Unhooked while the options change, so that nothing here is profiled.
        _setprofile(None)
        self._options(subcalls, builtins)
        if not self._call_sites:
            self._call_sites = _claim_call_sites()
        _setprofile(self._hook)

    def disable(self):
        """Stop collecting profiling information."""
        _setprofile(None)
        self._flush()
        if self._call_sites:
            self._call_sites = False
            _release_call_sites()

    def clear(self):
        """Clear all profiling information collected so far."""
        hook = sys.getprofile()
        _setprofile(None)
        self._stack.clear()
        del self._entries[:]
        for table in self._tables:
            table.clear()
        if hook is self._hook:
            _setprofile(hook)

    def getstats(self):
        """list of profiler_entry objects.

        getstats() -> list of profiler_entry objects

        Return all information collected by the profiler.
        Each profiler_entry is a tuple-like object with the
        following attributes:

            code          code object
            callcount     how many times this was called
            reccallcount  how many times called recursively
            totaltime     total time in this entry
            inlinetime    inline time in this entry (not in subcalls)
            calls         details of the calls

        The calls attribute is either None or a list of
        profiler_subentry objects:

            code          called code object
            callcount     how many times this is called
            reccallcount  how many times this is called recursively
            totaltime     total time spent in this call
            inlinetime    inline time (not in further subcalls)
        """
        scale = self._timeunit if (self._timer is not None and self._timeunit > 0.0) else None
        make = tuple.__new__
        result = []
        for code, count, recursive, total, inline, _, calls, _, _ in list(self._entries):
            if scale is not None:
                total, inline = total * scale, inline * scale
            subs = None
            if calls:
                subs = []
                for callee, sub_count, sub_recursive, sub_total, sub_inline, _ in list(calls.values()):
                    if scale is not None:
                        sub_total, sub_inline = sub_total * scale, sub_inline * scale
                    subs.append(
                        make(
                            profiler_subentry,
                            (callee[0], sub_count, sub_recursive, float(sub_total), float(sub_inline)),
                        )
                    )
            result.append(make(profiler_entry, (code, count, recursive, float(total), float(inline), subs)))
        return result


# Profiler's own methods, when they run under the profiler, are named as CPython names its
# C methods (only disable() always does: it is running when profiling stops).
_OWN_METHODS = {
    id(getattr(Profiler, name).__code__): "<method '%s' of '_lsprof.Profiler' objects>" % name
    for name in ("enable", "disable", "clear", "getstats")
}
