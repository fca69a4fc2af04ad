"""start_response, write(), exc_info, lazy headers, close(), wsgi.file_wrapper, bodiless
statuses."""

import socket
import struct

from lib.casekit import (Fail, case, clip, eq, expect_closed, expect_complete, expect_status,
                         pattern, read, read_aborted, well_formed)

START = 'PEP 3333 "The start_response() Callable"'
WRITE = 'PEP 3333 "The write() Callable"'
ERRORS = 'PEP 3333 "Error Handling"'
BUFFERING = 'PEP 3333 "Buffering and Streaming"'
CLOSE = 'PEP 3333 "Specification Details" (close)'
FILES = 'PEP 3333 "Optional Platform-Specific File Handling"'


@case("write.mixed_with_iterable", WRITE)
def write_mixed(ctx):
    resp, token = ctx.fetch("write", "/w?mode=mixed")
    expect_status(resp, 200)
    expect_complete(resp, b"hello, world")
    ctx.wait_closed(token)


@case("write.only", WRITE)
def write_only(ctx):
    resp, _ = ctx.fetch("write", "/w?mode=only")
    expect_status(resp, 200)
    expect_complete(resp, b"part1part2")


@case("write.with_content_length", WRITE + ' / "Handling the Content-Length Header"')
def write_with_cl(ctx):
    resp, _ = ctx.fetch("write", "/w?mode=cl")
    expect_status(resp, 200)
    expect_complete(resp, b"part1part2")
    eq(resp.framing, "length", "framing")


@case("exc_info.before_headers", START + " (exc_info); " + ERRORS)
def exc_info_before(ctx):
    """start_response(..., exc_info) before any body replaces the status and headers."""
    resp, token = ctx.fetch("exc_info", "/e?mode=before")
    expect_status(resp, 500)
    expect_complete(resp, b"handled error")
    ctx.wait_closed(token)


@case("exc_info.after_empty_chunk", START + " (exc_info); " + BUFFERING)
def exc_info_after_empty(ctx):
    """An empty chunk sends nothing, so a replacement after it is still in time."""
    resp, _ = ctx.fetch("exc_info", "/e?mode=after_empty")
    expect_status(resp, 500)
    expect_complete(resp, b"handled error")


@case("exc_info.after_headers", START + " (exc_info re-raised); " + ERRORS)
def exc_info_after(ctx):
    """Once headers are out, start_response(exc_info) re-raises the app's own exception; the
    server then aborts: the declared 100 bytes never all arrive and the connection closes."""
    token = ctx.token()
    with ctx.conn() as conn:
        conn.send(ctx.request("GET", "/e?mode=after", fixture="exc_info", token=token))
        resp = read_aborted(conn)
        if resp is not None:
            well_formed(resp)
            eq(resp.status, 200, "status (headers were already sent)")
            if resp.complete:
                raise Fail("response looks complete (%s): the abort is invisible"
                           % resp.describe())
            if not resp.body.startswith(b"partial-body;"):
                raise Fail("body should start with the part sent: %s" % clip(resp.body))
            if b"HTTP/1." in resp.body:
                raise Fail("a second status line was sent after the headers: %s"
                           % clip(resp.body))
            expect_closed(conn, why="the response was aborted")
    observed = ctx.note_of(token)
    if observed is None:
        raise Fail("the app's note about start_response is missing")
    if observed.get("reraised") != "ValueError":
        raise Fail("start_response(exc_info) after headers raised %r, not the app's ValueError"
                   % observed.get("reraised"))
    ctx.wait_closed(token)
    ctx.health()


@case("lazy_headers.error_after_empty_chunk", BUFFERING)
def lazy_error(ctx):
    """Headers wait for the first non-empty chunk: an app that yields b'' and then raises
    must get a clean 500, not a 200."""
    resp, token = ctx.fetch("lazy", "/l?mode=error_after_empty")
    expect_status(resp, 500)
    expect_complete(resp)
    ctx.wait_closed(token)
    ctx.health()


@case("lazy_headers.empty_chunks_then_body", BUFFERING)
def lazy_empty_then_body(ctx):
    resp, _ = ctx.fetch("lazy", "/l?mode=empty_then_body")
    expect_status(resp, 200)
    expect_complete(resp, b"body after empties")


@case("lazy_headers.start_response_in_generator", BUFFERING + "; " + START)
def lazy_start_in_generator(ctx):
    """start_response may be called from inside the returned generator."""
    resp, _ = ctx.fetch("lazy", "/l?mode=start_in_generator")
    expect_status(resp, 200)
    expect_complete(resp, b"started inside the generator")


