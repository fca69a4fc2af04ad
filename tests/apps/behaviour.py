"""Test fixture: one WSGI app whose PATH_INFO picks a behaviour, well-behaved or not. The Rust
integration tests (tests/*.rs) drive it over real sockets."""

import hashlib
import io
import json
import os
import sys
import time
from urllib.parse import parse_qs


def _query(environ):
    return {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


def _json(start_response, payload, status="200 OK"):
    body = json.dumps(payload, sort_keys=True).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _describe(value):
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, tuple):
        return [_describe(v) for v in value]
    return type(value).__name__


def env(environ, start_response):
    payload = {k: _describe(v) for k, v in environ.items()}
    payload["types"] = {k: type(v).__name__ for k, v in environ.items()}
    return _json(start_response, payload)


def read(environ, start_response):
    """Reads the body with the method named by ?mode=, returning the pieces as latin-1."""
    q = _query(environ)
    stream = environ["wsgi.input"]
    mode = q.get("mode", "read")
    n = int(q.get("n", "-1"))
    if mode == "read":
        pieces = [stream.read()]
    elif mode == "read_n":
        pieces = []
        while True:
            piece = stream.read(n)
            if not piece:
                break
            pieces.append(piece)
    elif mode == "readline":
        pieces = []
        while True:
            line = stream.readline() if n < 0 else stream.readline(n)
            if not line:
                break
            pieces.append(line)
    elif mode == "readlines":
        pieces = stream.readlines() if n < 0 else stream.readlines(n)
    elif mode == "iter":
        pieces = list(stream)
    else:
        raise ValueError(mode)
    return _json(start_response, {"pieces": [p.decode("latin-1") for p in pieces],
                                  "types": sorted({type(p).__name__ for p in pieces})})


def upload(environ, start_response):
    """Streams the body through sha256 in 64 KiB reads; reports count, digest and peak RSS."""
    stream = environ["wsgi.input"]
    digest = hashlib.sha256()
    total = 0
    while True:
        piece = stream.read(65536)
        if not piece:
            break
        total += len(piece)
        digest.update(piece)
    rss = 0
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    rss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return _json(start_response, {"bytes": total, "sha256": digest.hexdigest(), "peak_rss": rss})


def write(environ, start_response):
    w = start_response("200 OK", [("Content-Type", "text/plain")])
    w(b"written ")
    w(b"")
    w(b"then ")
    return [b"returned"]


def exc_before(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        raise RuntimeError("changed my mind")
    except RuntimeError:
        start_response("503 Changed My Mind", [("Content-Type", "text/plain")], sys.exc_info())
    return [b"replaced"]


def exc_after(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"partial body "
    try:
        raise RuntimeError("too late")
    except RuntimeError:
        start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())
    yield b"never sent"


def lazy_fail(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b""
    raise RuntimeError("failed before the first byte")


def raises(environ, start_response):
    raise ValueError("the app is broken on purpose")


def bad_status(environ, start_response):
    start_response(_query(environ).get("status", "200"), [("Content-Type", "text/plain")])
    return [b"bad"]


def str_body(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return ["a str, not bytes"]


def bad_header(environ, start_response):
    value = {"crlf": "a\r\nSet-Cookie: evil=1", "lf": "a\nb", "snowman": "\u2603",
             "latin1": "caf\xe9"}[_query(environ)["kind"]]
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Test", value)])
    return [b"header ok"]


def second_start(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"should not get here"]


class _Closing:
    """An iterable that records close() in the file named by ?marker=."""

    def __init__(self, marker, chunks, delay):
        self.marker = marker
        self.chunks = chunks
        self.delay = delay

    def __iter__(self):
        for i in range(self.chunks):
            if i and self.delay:
                time.sleep(self.delay)
            yield b"chunk %d\n" % i

    def close(self):
        with open(self.marker, "w") as f:
            f.write("closed")


def closing(environ, start_response):
    q = _query(environ)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return _Closing(q["marker"], int(q.get("chunks", "2")), float(q.get("delay", "0")))


def stream(environ, start_response):
    q = _query(environ)
    start_response("200 OK", [("Content-Type", "text/plain")])
    for i in range(int(q.get("chunks", "3"))):
        if i:
            time.sleep(float(q.get("delay", "1")))
        yield b"tick %d\n" % i


def handshake(environ, start_response):
    """Yields one chunk, then waits for the client to create ?marker= before the second: the
    client only gets there if the first chunk reached it while the app was still running."""
    marker = _query(environ)["marker"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"first\n"
    deadline = time.time() + 20
    while not os.path.exists(marker) and time.time() < deadline:
        time.sleep(0.01)
    yield b"second\n" if os.path.exists(marker) else b"timed out\n"


def cl_over(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"01234", b"56789"]


def cl_under(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "50")])
    return [b"short"]


def no_length(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return iter([b"first ", b"second"])


def file(environ, start_response):
    q = _query(environ)
    f = open(q["path"], "rb")
    if "skip" in q:
        f.seek(int(q["skip"]))
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return environ["wsgi.file_wrapper"](f, 8192)


def filelike(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return environ["wsgi.file_wrapper"](io.BytesIO(b"from a BytesIO"), 4)


def errors(environ, start_response):
    print("message for wsgi.errors", file=environ["wsgi.errors"])
    environ["wsgi.errors"].writelines(["second line\n"])
    environ["wsgi.errors"].flush()
    return _json(start_response, {"ok": True})


def sleep(environ, start_response):
    environ["wsgi.errors"].write("sleeping in pid %d\n" % os.getpid())
    environ["wsgi.errors"].flush()
    time.sleep(float(_query(environ).get("seconds", "1")))
    return _json(start_response, {"slept": True, "pid": os.getpid()})


_KEPT = []


def grow(environ, start_response):
    """Keeps ?mb= MiB of written memory for the life of the worker."""
    _KEPT.append(b"x" * (int(_query(environ).get("mb", "1")) * 1024 * 1024))
    return _json(start_response, {"pid": os.getpid(), "kept": len(_KEPT)})


def _spin_forever():
    n = 0
    while True:
        n += 1


def spin(environ, start_response):
    """Runs Python for ever (for the --timeout traceback)."""
    _spin_forever()


def pid(environ, start_response):
    return _json(start_response, {"pid": os.getpid()})


def panic(environ, start_response):
    """A Rust panic inside the interpreter (needs RWSGI_FAULT_INJECTION=1)."""
    import _rwsgi
    _rwsgi._panic("injected by the test")


def exit_worker(environ, start_response):
    os._exit(1)


ROUTES = {name: fn for name, fn in globals().items() if callable(fn) and not name.startswith("_")}
ROUTES.pop("parse_qs")


def application(environ, start_response):
    name = environ["PATH_INFO"].strip("/").split("/")[0] or "env"
    handler = ROUTES.get(name)
    if handler is None:
        return _json(start_response, {"error": "no route %s" % name}, "404 Not Found")
    return handler(environ, start_response)


# A second callable, for --callable and file.py:name.
def other(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"the other callable"]
