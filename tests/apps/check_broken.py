"""Apps that break PEP 3333 (or rwsgi's rules) one way each, for `rwsgi check`; pick one with
--callable. `good`, `lazy` and `replaced_after_error` break nothing while using the awkward
corners (write() before returning the iterable, a generator that starts the response lazily,
close(), wsgi.errors, exc_info); `environ_probe` raises unless the check's environ is right;
`hangs_on_post` never answers the POST (for `run --check --timeout`)."""

import io
import sys


def good(environ, start_response):
    environ["wsgi.errors"].write("good: %s\n" % environ["PATH_INFO"])
    environ["wsgi.input"].read(1 << 20)
    write = start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "11")])
    write(b"hello ")

    def rest():
        yield b""
        yield b"world"

    return Closing(rest())


class Closing:
    """An iterable with close(), as frameworks return."""

    def __init__(self, items, fail=False):
        self.items = items
        self.fail = fail

    def __iter__(self):
        return iter(self.items)

    def close(self):
        if self.fail:
            raise RuntimeError("cannot close")


def lazy(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"streamed"


def bad_status(environ, start_response):
    start_response("200", [("Content-Type", "text/plain")])
    return [b"x"]


def newline_header(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Note", "a\r\nSet-Cookie: x=1")])
    return [b"x"]


def hop_by_hop(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Connection", "close")])
    return [b"x"]


def length_mismatch(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "10")])
    return [b"short"]


def write_while_iterating(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])

    def body():
        write(b"late")
        yield b"!"

    return body()


def bare_bytes(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return b"hello"


def bare_str(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return "hello"


def twice(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    start_response("500 Oops", [("Content-Type", "text/plain")])
    return [b"x"]


def replaced_after_error(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        raise ValueError("caught")
    except ValueError:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
    return [b"error page"]


def close_raises(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return Closing([b"x"], fail=True)


def raises_on_post(environ, start_response):
    if environ["REQUEST_METHOD"] == "POST":
        raise ValueError("no posts here")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"x"]


def never_starts(environ, start_response):
    return [b"x"]


def body_first(environ, start_response):
    yield b"x"
    start_response("200 OK", [("Content-Type", "text/plain")])


def snowman_header(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Weather", "\u2603")])
    return [b"x"]


def tuple_headers(environ, start_response):
    start_response("200 OK", (("Content-Type", "text/plain"),))
    return [b"x"]


def bytes_header(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Count", 3)])
    return [b"x"]


def bad_header_name(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X Note", "x")])
    return [b"x"]


def write_str(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write("hello")
    return []


def no_content_type(environ, start_response):
    start_response("200 OK", [])
    return [b"x"]


def no_head(environ, start_response):
    if environ["REQUEST_METHOD"] == "HEAD":
        start_response("405 Method Not Allowed", [("Content-Type", "text/plain"), ("Allow", "GET")])
        return [b""]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"x"]


def returns_none(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])


def no_content_with_body(environ, start_response):
    start_response("204 No Content", [])
    return [b"x"]


def interim_status(environ, start_response):
    start_response("103 Early Hints", [("Link", "</a.css>; rel=preload")])
    return []


def bytes_errors(environ, start_response):
    try:
        environ["wsgi.errors"].write(b"oops\n")
    except TypeError:
        pass
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"x"]


def environ_probe(environ, start_response):
    """Raises unless the environ is what rwsgi gives: the raw path's UTF-8 bytes as latin-1,
    the query string raw, the POST's form body behind CONTENT_LENGTH."""
    path, query = environ["PATH_INFO"], environ["QUERY_STRING"]
    assert environ["wsgi.version"] == (1, 0) and environ["SCRIPT_NAME"] == "", environ
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1" and environ["wsgi.url_scheme"] == "http"
    assert environ["wsgi.multithread"] is False and environ["wsgi.run_once"] is False
    assert environ["wsgi.input_terminated"] is True and "wsgi.file_wrapper" in environ
    if environ["REQUEST_URI"] == "/caf%C3%A9":
        assert path == "/caf\xc3\xa9", ascii(path)
    if query:
        assert (path, query) == ("/", "q=1&x=%20y"), (path, query)
    if environ["REQUEST_METHOD"] == "POST":
        length = int(environ["CONTENT_LENGTH"])
        assert environ["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
        assert environ["wsgi.input"].read(length + 10) == b"name=rwsgi&message=check"
    elif environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
        raise AssertionError(environ["REQUEST_METHOD"])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return environ["wsgi.file_wrapper"](io.BytesIO(b"ok"))


def hangs_on_post(environ, start_response):
    if environ["REQUEST_METHOD"] == "POST":
        import time

        while True:
            time.sleep(1)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"x"]
