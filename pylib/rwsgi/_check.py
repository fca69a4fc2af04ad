"""`rwsgi check` (and `rwsgi run --check`): call the app with a few requests, as a server
would, and validate what it does against PEP 3333 and rwsgi's own rules, saying for each
problem how to fix it.

`check(app, multiprocess, hop_by_hop)` returns `(findings, requests, details)`, where
hop_by_hop are the header names (in lower case) that only the server may send (rwsgi's list,
src/wsgi/response.rs):
- findings: one line each, `METHOD PATH: problem: fix`; a problem is reported once, on the
  first request that showed it, however many requests showed it again;
- requests: how many requests the app was given;
- details: the tracebacks and what the app wrote to wsgi.errors, each under its request, for
  `--verbose` and the log.

The checks are those of PEP 3333 (the ones `wsgiref.validate` makes on the app's side) and the
rules by which rwsgi answers 500 instead of sending a response (src/wsgi/response.rs,
src/python/call.rs): the status and headers `start_response` gets, the body's type and length,
`write()`, `close()`, and exceptions. The environ is built here the way rwsgi builds it, and the
app is really called: a POST with a form body is among the requests.
"""

import io
import os
import string
import traceback
from urllib.parse import unquote_to_bytes

from rwsgi._handler import Errors, FileWrapper