@case("close.normal", CLOSE)
def close_normal(ctx):
    resp, token = ctx.fetch("stream", "/s?n=3&size=10")
    expect_status(resp, 200)
    expect_complete(resp)
    ctx.wait_closed(token)


@case("close.app_error_mid_body", CLOSE + "; " + ERRORS)
def close_on_error(ctx):
    token = ctx.token()
    with ctx.conn() as conn:
        conn.send(ctx.request("GET", "/s?n=3&size=10&fail_after=1", fixture="stream",
                              token=token))
        try:
            read(conn)
        except Fail:
            pass  # how the abort looks is checked by misbehave.raise_mid_body
    ctx.wait_closed(token)
    ctx.health()


@case("close.head_request", CLOSE + "; RFC 9110 §9.3.2")
def close_on_head(ctx):
    token = ctx.token()
    resp = ctx.exchange(ctx.request("HEAD", "/s?n=3&size=10", fixture="stream", token=token),
                        "HEAD")
    expect_status(resp, 200)
    ctx.wait_closed(token)


@case("close.client_disconnect", CLOSE + " (early disconnect of the client)")
def close_on_disconnect(ctx):
    """The client reads a little of a 26 MB streamed body and resets the connection: the
    server must still call close()."""
    token = ctx.token()
    conn = ctx.conn()
    try:
        conn.send(ctx.request("GET", "/s?n=400&size=65536", fixture="stream", token=token))
        conn.wait_data(5.0)
    finally:
        # SO_LINGER 0: close() sends RST, so the server's next write fails at once.
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    ctx.wait_closed(token, timeout=8.0)
    ctx.health()


def file_wrapper_case(ctx, fixture, query, size, expected_len=None):
    token = ctx.token()
    with ctx.conn() as conn:
        conn.send(ctx.request("GET", "/f?" + query, fixture=fixture, token=token))
        resp = read(conn, timeout=10.0)
        if resp.status == 501:
            raise Fail("no wsgi.file_wrapper in environ")
        expect_status(resp, 200)
        expect_complete(resp)
        expected = pattern(size)[:expected_len]
        if resp.body != expected:
            raise Fail("body differs: got %d bytes, expected %d" % (len(resp.body),
                                                                    len(expected)))
        if expected_len is not None:
            after = conn.wait_eof(0.3)
            if isinstance(after, bytes):
                raise Fail("%d bytes beyond Content-Length: %s" % (len(after), clip(after)))
    ctx.wait_closed(token, what="the file")


for _fixture, _label, _note in (("file_wrapper", "validated", ""),
                                ("file_wrapper_direct", "direct",
                                 " (unvalidated, so the server sees its own wrapper)")):
    case("file_wrapper.real_file.%s" % _label, FILES + _note)(
        lambda ctx, f=_fixture: file_wrapper_case(ctx, f, "mode=real&size=200000", 200000))
    case("file_wrapper.filelike_no_fileno.%s" % _label, FILES + _note)(
        lambda ctx, f=_fixture: file_wrapper_case(ctx, f, "mode=filelike&size=200000", 200000))
    case("file_wrapper.content_length_shorter.%s" % _label,
         FILES + ' / "Handling the Content-Length Header"' + _note)(
        lambda ctx, f=_fixture: file_wrapper_case(ctx, f, "mode=real&size=200000&cl=1000",
                                                  200000, 1000))


def bodiless(ctx, code):
    """No body, no Content-Length (204), no Transfer-Encoding; the connection stays usable."""
    token = ctx.token()
    with ctx.conn() as conn:
        conn.send(ctx.request("GET", "/st?code=%d" % code, fixture="status", token=token))
        resp = read(conn)
        expect_status(resp, code)
        extra = conn.wait_eof(0.3)
        if isinstance(extra, bytes):
            raise Fail("bytes after a %d response: %s" % (code, clip(extra)))
        if extra == "open":
            conn.send(ctx.request("GET", "/after", fixture="ok"))
            expect_status(read(conn), 200, "next response on the connection")
    ctx.wait_closed(token)


@case("status.no_content_204", "RFC 9110 §15.3.5, §8.6; RFC 9112 §6.1, §6.3")
def status_204(ctx):
    bodiless(ctx, 204)


@case("status.not_modified_304", "RFC 9110 §15.4.5; RFC 9112 §6.3")
def status_304(ctx):
    bodiless(ctx, 304)
