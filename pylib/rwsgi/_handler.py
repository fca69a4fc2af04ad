"""One WSGI call, as PEP 3333 describes it.

`handle(app, environ, reply)` calls the app and streams what it returns through `reply`
(a `_rwsgi.Reply`). Headers go out with the first non-empty body chunk, never before. Any
exception becomes a 500 if no header has been sent, or cuts the connection if one has; the
traceback goes to the server log. The iterable's close() runs in every case.
"""

import traceback

from _rwsgi import log

_ERROR_BODY = b"Internal Server Error\n"
_ERROR_HEADERS = [
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Content-Length", str(len(_ERROR_BODY))),
]


class ClientDisconnected(OSError):
    """Raised by write() when the client has gone away."""


class Errors:
    """wsgi.errors: text written here goes to the server log."""

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("wsgi.errors.write() takes str, not %s" % type(s).__name__)
        if s.strip():
            log("error", s)
        return len(s)

    def writelines(self, seq):
        for line in seq:
            self.write(line)

    def flush(self):
        pass


class FileWrapper:
    """wsgi.file_wrapper. When the object has a real file descriptor, the server streams the
    file from Rust instead of iterating it in Python."""

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration

    def _fd_and_offset(self):
        """(fd, offset) for a real file, else None."""
        try:
            fd = self.filelike.fileno()
            offset = self.filelike.tell()
        except (AttributeError, OSError, ValueError):
            return None
        if not isinstance(fd, int) or not isinstance(offset, int):
            return None
        import os
        import stat

        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
        except OSError:
            return None
        return fd, offset


def _log_exception(what):
    log("error", "%s\n%s" % (what, traceback.format_exc().rstrip()))


def handle(app, environ, reply):
    status = None
    headers = None

    def start_response(new_status, new_headers, exc_info=None):
        nonlocal status, headers
        if exc_info:
            try:
                if reply.started:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif status is not None:
            raise AssertionError(
                "start_response() was already called; a second call needs exc_info (PEP 3333)"
            )
        if type(new_status) is not str:
            raise TypeError("status must be str, not %s" % type(new_status).__name__)
        if type(new_headers) is not list:
            raise TypeError("response_headers must be a list, not %s" % type(new_headers).__name__)
        status = new_status
        headers = new_headers
        return write

    def write(data):
        if status is None:
            raise AssertionError("write() was called before start_response()")
        if not isinstance(data, bytes):
            raise TypeError("write() takes bytes, not %s (PEP 3333)" % type(data).__name__)
        if not data:
            return
        if not reply.started:
            ok = reply.start(status, headers, data, False)
        else:
            ok = reply.send(data)
        if not ok:
            raise ClientDisconnected("the client went away")

    result = None
    try:
        result = app(environ, start_response)
        if type(result) is list and len(result) == 1 and not reply.started:
            # The common case: one body string. One message to the server.
            data = result[0]
            if not isinstance(data, bytes):
                raise TypeError(
                    "the app's iterable yielded %s, not bytes (PEP 3333)" % type(data).__name__
                )
            if status is None:
                raise AssertionError("the app returned without calling start_response()")
            reply.start(status, headers, data, True)
            return
        if type(result) is FileWrapper and status is not None and not reply.started:
            file = result._fd_and_offset()
            if file is not None:
                if reply.start(status, headers, b"", False) and reply.sendfile(file[0], file[1], -1):
                    reply.finish()
                return
        for data in result:
            if not isinstance(data, bytes):
                raise TypeError(
                    "the app's iterable yielded %s, not bytes (PEP 3333)" % type(data).__name__
                )
            if not data:
                continue
            if status is None:
                raise AssertionError("the app yielded body data before calling start_response()")
            if not reply.started:
                if not reply.start(status, headers, data, False):
                    return
            elif not reply.send(data):
                return
        if status is None:
            raise AssertionError("the app returned without calling start_response()")
        if reply.started:
            reply.finish()
        else:
            reply.start(status, headers, b"", True)
    except ClientDisconnected:
        pass
    except BaseException:
        _log_exception(
            "error in the app for %s %s" % (environ.get("REQUEST_METHOD"), environ.get("RAW_URI"))
        )
        if reply.started:
            reply.abort()
        else:
            reply.start("500 Internal Server Error", _ERROR_HEADERS, _ERROR_BODY, True)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            try:
                close()
            except BaseException:
                _log_exception("error in the app's close()")
