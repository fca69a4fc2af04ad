"""Response framing (Content-Length, chunked, close-delimited) on HTTP/1.1 and 1.0, HEAD,
keep-alive and pipelining."""

from lib.casekit import (Fail, case, clip, eq, expect_closed, expect_complete, expect_status,
                         json_body, pattern, read, read_aborted, unb64, well_formed)

CL_RULE = 'PEP 3333 "Handling the Content-Length Header"'


def stream_body(n, size):
    return b"".join(pattern(size, i) for i in range(n))


def next_on_same_connection(ctx, conn, what="the next request on the connection"):
    """Send a second request on conn: its response must parse cleanly (nothing left over from
    the first)."""
    conn.send(ctx.request("GET", "/next", fixture="ok"))
    resp = read(conn)
    expect_status(resp, 200, what)
    expect_complete(resp, b"ok", what)


@case("framing.http11_without_length", CL_RULE + "; RFC 9112 §6.3, §7.1")
def http11_no_length(ctx):
    """No Content-Length from the app on HTTP/1.1: chunked, or close-delimited with the
    connection closed."""
    with ctx.conn() as conn:
        conn.send(ctx.request("GET", "/s?n=3&size=10", fixture="stream", token=ctx.token()))
        resp = read(conn)
        expect_status(resp, 200)
        expect_complete(resp, stream_body(3, 10))
        if resp.framing not in ("chunked", "close"):
            raise Fail("framing %s for a body of unknown length" % resp.framing)


@case("framing.http10_without_length", CL_RULE + "; RFC 9112 §6.1 (no chunked to 1.0)")
def http10_no_length(ctx):
    with ctx.conn() as conn:
        conn.send(ctx.request("GET", "/s?n=3&size=10", fixture="stream", version="HTTP/1.0",
                              token=ctx.token()))
        resp = read(conn)
        expect_status(resp, 200)
        if resp.header("Transfer-Encoding"):
            raise Fail("Transfer-Encoding %r sent to an HTTP/1.0 client"
                       % resp.header("Transfer-Encoding"))
        expect_complete(resp, stream_body(3, 10))


@case("framing.http10_with_length", CL_RULE + "; RFC 9112 §6.2")
def http10_with_length(ctx):
    resp, _ = ctx.fetch("stream", "/s?n=2&size=10&cl=1", version="HTTP/1.0")
    expect_status(resp, 200)
    expect_complete(resp, stream_body(2, 10))
    eq(resp.header("Content-Length"), "20", "Content-Length")


@case("framing.app_length_kept", CL_RULE + "; RFC 9112 §6.2")
def app_length_kept(ctx):
    with ctx.conn() as conn:
        conn.send(ctx.request("GET", "/s?n=4&size=10&cl=1", fixture="stream"))
        resp = read(conn)
        expect_status(resp, 200)
        eq(resp.framing, "length", "framing")
        eq(resp.header("Content-Length"), "40", "Content-Length")
        expect_complete(resp, stream_body(4, 10))
        next_on_same_connection(ctx, conn)


@case("framing.app_length_exceeded", CL_RULE + " (never more than Content-Length)")
def app_length_exceeded(ctx):
    """The app declares 5 bytes and yields 10: at most 5 may go out."""
    with ctx.conn() as conn:
        conn.send(ctx.request("GET", "/c?declare=5&send=10", fixture="cl"))
        resp = read(conn)
        expect_status(resp, 200)
        eq(resp.header("Content-Length"), "5", "Content-Length")
        expect_complete(resp, pattern(10)[:5])
        after = conn.wait_eof(0.5)
        if isinstance(after, bytes):
            raise Fail("%d bytes past Content-Length: %s" % (len(after), clip(after)))
        if after == "open":
            next_on_same_connection(ctx, conn)
    ctx.health()


@case("framing.app_length_short", CL_RULE + "; RFC 9112 §6.3, §9.6")
def app_length_short(ctx):
    """The app declares 10 bytes and yields 5: the server cannot complete the message and
    must close the connection (not hang, not pad)."""
    with ctx.conn() as conn:
        conn.send(ctx.request("GET", "/c?declare=10&send=5", fixture="cl"))
        resp = read_aborted(conn, timeout=5.0)
        if resp is None:
            return ctx.health()  # closed (or reset) before any byte: an abort as well
        well_formed(resp)
        if resp.complete:
            raise Fail("10 bytes arrived although the app sent 5: %s" % clip(resp.body))
        if not conn.eof:
            raise Fail("connection neither completed nor closed within 5 s")
    ctx.health()


