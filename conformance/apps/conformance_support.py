"""Shared helpers for the conformance fixture apps (runs inside the server under test).

Plain Python 3, standard library only, no server-specific code: the same module runs on
CPython under gunicorn or waitress and on RustPython under rwsgi.

Side channel: the runner starts each server with CONFORMANCE_STATE_DIR pointing at a fresh
directory. Apps write small files there, because a server may run several worker processes:
  calls/<token>-<rand>      one per application call (what reached the app)
  close/<token>             the iterable's close() was called
  validator/<token>-<rand>  a wsgiref.validate assertion or warning, with its traceback
  notes/<token>             fixture-specific observations (JSON)
A request names its token in the X-Conformance-Token header (HTTP_X_CONFORMANCE_TOKEN).
"""

import json
import os
import sys
import traceback
import warnings
from wsgiref import validate

# Any wsgiref.validate warning is a failure, never just a line on stderr. Narrowed to the
# validator's own warning class so that the server's own warnings are left alone.
warnings.filterwarnings("error", category=validate.WSGIWarning)

STATE_DIR = os.environ.get("CONFORMANCE_STATE_DIR", "")
TOKEN_KEY = "HTTP_X_CONFORMANCE_TOKEN"


def token_of(environ):
    token = environ.get(TOKEN_KEY, "")
    # Only [0-9a-f] reaches a file name, whatever the client sent.
    return "".join(c for c in token if c in "0123456789abcdef")[:32] or "notoken"


def record(kind, environ, payload, unique=True):
    """Write one side-channel file; silently does nothing without a state dir."""
    if not STATE_DIR:
        return
    folder = os.path.join(STATE_DIR, kind)
    name = token_of(environ)
    if unique:
        name += "-" + os.urandom(6).hex()
    try:
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, "." + name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(payload))
        os.replace(tmp, os.path.join(folder, name))
    except OSError:
        pass


def record_call(environ, fixture):
    record("calls", environ, {
        "fixture": fixture,
        "method": environ.get("REQUEST_METHOD"),
        "path": environ.get("PATH_INFO"),
    })


def note(environ, payload):
    record("notes", environ, payload, unique=False)


def mark_closed(environ, what="close"):
    record("close", environ, {"what": what}, unique=False)


def is_validator_failure(exc):
    if isinstance(exc, validate.WSGIWarning):
        return True
    if isinstance(exc, AssertionError):
        # wsgiref.validate raises through its helper assert_(); frozen stdlibs may not give
        # the file a usable name, so the function name is checked as well.
        frames = traceback.extract_tb(exc.__traceback__)
        return bool(frames) and (frames[-1].name == "assert_"
                                 or os.path.basename(frames[-1].filename) == "validate.py")
    return False


def _report_validator(environ, exc, message=None):
    message = message or "%s: %s" % (type(exc).__name__, exc)
    record("validator", environ, {
        "message": message,
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        if exc is not None else "",
    })
    try:
        sys.stderr.write("conformance: wsgiref.validate failure: %s\n" % message)
    except Exception:
        pass


class _Guarded:
    """Iterates the validator's iterable, reporting validator failures raised while the
    server iterates or closes it. Always has close(), which PEP 3333 servers must call."""

    def __init__(self, inner, environ):
        self._closed = False
        self._inner = inner
        self._environ = environ
        self._it = iter(inner)

    def __del__(self):
        # What wsgiref.validate can only print to stderr, reported like its other findings.
        if not getattr(self, "_closed", True) and hasattr(self, "_it"):
            _report_validator(self._environ, None,
                              "the server dropped the iterable without calling close()")

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._it)
        except StopIteration:
            raise
        except BaseException as exc:
            if is_validator_failure(exc):
                _report_validator(self._environ, exc)
            raise

    def close(self):
        self._closed = True
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()
        except BaseException as exc:
            if is_validator_failure(exc):
                _report_validator(self._environ, exc)
            raise


def validated(app):
    """Wrap `app` in wsgiref.validate.validator; report its assertions and warnings through
    the side channel (the runner turns them into a failed case) and re-raise them.

    The server's own wsgi.input / wsgi.errors are kept under conformance.raw_input /
    conformance.raw_errors (dotted keys, which the validator ignores) for the few checks that
    must reach the server's object itself (input iteration, read() without a size)."""
    lint = validate.validator(app)

    def outer(environ, start_response):
        environ["conformance.raw_input"] = environ.get("wsgi.input")
        environ["conformance.raw_errors"] = environ.get("wsgi.errors")
        try:
            result = lint(environ, start_response)
        except BaseException as exc:
            if is_validator_failure(exc):
                _report_validator(environ, exc)
            raise
        return _Guarded(result, environ)

    outer.__name__ = getattr(app, "__name__", "validated")
    return outer


def json_response(start_response, payload, status="200 OK", extra_headers=()):
    body = json.dumps(payload, sort_keys=True).encode("ascii")
    start_response(status, [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
    ] + list(extra_headers))
    return [body]


def text_response(start_response, text, status="200 OK", extra_headers=()):
    body = text.encode("latin-1") if isinstance(text, str) else text
    start_response(status, [
        ("Content-Type", "text/plain"),
        ("Content-Length", str(len(body))),
    ] + list(extra_headers))
    return [body]


def query_params(environ):
    """Tiny QUERY_STRING parser (no urllib.parse needed): 'a=1&b=2' -> {'a': '1', 'b': '2'}."""
    params = {}
    for part in environ.get("QUERY_STRING", "").split("&"):
        if part:
            key, _, value = part.partition("=")
            params[key] = value
    return params


def capture(fn, *args):
    """Run fn(*args) -> (result, error string). Validator failures are not swallowed."""
    try:
        return fn(*args), None
    except Exception as exc:
        if is_validator_failure(exc):
            raise
        return None, "%s: %s" % (type(exc).__name__, exc)
