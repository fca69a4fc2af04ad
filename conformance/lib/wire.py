"""Raw HTTP/1.x over TCP: build requests byte for byte, read and strictly parse responses.

Only 127.0.0.1 is ever contacted. Every read has a deadline, so nothing here can hang.
A response is parsed as RFC 9112 says a client must (§6.3 message body length) and every
deviation from the grammar is collected in Response.problems instead of being forgiven.
"""

import re
import select
import socket
import time

HOST = "127.0.0.1"
DEFAULT_TIMEOUT = 5.0
MAX_HEAD = 256 * 1024
MAX_BODY = 64 * 1024 * 1024

TOKEN_RE = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
STATUS_RE = re.compile(rb"^HTTP/(\d)\.(\d) (\d{3}) ?([\t\x20-\x7e\x80-\xff]*)$")
CHUNK_SIZE_RE = re.compile(rb"^([0-9A-Fa-f]+)[ \t]*(;.*)?$")
BAD_VALUE_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


class Timeout(Exception):
    """No (complete) answer before the deadline."""


class NoResponse(Exception):
    """The server closed the connection before sending a single byte."""


class Response:
    def __init__(self):
        self.version = ""
        self.status = 0
        self.reason = ""
        self.headers = []         # [(name, value)] as received, decoded latin-1
        self.body = b""
        self.framing = "none"     # none | length | chunked | close
        self.complete = False     # the framing says the message ended where it should
        self.problems = []        # grammar violations seen
        self.interim = []         # 1xx responses received before this one
        self.raw = b""

    def header(self, name):
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def describe(self):
        text = "%s %d, %d body bytes, framing=%s%s" % (
            self.version, self.status, len(self.body), self.framing,
            "" if self.complete else " (incomplete)")
        if self.problems:
            text += ", malformed: " + "; ".join(self.problems)
        return text


def chunked_body(chunks):
    """Chunked transfer coding (RFC 9112 §7.1) of the given pieces, last-chunk included."""
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c) + b"0\r\n\r\n"