def head_vs_get(ctx, query, fixture="stream"):
    get = ctx.exchange(ctx.request("GET", "/h?" + query, fixture=fixture))
    expect_status(get, 200, "GET response")
    with ctx.conn() as conn:
        conn.send(ctx.request("HEAD", "/h?" + query, fixture=fixture))
        head = read(conn, "HEAD")
        expect_status(head, 200, "HEAD response")
        eq(head.header("Content-Type"), get.header("Content-Type"), "HEAD Content-Type")
        length = head.header("Content-Length")
        if length is not None and get.header("Content-Length") not in (None, length):
            raise Fail("HEAD Content-Length %s, GET %s" % (length, get.header("Content-Length")))
        extra = conn.wait_eof(0.3)
        if isinstance(extra, bytes):
            raise Fail("HEAD response carried body bytes: %s" % clip(extra))
        if extra == "open":
            next_on_same_connection(ctx, conn, "the request after HEAD")


@case("framing.head_with_length", "RFC 9110 §9.3.2; RFC 9112 §6.3")
def head_with_length(ctx):
    head_vs_get(ctx, "n=2&size=10&cl=1")


@case("framing.head_without_length", "RFC 9110 §9.3.2; RFC 9112 §6.3")
def head_without_length(ctx):
    """Not even a last-chunk '0\\r\\n\\r\\n' may follow a HEAD response."""
    head_vs_get(ctx, "n=2&size=10")


@case("framing.head_with_write", "RFC 9110 §9.3.2; " + 'PEP 3333 "The write() Callable"')
def head_with_write(ctx):
    head_vs_get(ctx, "mode=only", fixture="write")


@case("keepalive.two_requests", "RFC 9112 §9.3")
def keepalive(ctx):
    with ctx.conn() as conn:
        for path in ("/first", "/second"):
            conn.send(ctx.request("GET", path, fixture="echo", token=ctx.token()))
            data = json_body(read(conn), "response to " + path)
            eq(data["path_info"], path, "PATH_INFO")


def unread_body(ctx, **body):
    """The app ignores the request body; the server must skip it before the next request."""
    with ctx.conn() as conn:
        conn.send(ctx.request("POST", "/ignore", fixture="ok", **body))
        expect_complete(read(conn), b"ok", "first response")
        conn.send(ctx.request("GET", "/after", fixture="echo", token=ctx.token()))
        eq(json_body(read(conn), "second response")["path_info"], "/after", "PATH_INFO")


@case("keepalive.unread_body_content_length", "RFC 9112 §9.3, §6.2")
def unread_body_cl(ctx):
    unread_body(ctx, body=b"x" * 5000)


@case("keepalive.unread_body_chunked", "RFC 9112 §9.3, §7.1")
def unread_body_chunked(ctx):
    unread_body(ctx, chunks=[b"x" * 3000, b"y" * 2000])


@case("keepalive.connection_close", "RFC 9112 §9.6")
def connection_close(ctx):
    with ctx.conn() as conn:
        conn.send(ctx.request("GET", "/c", fixture="ok", headers=[("Connection", "close")]))
        expect_complete(read(conn), b"ok")
        expect_closed(conn, why="the client sent Connection: close")


@case("keepalive.http10_closes", "RFC 9112 §9.3")
def http10_closes(ctx):
    with ctx.conn() as conn:
        conn.send(ctx.request("GET", "/c", fixture="ok", version="HTTP/1.0"))
        expect_complete(read(conn), b"ok")
        expect_closed(conn, why="HTTP/1.0 without keep-alive")


@case("pipelining.two_requests", "RFC 9112 §9.3.2")
def pipelining_two(ctx):
    raw = (ctx.request("GET", "/one", fixture="echo", token=ctx.token())
           + ctx.request("GET", "/two", fixture="echo", token=ctx.token()))
    with ctx.conn() as conn:
        conn.send(raw)
        for path in ("/one", "/two"):
            eq(json_body(read(conn), "response for " + path)["path_info"], path,
               "responses out of order: PATH_INFO")


@case("pipelining.with_bodies", "RFC 9112 §9.3.2, §6.2, §7.1")
def pipelining_bodies(ctx):
    raw = (ctx.request("POST", "/a", fixture="echo", body=b"body-a", token=ctx.token())
           + ctx.request("POST", "/b", fixture="echo", chunks=[b"body", b"-b"],
                         token=ctx.token())
           + ctx.request("GET", "/c", fixture="echo", token=ctx.token()))
    with ctx.conn() as conn:
        conn.send(raw)
        for path, body in (("/a", b"body-a"), ("/b", b"body-b"), ("/c", b"")):
            data = json_body(read(conn), "response for " + path)
            eq(data["path_info"], path, "responses out of order: PATH_INFO")
            eq(unb64(data["body"]), body, "body of " + path)
