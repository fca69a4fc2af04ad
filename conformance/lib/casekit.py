"""The case model: registration, the per-case context handed to every check, shared checks.

A case is a function `check(ctx)` registered with @case(id, spec). It returns normally to
pass, raises Fail(reason) to fail and NotApplicable(reason) for n/a. Cases run one after
another against one server; each gets a fresh Ctx.
"""

import base64
import json
import os
import re
import time
from dataclasses import dataclass

from .servers import AppConfig
from .wire import Conn, NoResponse, Timeout, build_request

DEFAULT = AppConfig()
REGISTRY = []
# How long any response may take to arrive. Fixtures answer in milliseconds; this only bounds
# how long a broken server can hold a case.
RESPONSE_TIMEOUT = 4.0


class Fail(Exception):
    pass


class TimedOut(Fail):
    """A Fail because the server did not answer in time."""


class NotApplicable(Exception):
    pass


@dataclass
class Case:
    id: str
    spec: str
    check: object
    config: AppConfig = DEFAULT
    doc: str = ""
    needs: tuple = ()  # server features beyond the config (see servers.LACKS)

    @property
    def section(self):
        return self.id.split(".", 1)[0]


def case(case_id, spec, config=DEFAULT, needs=()):
    """Decorator registering a check function as a case."""
    def register(fn):
        add_case(Case(case_id, spec, fn, config, (fn.__doc__ or "").strip(), tuple(needs)))
        return fn
    return register


def add_case(c):
    if any(existing.id == c.id for existing in REGISTRY):
        raise ValueError("duplicate case id %s" % c.id)
    REGISTRY.append(c)


# --- the state dir the fixtures write to (see apps/conformance_support.py) -------------------

class State:
    def __init__(self, root):
        self.root = root

    def _folder(self, kind):
        return os.path.join(self.root, kind)

    def entries(self, kind, prefixes=None):
        folder = self._folder(kind)
        try:
            names = sorted(n for n in os.listdir(folder) if not n.startswith("."))
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            if prefixes is not None and not any(name.startswith(p) for p in prefixes):
                continue
            try:
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    out.append((name, json.loads(f.read() or "null")))
            except (OSError, ValueError):
                out.append((name, None))
        return out

    def clear(self, *kinds):
        for kind in kinds:
            folder = self._folder(kind)
            for name in os.listdir(folder) if os.path.isdir(folder) else ():
                try:
                    os.unlink(os.path.join(folder, name))
                except OSError:
                    pass

    def wait(self, kind, token, timeout):
        deadline = time.monotonic() + timeout
        while True:
            found = self.entries(kind, [token])
            if found:
                return found[0][1]
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)


# --- per-case context ---------------------------------------------------------------------

class Ctx:
    def __init__(self, server):
        self.server = server
        self.port = server.port
        self.state = State(server.state_dir)
        self.tokens = []
        self.notes = []

    def token(self):
        t = os.urandom(8).hex()
        self.tokens.append(t)
        return t

    def conn(self, timeout=RESPONSE_TIMEOUT):
        return Conn(self.port, timeout)

    def request(self, method="GET", target="/", fixture=None, headers=(), body=b"",
                version="HTTP/1.1", chunks=None, token=None, host=True):
        hdrs = list(headers)
        if fixture:
            hdrs.append(("X-Fixture", fixture))
        if token:
            hdrs.append(("X-Conformance-Token", token))
        return build_request(method, target, hdrs, body, version, host, chunks, self.port)

    def exchange(self, raw, method="GET", timeout=RESPONSE_TIMEOUT):
        """One request on a fresh connection; returns the response."""
        with self.conn(timeout) as conn:
            conn.send(raw)
            return read(conn, method, timeout)

    def fetch(self, fixture, target="/", method="GET", **kw):
        """exchange() for a fixture with a fresh token: (response, token)."""
        token = self.token()
        raw = self.request(method, target, fixture=fixture, token=token, **kw)
        return self.exchange(raw, method), token

    def fetch_json(self, fixture, target="/", **kw):
        resp, _ = self.fetch(fixture, target, **kw)
        return json_body(resp)

    def calls(self):
        return [payload for _, payload in self.state.entries("calls")]

    def wait_closed(self, token, timeout=3.0, what="the iterable"):
        marker = self.state.wait("close", token, timeout)
        if marker is None:
            raise Fail("close() on %s was not called (no marker within %.0f s)" % (what, timeout))
        return marker

    def note_of(self, token, timeout=2.0):
        return self.state.wait("notes", token, timeout)

    def health(self, after="this case"):
        """The server must still answer a plain request on a new connection."""
        try:
            resp = self.exchange(self.request("GET", "/health", fixture="ok"))
        except (Timeout, NoResponse, OSError) as exc:
            raise Fail("server stopped serving after %s: %s" % (after, describe_exc(exc)))
        if resp.status != 200 or resp.body != b"ok":
            raise Fail("server unhealthy after %s: %s" % (after, resp.describe()))


