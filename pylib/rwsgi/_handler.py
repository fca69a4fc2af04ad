"""The Python objects of a WSGI call: wsgi.errors, wsgi.file_wrapper, and the exception that
ends an app's iteration when the client has gone; and the watchdog thread that logs a stuck
request's stack (src/python/watchdog.rs). The call itself (start_response, write, the body's
iteration, close) is native: src/python/call.rs.

No `traceback` import here: with its dependencies (`_colorize`, `dataclasses`, `inspect`, ...)
it costs every worker about 8 MiB of private memory on RustPython, so the watchdog formats a
stack itself, as `traceback.format_stack` does.
"""

import linecache
import os
import stat
import sys
import threading

from _rwsgi import log


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
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
        except OSError:
            return None
        return fd, offset


def start_watchdog(watch):
    """Start this interpreter's watchdog thread for the calling (serving) thread. It waits in
    native code, detached, until the worker asks for the stack of a request stuck past
    --timeout, and ends when the interpreter closes."""
    ident = threading.get_ident()
    thread = threading.Thread(target=_watch, args=(watch, ident), name="rwsgi-watchdog")
    thread.daemon = True
    thread.start()


def format_stack(frame):
    """The lines `traceback.format_stack(frame)` gives: outermost call first, each frame's
    `File "...", line N, in NAME` and its source line."""
    frames = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    lines = []
    for frame in reversed(frames):
        code = frame.f_code
        lines.append('  File "%s", line %s, in %s\n' % (code.co_filename, frame.f_lineno, code.co_name))
        source = linecache.getline(code.co_filename, frame.f_lineno or 0, frame.f_globals).strip()
        if source:
            lines.append("    %s\n" % source)
    return lines


def _watch(watch, ident):
    current_frames = sys._current_frames
    while True:
        what = watch.wait()
        if what is None:
            return
        try:
            frame = current_frames().get(ident)
            if frame is None:
                stack = "  (no Python frame: the thread is in native code)\n"
            else:
                stack = "".join(format_stack(frame))
        except Exception as exc:  # the dump must never take the watchdog down
            stack = "  (the stack could not be read: %r)\n" % (exc,)
        watch.done("%s ran past --timeout; its stack (most recent call last):\n%s" % (what, stack))
