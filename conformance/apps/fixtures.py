"""Conformance fixtures: one WSGI application hosting many small fixture apps.

The runner picks a fixture with the X-Fixture request header (HTTP_X_FIXTURE); a request
without it (every gunicorn-corpus request) goes to `echo`. Parameters come in QUERY_STRING.
Every fixture is wrapped in wsgiref.validate (see conformance_support.validated) except the
`misbehave` ones, which break PEP 3333 on purpose, and the few noted where they are defined.
Plain Python 3 and the standard library only: it runs on CPython and on RustPython.
"""

import base64
import io
import os
import sys
import tempfile

from conformance_support import (
    capture, json_response, mark_closed, note, query_params, record_call, text_response,
    validated,
)

FIXTURES = {}
PLAIN = [("Content-Type", "text/plain")]
# Methods wsgiref.validate accepts without a warning.
VALIDATOR_METHODS = ("GET", "HEAD", "POST", "OPTIONS", "PATCH", "PUT", "DELETE", "TRACE")
READ_CAP = 4 * 1024 * 1024  # no fixture reads more than this, whatever the server returns


def fixture(name, validate=True):
    def register(app):
        FIXTURES[name] = validated(app) if validate else app
        return app
    return register


def application(environ, start_response):
    name = environ.get("HTTP_X_FIXTURE", "echo")
    record_call(environ, name)
    app = FIXTURES.get(name)
    if app is None:
        return text_response(start_response, "unknown fixture %r" % name, "404 Not Found")
    return app(environ, start_response)


def b64(data):
    return base64.b64encode(data).decode("ascii")


def pattern(size, seed=0):
    """Deterministic bytes; the runner computes the same with lib.fixtures.pattern."""
    return bytes((seed + i) % 251 for i in range(size))


class Tracked:
    """An iterable whose close() leaves a marker, proving the server called it."""

    def __init__(self, environ, items, what="close"):
        self._environ = environ
        self._items = items
        self._what = what

    def __iter__(self):
        return iter(self._items)

    def close(self):
        mark_closed(self._environ, self._what)
        close = getattr(self._items, "close", None)
        if close is not None:
            close()


# --- request side -------------------------------------------------------------------------