# RFC 9110 section 5.6.2: the characters of a token (a header name).
_TOKEN = frozenset("!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters)

# Statuses whose responses never have a body (RFC 9110 sections 15.3.5 and 15.4.5).
_NO_BODY = (204, 304)

# The most body bytes read from one response: an app that streams without end is cut there.
_MAX_BODY = 64 * 1024 * 1024

# The POST's body: a small urlencoded form.
_FORM = b"name=rwsgi&message=check"

# The longest repr of an app's value quoted in a finding.
_QUOTE = 60


def _requests():
    """(method, target, body) of each request, in order."""
    missing = "/rwsgi-check-404-%s" % os.urandom(4).hex()
    return [
        ("GET", "/", None),
        ("HEAD", "/", None),
        ("POST", "/", _FORM),
        ("GET", missing, None),
        ("GET", "/caf%C3%A9", None),
        ("GET", "/?q=1&x=%20y", None),
    ]


def _quote(value):
    text = repr(value)
    return text if len(text) <= _QUOTE else text[: _QUOTE - 3] + "..."


def _bytes(n):
    return "1 byte" if n == 1 else "%d bytes" % n


def _bad_char(text, header=True):
    """(what, fix) for the first character of `text`, a header value (or else the status),
    that cannot go into an HTTP head; None if there is none."""
    for c in text:
        if c in "\r\n":
            fix = "remove it; each header is a (name, value) tuple of its own"
            return "a line break (CR or LF)", fix if header else "remove it"
        if (ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F:
            return "the control character %r" % c, "remove it"
        if ord(c) > 0xFF:
            return (
                "%s, outside latin-1" % ascii(c),
                "a response head is latin-1: use ASCII (percent-encode the rest, or RFC 8187's "
                "filename*=UTF-8''...)",
            )
    return None


def _code(status):
    """The status code of a well-formed status string, else None."""
    if isinstance(status, str) and len(status) >= 4 and status[3] == " ":
        digits = status[:3]
        if digits.isascii() and digits.isdigit():
            return int(digits)
    return None


def _declared_length(headers):
    """The Content-Length the app's headers give, when it is one whole number; else None."""
    found = None
    for item in headers if type(headers) is list else ():
        if type(item) is tuple and len(item) == 2 and isinstance(item[0], str):
            if item[0].lower() == "content-length" and isinstance(item[1], str):
                value = item[1].strip(" \t")
                if not (value.isascii() and value.isdigit()):
                    return None
                found = int(value)
    return found


def _has_header(headers, name):
    """Whether the list `headers` holds a well-formed header called `name` (in lower case)."""
    return any(
        type(item) is tuple and len(item) == 2 and isinstance(item[0], str)
        and item[0].lower() == name
        for item in headers
    )


# The file name this module's frames carry.
_HERE = (lambda: None).__code__.co_filename


def _theirs(tb):
    """The traceback from its first frame that is not this module's (where the app's begin)."""
    while tb is not None and tb.tb_frame.f_code.co_filename == _HERE:
        tb = tb.tb_next
    return tb


def _where(exc):
    """` at FILE:LINE` of the deepest frame of the exception that is not this module's."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != _HERE]
    if not frames:
        return ""
    return " at %s:%s" % (frames[-1].filename, frames[-1].lineno)


def _message(exc):
    """The exception's message, on one line and not too long."""
    try:
        text = str(exc)
    except Exception:
        text = ""
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:197] + "..."


class _Errors(Errors):
    """wsgi.errors, as rwsgi's, but collecting what the app writes (a detail of its request)
    instead of logging it."""

    def __init__(self, exchange):
        self._exchange = exchange
        self.text = []

    def write(self, s):
        if not isinstance(s, str):
            kind = type(s).__name__
            self._exchange.refuse(
                TypeError("wsgi.errors.write() takes str, not %s" % kind),
                "wsgi.errors.write() was given %s: pass str" % kind,
            )
        self.text.append(s)
        return len(s)


class _Exchange:
    """One request: the environ, the validating start_response and write, and what the app
    did with them."""

    def __init__(self, checker, method, target, body):
        self.checker = checker
        self.method = method
        self.target = target
        self.status = None
        self.headers = None
        # Body bytes have been produced, so the head has gone out (as rwsgi sends it).
        self.head_sent = False
        self.iterating = False
        self.sent = 0
        # A body item was refused (not bytes), or the body was cut: its length means nothing.
        self.spoilt = False
        self.failed = False
        self.early_body = False
        # Exceptions raised here, as a server would raise them at the app: not the app's own.
        self.ours = []
        self.errors = _Errors(self)
        self.environ = self._environ(body)

    def _environ(self, body):
        path, _, query = self.target.partition("?")
        environ = {
            "REQUEST_METHOD": self.method,
            "SCRIPT_NAME": self.checker.script_name,
            # Percent-decoded bytes as latin-1 ("native strings"), as servers give PATH_INFO.
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "REQUEST_URI": self.checker.script_name + self.target,
            "RAW_URI": self.checker.script_name + self.target,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "8000",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "50000",
            "HTTP_HOST": "localhost:8000",
            "HTTP_USER_AGENT": "rwsgi-check",
            "HTTP_ACCEPT": "*/*",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body or b""),
            "wsgi.errors": self.errors,
            "wsgi.multithread": False,
            "wsgi.multiprocess": self.checker.multiprocess,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
            "wsgi.file_wrapper": FileWrapper,
        }
        if body is not None:
            environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
            environ["CONTENT_LENGTH"] = str(len(body))
        return environ

    def find(self, problem):
        """Report `problem` on this request; True if it was not reported before."""
        return self.checker.add(self.method, self.target, problem)

    def refuse(self, exc, problem):
        """Report `problem` and raise `exc` at the app, as rwsgi would."""
        self.find(problem)
        self.ours.append(exc)
        raise exc

    def start_response(self, status, response_headers, exc_info=None):
        if exc_info is not None:
            triple = isinstance(exc_info, tuple) and len(exc_info) == 3
            if not (triple and isinstance(exc_info[1], BaseException)):
                self.find(
                    "start_response() got exc_info %s: pass sys.exc_info() from an except "
                    "block, or nothing" % _quote(exc_info)
                )
            elif self.head_sent:
                # PEP 3333: too late to change the head, so the app's error goes on.
                raise exc_info[1].with_traceback(exc_info[2])
        elif self.status is not None:
            self.refuse(
                AssertionError("start_response() was already called"),
                "start_response() was called twice without exc_info: call it once, or pass "
                "exc_info=sys.exc_info() to replace the head after an error (PEP 3333)",
            )
        self._check_status(status)
        self._check_headers(response_headers)
        self.status, self.headers = status, response_headers
        return self.write

    def _check_status(self, status):
        if not isinstance(status, str):
            self.find("the status is %s: pass a str such as '200 OK'" % type(status).__name__)
            return
        code = _code(status)
        if code is None:
            self.find(
                "the status %s is not a 3-digit code, a space and a reason: write it as '200 OK'"
                % _quote(status)
            )
            return
        if code < 200:
            self.find(
                "the status %s is an interim (1xx) response, which only the server sends: "
                "use a final status, 200 or above" % _quote(status)
            )
        bad = _bad_char(status[4:], header=False)
        if bad:
            self.find("the status %s holds %s: %s" % (_quote(status), bad[0], bad[1]))

    def _check_headers(self, headers):
        if type(headers) is not list:
            self.find(
                "response_headers is a %s: pass a list of (name, value) tuples"
                % type(headers).__name__
            )
            return
        lengths = set()
        for item in headers:
            if type(item) is not tuple or len(item) != 2:
                self.find(
                    "a response header is %s, not a (name, value) tuple: pass tuples of two str"
                    % _quote(item)
                )
                continue
            name, value = item
            if not isinstance(name, str):
                self.find("a header name is %s: pass str" % type(name).__name__)
                continue
            if not name or any(c not in _TOKEN for c in name):
                self.find(
                    "the header name %s is not an HTTP token (letters, digits and "
                    "!#$%%&'*+-.^_`|~): rename it" % _quote(name)
                )
                continue
            if not isinstance(value, str):
                self.find(
                    "the header %s's value is %s: pass str, e.g. str(value)"
                    % (name, type(value).__name__)
                )
                continue
            lower = name.lower()
            if lower in self.checker.hop_by_hop:
                self.find(
                    "%s is a hop-by-hop header, which only the server sets (PEP 3333): remove it"
                    % name
                )
            elif lower == "status":
                self.find(
                    "a header named Status is CGI's way: pass the status as start_response()'s "
                    "first argument"
                )
            bad = _bad_char(value)
            if bad:
                self.find("the header %s holds %s: %s" % (name, bad[0], bad[1]))
            elif lower == "content-length":
                length = value.strip(" \t")
                if length.isascii() and length.isdigit():
                    lengths.add(int(length))
                else:
                    self.find(
                        "Content-Length %s is not a whole number of bytes: send str(len(body))"
                        % _quote(value)
                    )
        if len(lengths) > 1:
            self.find(
                "Content-Length is given more than once, with different values (%s): send it once"
                % ", ".join(str(n) for n in sorted(lengths))
            )

    def write(self, data):
        if self.iterating:
            self.find(
                "write() was called after the body iterable started: yield the bytes from the "
                "iterable instead"
            )
        if not isinstance(data, bytes):
            if isinstance(data, str):
                problem = "write() was given str: pass b'...' or encode it"
            else:
                problem = "write() was given %s: pass bytes" % type(data).__name__
            refusal = TypeError("write() takes bytes, not %s (PEP 3333)" % type(data).__name__)
            self.refuse(refusal, problem)
        self._produced(data)

    def _produced(self, data):
        if not data:
            return
        if self.status is None:
            self.early_body = True
        self.head_sent = True
        self.sent += len(data)

    def run(self, app):
        try:
            result = app(self.environ, self.start_response)
        except BaseException as exc:
            self._raised(exc, "the app raised")
            return
        try:
            self._consume(result)
        except BaseException as exc:
            self._raised(exc, "the app raised")
        finally:
            self._close(result)
        if not self.failed:
            self._finish()

    def _consume(self, result):
        if isinstance(result, str):
            self.find("the app returned a str itself: return a list of bytes, [body.encode()]")
            self.spoilt = True
            return
        if isinstance(result, (bytes, bytearray)):
            self.find(
                "the app returned %s itself, which iterates as ints: wrap it in a list, [body]"
                % type(result).__name__
            )
            self.spoilt = True
            return
        if result is None:
            self.find("the app returned None: return an iterable of bytes, e.g. [body]")
            self.spoilt = True
            return
        kind = type(result)
        if not (hasattr(kind, "__iter__") or hasattr(kind, "__getitem__")):
            self.find(
                "the app returned %s, which is not iterable: return a list of bytes, [body]"
                % kind.__name__
            )
            self.spoilt = True
            return
        self.iterating = True
        for item in result:
            if self.status is None:
                self.early_body = True
            if not isinstance(item, bytes):
                if isinstance(item, str):
                    self.find("the body item is str: return [b'...'] or encode it")
                else:
                    self.find("the body item is %s: yield bytes only" % type(item).__name__)
                self.spoilt = True
                continue
            self._produced(item)
            if self.sent > _MAX_BODY:
                self.spoilt = True
                cut = "the body passed %s; the rest was not read" % _bytes(_MAX_BODY)
                self.checker.detail(self, cut)
                break

    def _close(self, result):
        try:
            close = getattr(result, "close", None)
        except BaseException as exc:
            self._raised(exc, "looking up close() on the app's iterable raised")
            return
        if close is None:
            return
        try:
            close()
        except BaseException as exc:
            self._raised(exc, "close() of the app's iterable raised")

    def _raised(self, exc, what):
        self.failed = True
        if any(exc is mine for mine in self.ours):
            return
        message = _message(exc)
        problem = "%s %s%s" % (what, type(exc).__name__, _where(exc))
        if self.find(problem + (": " + message if message else "")):
            shown = traceback.format_exception(type(exc), exc, _theirs(exc.__traceback__))
            self.checker.detail(self, "".join(shown))

    def _finish(self):
        if self.status is None:
            self.find(
                "start_response() was never called: call start_response(status, headers) before "
                "returning the body"
            )
            return
        if self.early_body:
            self.find(
                "the body began before start_response() was called: call start_response() first "
                "(in a generator, before its first yield)"
            )
        code = _code(self.status)
        if code in _NO_BODY:
            if self.sent:
                self.find(
                    "a %d response has no body, but the app sent %s: send none"
                    % (code, _bytes(self.sent))
                )
            return
        length = _declared_length(self.headers)
        head_only = self.method == "HEAD" and not self.sent
        if length is not None and not self.spoilt and not head_only and length != self.sent:
            self.find(
                "Content-Length says %d but the body has %s: send exactly that many, or leave the "
                "header out" % (length, _bytes(self.sent))
            )
        headers = self.headers if type(self.headers) is list else None
        if self.sent and headers is not None and not _has_header(headers, "content-type"):
            self.find(
                "the response has a body but no Content-Type: add one, e.g. ('Content-Type', "
                "'text/html; charset=utf-8')"
            )


class _Checker:
    def __init__(self, multiprocess, hop_by_hop, script_name=""):
        self.multiprocess = bool(multiprocess)
        # The --mount prefix the app is served under ("" at the root).
        self.script_name = script_name
        self.hop_by_hop = frozenset(hop_by_hop)
        self.findings = []
        self.details = []
        self._seen = set()

    def add(self, method, target, problem):
        problem = " ".join(problem.split())
        if problem in self._seen:
            return False
        self._seen.add(problem)
        self.findings.append("%s %s: %s" % (method, target, problem))
        return True

    def detail(self, exchange, text):
        self.details.append("%s %s: %s" % (exchange.method, exchange.target, text.rstrip()))

    def run(self, app):
        requests = _requests()
        for method, target, body in requests:
            exchange = _Exchange(self, method, target, body)
            exchange.run(app)
            if exchange.errors.text:
                self.detail(exchange, "wsgi.errors:\n" + "".join(exchange.errors.text))
        return len(requests)


def check(app, multiprocess, hop_by_hop, script_name=""):
    checker = _Checker(multiprocess, hop_by_hop, script_name)
    requests = checker.run(app)
    return checker.findings, requests, checker.details