def build_request(method, target, headers=(), body=b"", version="HTTP/1.1", host=True,
                  chunks=None, port=None):
    """Request bytes. `chunks`: send body as these chunks with Transfer-Encoding: chunked.
    A Content-Length is added for a non-empty plain body unless the caller gave one."""
    if isinstance(target, str):
        target = target.encode("latin-1")
    lines = [method.encode("latin-1") + b" " + target + b" " + version.encode("ascii")]
    names = {h[0].lower() for h in headers}
    if host and "host" not in names:
        lines.append(b"Host: 127.0.0.1" + (b":%d" % port if port else b""))
    for name, value in headers:
        if isinstance(value, str):
            value = value.encode("latin-1")
        lines.append(name.encode("latin-1") + b": " + value)
    if chunks is not None:
        lines.append(b"Transfer-Encoding: chunked")
        body = chunked_body(chunks)
    elif body and "content-length" not in names:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def split_pieces(data, seed, max_pieces=400):
    """Cut data into 1-3 byte pieces (deterministic for a seed); long inputs get bigger pieces
    so that a split send stays under max_pieces writes."""
    floor = max(1, len(data) // max_pieces)
    state = sum(seed.encode()) or 1
    pieces, i = [], 0
    while i < len(data):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        size = floor + state % 3
        pieces.append(data[i:i + size])
        i += size
    return pieces


class Conn:
    """One client connection with its own read buffer."""

    def __init__(self, port, timeout=DEFAULT_TIMEOUT):
        self.port = port
        self.timeout = timeout
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.eof = False
        self.reset = False

    @property
    def local_port(self):
        return self.sock.getsockname()[1]

    def send(self, data, pieces=None, pause=0.001, stop_when_answered=False):
        """Send data at once, or as pieces with a pause between writes. stop_when_answered:
        stop sending once the server has answered (as a client seeing an early refusal
        would), instead of writing into a socket the server is closing."""
        try:
            if pieces is None:
                self.sock.sendall(data)
                return
            for piece in pieces:
                if stop_when_answered and select.select([self.sock], [], [], 0)[0]:
                    return
                self.sock.sendall(piece)
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            # The server may refuse early and close; what it answered is still readable.
            self.reset = True

    def shutdown_write(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- low-level reads, all bounded by a deadline --

    def _fill(self, deadline):
        """Read more into buf. False at EOF; raises Timeout past the deadline."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Timeout()
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Timeout() from None
        except (ConnectionResetError, ConnectionAbortedError):
            self.reset = True
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _take(self, n):
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_line(self, deadline, limit=MAX_HEAD):
        """A line up to and including LF; None at EOF. A line longer than limit comes back
        cut, without its LF, which the callers report as malformed."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                return self._take(i + 1)
            if len(self.buf) > limit:
                return self._take(limit)
            if not self._fill(deadline):
                return None

    def wait_data(self, timeout):
        """True as soon as a byte is buffered, False at EOF; raises Timeout."""
        deadline = time.monotonic() + timeout
        while not self.buf:
            if not self._fill(deadline):
                return False
        return True

    def wait_eof(self, timeout):
        """'closed' if the server closes within timeout with nothing more sent, 'open' if it
        stays open, or the extra bytes it sent instead."""
        deadline = time.monotonic() + timeout
        if self.buf:
            return bytes(self.buf)
        try:
            while True:
                if not self._fill(deadline):
                    return "closed"
                if self.buf:
                    time.sleep(0.05)
                    try:
                        self._fill(time.monotonic() + 0.2)
                    except Timeout:
                        pass
                    return bytes(self.buf)
        except Timeout:
            return "open"

    def read_all(self, timeout):
        """Everything until EOF or timeout (no exception)."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                if len(self.buf) > MAX_BODY:
                    break
        except Timeout:
            pass
        return self._take(len(self.buf))

    # -- responses --

    def read_response(self, method="GET", timeout=None, keep_interim=True):
        """Read one final response (collecting 1xx interim responses in .interim).
        Raises NoResponse if the connection closed before any byte, Timeout if the head does
        not arrive in time. A body cut short is returned with complete=False."""
        deadline = time.monotonic() + (timeout or self.timeout)
        interim = []
        while True:
            resp = self._read_one(method, deadline)
            if 100 <= resp.status < 200 and resp.status != 101:
                interim.append(resp)
                if not keep_interim:
                    return resp
                continue
            resp.interim = interim
            return resp

    def read_interim_or_final(self, timeout):
        """For Expect: 100-continue: the next response head, interim or final."""
        deadline = time.monotonic() + timeout
        return self._read_one("POST", deadline)

    def _read_one(self, method, deadline):
        resp = Response()
        status_line = self.read_line(deadline)
        if status_line is None:
            if not self.buf:
                raise NoResponse()
            status_line = self._take(len(self.buf))
        raw = bytearray(status_line)
        if not status_line.endswith(b"\r\n"):
            resp.problems.append("status line not ended by CRLF: %r" % status_line[:80])
        m = STATUS_RE.match(status_line.rstrip(b"\r\n"))
        if not m:
            resp.problems.append("malformed status line %r" % status_line[:80])
            resp.raw = bytes(raw)
            return resp
        resp.version = "HTTP/%s.%s" % (m.group(1).decode(), m.group(2).decode())
        resp.status = int(m.group(3))
        resp.reason = m.group(4).decode("latin-1")
        while True:
            line = self.read_line(deadline)
            if line is None:
                resp.problems.append("connection closed inside the header section")
                resp.raw = bytes(raw)
                return resp
            raw += line
            if line in (b"\r\n", b"\n"):
                if line == b"\n":
                    resp.problems.append("bare LF ends the header section")
                break
            if not line.endswith(b"\r\n") or b"\r" in line[:-2]:
                resp.problems.append("header line with bare CR/LF: %r" % line[:80])
            text = line.rstrip(b"\r\n")
            name, colon, value = text.partition(b":")
            if not colon or not TOKEN_RE.match(name):
                resp.problems.append("malformed header line %r" % text[:80])
                continue
            value = value.strip(b" \t")
            if BAD_VALUE_RE.search(value):
                resp.problems.append("control character in header %r" % name.decode("latin-1"))
            resp.headers.append((name.decode("latin-1"), value.decode("latin-1")))
        self._read_body(resp, method, deadline, raw)
        resp.raw = bytes(raw)
        return resp

    def _read_body(self, resp, method, deadline, raw):
        te = [v.strip().lower() for v in ",".join(resp.header_all("transfer-encoding")).split(",")
              if v.strip()]
        cls = resp.header_all("content-length")
        if te and cls:
            resp.problems.append("both Transfer-Encoding and Content-Length sent")
        if method == "HEAD" or 100 <= resp.status < 200 or resp.status in (204, 304):
            resp.framing, resp.complete = "none", True
            if resp.status in (204, 304) or resp.status < 200:
                if te:
                    resp.problems.append("Transfer-Encoding in a %d response" % resp.status)
                if cls and resp.status != 304:
                    resp.problems.append("Content-Length in a %d response" % resp.status)
            return
        if te:
            if te[-1] != "chunked":
                resp.framing = "close"
                resp.body = self._until_close(deadline)
                raw += resp.body
                resp.complete = self.eof
                return
            resp.framing = "chunked"
            self._read_chunked(resp, deadline, raw)
            return
        if cls:
            values = {v.strip() for v in ",".join(cls).split(",")}
            if len(values) != 1 or not next(iter(values)).isdigit():
                resp.problems.append("invalid Content-Length %r" % cls)
                resp.framing = "close"
                resp.body = self._until_close(deadline)
                raw += resp.body
                return
            length = int(next(iter(values)))
            resp.framing = "length"
            try:
                while len(self.buf) < length and self._fill(deadline):
                    pass
            except Timeout:
                pass
            resp.body = self._take(min(length, len(self.buf)))
            raw += resp.body
            resp.complete = len(resp.body) == length
            return
        resp.framing = "close"
        resp.body = self._until_close(deadline)
        raw += resp.body
        resp.complete = self.eof and not self.reset

    def _until_close(self, deadline):
        try:
            while self._fill(deadline):
                if len(self.buf) > MAX_BODY:
                    break
        except Timeout:
            pass
        return self._take(len(self.buf))

    def _read_chunked(self, resp, deadline, raw):
        body = bytearray()
        try:
            while True:
                line = self.read_line(deadline, limit=4096)
                if line is None:
                    return self._chunk_end(resp, body)
                raw += line
                if not line.endswith(b"\r\n"):
                    resp.problems.append("chunk size line not ended by CRLF")
                m = CHUNK_SIZE_RE.match(line.rstrip(b"\r\n"))
                if not m:
                    resp.problems.append("malformed chunk size line %r" % line[:40])
                    return self._chunk_end(resp, body)
                size = int(m.group(1), 16)
                if size == 0:
                    while True:  # trailer section
                        line = self.read_line(deadline)
                        if line is None:
                            return self._chunk_end(resp, body)
                        raw += line
                        if line in (b"\r\n", b"\n"):
                            resp.complete = True
                            return self._chunk_end(resp, body)
                while len(self.buf) < size + 2:
                    if not self._fill(deadline):
                        body += self._take(min(size, len(self.buf)))
                        return self._chunk_end(resp, body)
                data = self._take(size)
                crlf = self._take(2)
                raw += data + crlf
                body += data
                if crlf != b"\r\n":
                    resp.problems.append("chunk data not followed by CRLF")
                    return self._chunk_end(resp, body)
                if len(body) > MAX_BODY:
                    return self._chunk_end(resp, body)
        except Timeout:
            return self._chunk_end(resp, body)

    @staticmethod
    def _chunk_end(resp, body):
        resp.body = bytes(body)