def _read_body(environ):
    """The request body, read as a careful app would: CONTENT_LENGTH bytes; to the end only
    when the server says the stream ends by itself (chunked, wsgi.input_terminated); else
    none (RFC 9112 §6.3: no Content-Length, no Transfer-Encoding, no body)."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH", "").strip()
    if length.isdigit():
        remaining = int(length)
    elif environ.get("wsgi.input_terminated") or \
            "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        remaining = None
    else:
        return b""
    chunks, total = [], 0
    while total < READ_CAP:
        size = 65536 if remaining is None else min(65536, remaining - total)
        if size <= 0:
            break
        data = stream.read(size)
        if not data:
            break
        chunks.append(data)
        total += len(data)
    return b"".join(chunks)


def _echo(environ, start_response):
    body = _read_body(environ)
    headers = {k: v for k, v in environ.items()
               if k.startswith("HTTP_") or k in ("CONTENT_TYPE", "CONTENT_LENGTH")}
    return json_response(start_response, {
        "validated": not environ.get("conformance.unvalidated", False),
        "method": environ.get("REQUEST_METHOD"),
        "script_name": environ.get("SCRIPT_NAME"),
        "path_info": environ.get("PATH_INFO"),
        "query_string": environ.get("QUERY_STRING"),
        "protocol": environ.get("SERVER_PROTOCOL"),
        "headers": headers,
        "body": b64(body),
    })


_echo_validated = validated(_echo)


@fixture("echo", validate=False)
def echo(environ, start_response):
    """What the app received. Validated unless the request is one wsgiref.validate rejects
    although HTTP allows it (extension methods, CONNECT's authority-form, OPTIONS *)."""
    path = environ.get("PATH_INFO", "")
    if environ.get("REQUEST_METHOD") in VALIDATOR_METHODS and (not path or path[:1] == "/"):
        return _echo_validated(environ, start_response)
    environ["conformance.unvalidated"] = True
    return _echo(environ, start_response)


def describe(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"type": type(value).__name__, "value": value}
    if isinstance(value, tuple) and all(isinstance(x, (int, str)) for x in value):
        return {"type": "tuple", "value": list(value)}
    attrs = ("read", "readline", "readlines", "__iter__", "write", "writelines", "flush")
    return {"type": type(value).__name__, "attrs": [a for a in attrs if hasattr(value, a)]}


@fixture("environ")
def environ_dump(environ, start_response):
    out = {k: describe(v) for k, v in environ.items() if not k.startswith("conformance.")}
    raw_errors = environ["conformance.raw_errors"]
    out["wsgi.input"] = describe(environ["conformance.raw_input"])
    out["wsgi.errors"] = describe(raw_errors)
    errors = environ["wsgi.errors"]
    results = [
        capture(errors.write, "conformance: wsgi.errors.write\n")[1],
        capture(errors.writelines, ["conformance: wsgi.errors.writelines\n"])[1],
        capture(raw_errors.writelines, ["conformance: server writelines\n"])[1],
        capture(errors.flush)[1],
    ]
    return json_response(start_response, {"environ": out, "errors_results": results})


@fixture("input")
def input_modes(environ, start_response):
    """Reads wsgi.input one way (mode=...) and returns the pieces as the app saw them.
    `iter` and `read_all` use the server's own object (validator would hide its __iter__ and
    forbids read() without a size, which PEP 3333 says a server should allow)."""
    params = query_params(environ)
    mode = params.get("mode", "read_n")
    n = int(params.get("n", "7"))
    stream = environ["wsgi.input"]
    raw = environ["conformance.raw_input"]
    pieces, first_batch = [], []

    def loop(read):
        total = 0
        while total < READ_CAP:
            data = read()
            if not data:
                return
            pieces.append(data)
            total += len(data)

    def run():
        if mode == "read_all":
            pieces.append(raw.read())
        elif mode == "read_n":
            loop(lambda: stream.read(n))
        elif mode == "readline":
            loop(stream.readline)
        elif mode == "readline_n":
            loop(lambda: stream.readline(n))
        elif mode == "readlines":
            pieces.extend(stream.readlines())
        elif mode == "readlines_hint":
            first_batch.extend(stream.readlines(n))
            pieces.extend(first_batch)
            pieces.extend(stream.readlines())
        elif mode == "iter":
            for line in raw:
                pieces.append(line)
                if len(pieces) > 100000:
                    break
        elif mode == "read_past":
            pieces.append(stream.read(int(environ.get("CONTENT_LENGTH") or 0) + 100))
        else:
            raise ValueError("unknown mode %r" % mode)
        return stream.read(16)  # an exhausted stream must give b''

    after, error = capture(run)
    return json_response(start_response, {
        "mode": mode,
        "pieces": [b64(p) if isinstance(p, bytes) else repr(p) for p in pieces],
        "types": sorted({type(p).__name__ for p in pieces}),
        "first_batch": len(first_batch),
        "after_eof": b64(after) if isinstance(after, bytes) else repr(after),
        "error": error,
    })


@fixture("ok")
def ok(environ, start_response):
    return text_response(start_response, b"ok")


@fixture("selftest")
def selftest(environ, start_response):
    """Breaks wsgiref.validate on purpose: the suite checks that the validator runs, and is
    reported, inside this server's interpreter (v=assertion or v=warning)."""
    if query_params(environ).get("v") == "warning":
        start_response("200\tOK", list(PLAIN))  # validator warns about the separator
    else:
        start_response("200 OK", [])  # validator asserts: no Content-Type
    return [b"wsgiref.validate missed it"]


# --- response side ------------------------------------------------------------------------

@fixture("write")
def write_callable(environ, start_response):
    mode = query_params(environ).get("mode", "mixed")
    headers = list(PLAIN)
    if mode == "cl":
        headers.append(("Content-Length", "10"))
    write = start_response("200 OK", headers)
    if mode == "mixed":
        write(b"hello, ")
        return Tracked(environ, [b"world"])
    write(b"part1")
    write(b"part2")
    return Tracked(environ, [])


@fixture("exc_info")
def exc_info(environ, start_response):
    mode = query_params(environ).get("mode", "before")
    if mode == "before":
        start_response("200 OK", list(PLAIN))
        try:
            raise ValueError("app failure before the body")
        except ValueError:
            start_response("500 Internal Server Error", list(PLAIN), sys.exc_info())
        return Tracked(environ, [b"handled error"])

    def after_empty():
        yield b""
        try:
            raise ValueError("app failure after an empty chunk")
        except ValueError:
            start_response("500 Internal Server Error", list(PLAIN), sys.exc_info())
        yield b"handled error"

    def after_body():
        yield b"partial-body;"
        try:
            raise ValueError("app failure after the headers went out")
        except ValueError as original:
            try:
                start_response("500 Internal Server Error", list(PLAIN), sys.exc_info())
            except BaseException as exc:
                note(environ, {"reraised": type(exc).__name__, "same": exc is original})
                raise
            note(environ, {"reraised": None})
        yield b"start_response did not raise"

    if mode == "after_empty":
        start_response("200 OK", list(PLAIN))
        return Tracked(environ, after_empty())
    start_response("200 OK", PLAIN + [("Content-Length", "100")])
    return Tracked(environ, after_body())


@fixture("lazy")
def lazy(environ, start_response):
    mode = query_params(environ).get("mode", "error_after_empty")

    def error_after_empty():
        yield b""
        raise RuntimeError("failure after an empty chunk: headers must not be out yet")

    def empty_then_body():
        yield b""
        yield b""
        yield b"body after empties"

    def start_in_generator():
        start_response("200 OK", list(PLAIN))
        yield b"started inside the generator"

    if mode == "start_in_generator":
        return Tracked(environ, start_in_generator())
    start_response("200 OK", list(PLAIN))
    gen = error_after_empty() if mode == "error_after_empty" else empty_then_body()
    return Tracked(environ, gen)


@fixture("status")
def status(environ, start_response):
    code = query_params(environ).get("code", "204")
    reason = {"204": "No Content", "304": "Not Modified"}.get(code, "Whatever")
    start_response("%s %s" % (code, reason), [("X-Status-Fixture", code)])
    return Tracked(environ, [])


@fixture("stream")
def stream(environ, start_response):
    """n chunks of `size` bytes (chunk i = pattern(size, i)); optional Content-Length (cl=1),
    optional failure after `fail_after` chunks."""
    params = query_params(environ)
    n, size = int(params.get("n", "3")), int(params.get("size", "10"))
    fail_after = int(params.get("fail_after", "-1"))
    headers = list(PLAIN)
    if params.get("cl") == "1":
        headers.append(("Content-Length", str(n * size)))
    start_response("200 OK", headers)

    def chunks():
        for i in range(n):
            if i == fail_after:
                raise RuntimeError("stream failure after %d chunks" % i)
            yield pattern(size, i)

    return Tracked(environ, chunks())


@fixture("cl")
def content_length(environ, start_response):
    params = query_params(environ)
    declared, actual = int(params["declare"]), int(params["send"])
    start_response("200 OK", PLAIN + [("Content-Length", str(declared))])
    return Tracked(environ, [pattern(actual)])


@fixture("latin1_out")
def latin1_out(environ, start_response):
    return text_response(start_response, b"latin-1 header", extra_headers=[
        ("X-Latin", "caf\xe9 \xff")])


class _TrackedFile(io.FileIO):
    environ = None

    def close(self):
        if not self.closed and self.environ is not None:
            mark_closed(self.environ, "file")
        super().close()


class _FileLike:
    """read() and close() only: no fileno, so no sendfile shortcut."""

    def __init__(self, environ, data):
        self._environ = environ
        self._buf = io.BytesIO(data)

    def read(self, size=-1):
        return self._buf.read(size)

    def close(self):
        mark_closed(self._environ, "file")


def _file_wrapper(environ, start_response):
    params = query_params(environ)
    size = int(params.get("size", "200000"))
    wrapper = environ.get("wsgi.file_wrapper")
    if wrapper is None:
        return text_response(start_response, b"no wsgi.file_wrapper in environ",
                             "501 Not Implemented")
    data = pattern(size)
    if params.get("mode") == "filelike":
        filelike = _FileLike(environ, data)
    else:
        fd, path = tempfile.mkstemp(prefix="conformance-")
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        filelike = _TrackedFile(path, "r")
        filelike.environ = environ
        os.unlink(path)
    headers = list(PLAIN)
    if "cl" in params:
        headers.append(("Content-Length", params["cl"]))
    start_response("200 OK", headers)
    return wrapper(filelike, 8192)


fixture("file_wrapper")(_file_wrapper)
# Unwrapped on purpose: wsgiref.validate hides the server's own file_wrapper object behind its
# iterator, so only this variant reaches a server's sendfile/fast path.
fixture("file_wrapper_direct", validate=False)(_file_wrapper)


# --- misbehaving apps: never validated (the validator would stop them itself) ---------------

def _gen_then_raise(first):
    yield first
    raise RuntimeError("app failure in the middle of the body")


def _misbehave(environ, start_response):
    v = query_params(environ).get("v", "")
    if v == "status_nonnumeric":
        start_response("OK", list(PLAIN))
        return [b"bad status"]
    if v == "status_crlf":
        start_response("200 OK\r\nX-Injected: yes", list(PLAIN))
        return [b"bad status"]
    if v == "str_body":
        start_response("200 OK", list(PLAIN))
        return ["a str, not bytes"]
    if v == "write_str":
        write = start_response("200 OK", list(PLAIN))
        write("a str, not bytes")
        return []
    if v == "header_crlf":
        start_response("200 OK", PLAIN + [("X-Test", "a\r\nX-Injected: yes")])
        return [b"bad header"]
    if v == "header_lf":
        start_response("200 OK", PLAIN + [("X-Test", "a\nX-Injected: yes")])
        return [b"bad header"]
    if v == "header_name":
        start_response("200 OK", PLAIN + [("X Bad: Name", "1")])
        return [b"bad header name"]
    if v == "header_non_latin1":
        start_response("200 OK", PLAIN + [("X-Euro", "\u20ac")])
        return [b"non latin-1 header"]
    if v == "raise_before_start":
        raise RuntimeError("app failure before start_response")
    if v == "raise_after_start":
        start_response("200 OK", list(PLAIN))
        raise RuntimeError("app failure after start_response, before the body")
    if v == "raise_mid_body":
        start_response("200 OK", list(PLAIN))
        return Tracked(environ, _gen_then_raise(b"partial-body;"))
    if v == "raise_mid_body_cl":
        start_response("200 OK", PLAIN + [("Content-Length", "100")])
        return Tracked(environ, _gen_then_raise(b"partial-body;"))
    if v == "double_start":
        start_response("200 OK", list(PLAIN))
        start_response("201 Created", list(PLAIN))
        return [b"second start_response accepted"]
    if v == "no_start":
        return [b"start_response never called"]
    if v == "returns_none":
        start_response("200 OK", list(PLAIN))
        return None
    if v == "close_raises":
        class CloseRaises:
            def __iter__(self):
                return iter([b"body before a failing close"])

            def close(self):
                raise RuntimeError("close() failure")
        start_response("200 OK", PLAIN + [("Content-Length", "27")])
        return CloseRaises()
    return text_response(start_response, "unknown variant %r" % v, "404 Not Found")


fixture("misbehave", validate=False)(_misbehave)