def describe_exc(exc):
    if isinstance(exc, Timeout):
        return "timed out waiting for the server"
    if isinstance(exc, NoResponse):
        return "connection closed without a response"
    return "%s: %s" % (type(exc).__name__, exc)


def read(conn, method="GET", timeout=RESPONSE_TIMEOUT):
    try:
        return conn.read_response(method, timeout)
    except Timeout:
        raise TimedOut("no complete response head within %.0f s" % timeout)
    except NoResponse:
        raise Fail("connection closed without a response")


# --- shared checks ------------------------------------------------------------------------

def read_aborted(conn, method="GET", timeout=RESPONSE_TIMEOUT):
    """Read a response the server is expected to abort: returns it, or None when the
    connection closed or was reset before any byte (an abort too, only an earlier one)."""
    try:
        return conn.read_response(method, timeout)
    except Timeout:
        raise TimedOut("neither a response nor a closed connection within %.0f s" % timeout)
    except NoResponse:
        return None


def well_formed(resp, what="response"):
    if resp.problems:
        raise Fail("malformed %s: %s" % (what, "; ".join(resp.problems)))


def expect_status(resp, code, what="response"):
    well_formed(resp, what)
    if resp.status != code:
        raise Fail("%s: expected %d, got %s" % (what, code, short(resp)))


def expect_complete(resp, body=None, what="response"):
    well_formed(resp, what)
    if not resp.complete:
        raise Fail("%s body incomplete: %s" % (what, resp.describe()))
    if body is not None and resp.body != body:
        raise Fail("%s body: expected %s, got %s" % (what, clip(body), clip(resp.body)))


def json_body(resp, what="response"):
    expect_status(resp, 200, what)
    expect_complete(resp, what=what)
    try:
        return json.loads(resp.body)
    except ValueError:
        raise Fail("%s is not the fixture's JSON: %s" % (what, clip(resp.body)))


def eq(actual, expected, what):
    if actual != expected:
        raise Fail("%s: expected %s, got %s" % (what, clip(expected), clip(actual)))


def short(resp):
    return "%d %s (%s)" % (resp.status, resp.reason, clip(resp.body, 120))


def clip(value, limit=160):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


def unb64(text):
    return base64.b64decode(text)


def expect_closed(conn, timeout=2.0, why="the connection must close"):
    state = conn.wait_eof(timeout)
    if state == "open":
        raise Fail("connection still open %.0f s after the response (%s)" % (timeout, why))
    if state != "closed":
        raise Fail("unexpected bytes after the response: %s" % clip(state))


def lines_of(data):
    """Split at LF only, keeping line ends (bytes.splitlines also splits at CR, VT, FF...)."""
    return re.findall(rb"[^\n]*\n|[^\n]+$", data)


def pattern(size, seed=0):
    """Same bytes as apps/fixtures.py pattern()."""
    return bytes((seed + i) % 251 for i in range(size))
