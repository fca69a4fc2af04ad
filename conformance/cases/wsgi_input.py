"""wsgi.input in every read form, with Content-Length and chunked bodies, and
Expect: 100-continue."""

from lib.casekit import (Fail, case, clip, eq, json_body, lines_of, pattern, read, unb64,
                         expect_complete)
from lib.wire import Timeout, build_request, chunked_body

STREAMS = 'PEP 3333 "Input and Error Streams"'
BODY = b"first line\nsecond, longer line\n\nfourth \xff\x00 binary\nno newline at end"
CHUNKS = [BODY[:5], BODY[5:22], BODY[22:23], BODY[23:]]
MODES = {
    # mode: (query, spec note)
    "read_n": ("mode=read_n&n=7", "read(size)"),
    "read_all": ("mode=read_all", "read() without size: 'a server should allow' it"),
    "readline": ("mode=readline", "readline()"),
    "readline_n": ("mode=readline_n&n=6", "readline(size)"),
    "readlines": ("mode=readlines", "readlines()"),
    "readlines_hint": ("mode=readlines_hint&n=12", "readlines(hint)"),
    "iter": ("mode=iter", "__iter__"),
}


def check_pieces(data, mode, body, n=None):
    """What the input fixture reported, against the body the client sent."""
    if data.get("error"):
        raise Fail("%s raised %s" % (mode, data["error"]))
    if data["types"] not in ([], ["bytes"]):
        raise Fail("%s returned %s, not bytes" % (mode, data["types"]))
    pieces = [unb64(p) for p in data["pieces"]]
    joined = b"".join(pieces)
    if joined != body:
        raise Fail("%s: body differs: got %d bytes %s, sent %d bytes" % (
            mode, len(joined), clip(joined, 80), len(body)))
    if mode in ("readline", "readlines", "readlines_hint", "iter") and pieces != lines_of(body):
        raise Fail("%s: lines differ: %s" % (mode, clip(pieces, 200)))
    if mode == "read_n" and any(len(p) > n or not p for p in pieces):
        raise Fail("read(%d) returned pieces of %s bytes" % (n, [len(p) for p in pieces]))
    if mode == "readline_n":
        for p in pieces:
            if len(p) > n or b"\n" in p[:-1]:
                raise Fail("readline(%d) returned %s" % (n, clip(p)))
    if mode == "readlines_hint" and data["first_batch"] < 1 and body:
        raise Fail("readlines(hint) returned no line")
    if unb64(data["after_eof"]) != b"":
        raise Fail("read after the end returned %s, not b''" % clip(unb64(data["after_eof"])))


def register_modes():
    for mode, (query, note) in MODES.items():
        for framing in ("content_length", "chunked"):
            def check(ctx, mode=mode, query=query, framing=framing):
                kw = {"chunks": CHUNKS} if framing == "chunked" else {"body": BODY}
                resp, _ = ctx.fetch("input", "/input?" + query, method="POST", **kw)
                n = int(query.rsplit("=", 1)[1]) if "&n=" in query else None
                check_pieces(json_body(resp), mode, BODY, n)
            spec = "%s: %s; RFC 9112 §%s" % (STREAMS, note,
                                             "7.1" if framing == "chunked" else "6.2")
            case("input.%s.%s" % (mode, framing), spec)(check)


register_modes()


@case("input.empty_body", STREAMS)
def empty_body(ctx):
    """GET without a body: reading gives b'' at once (no hang)."""
    resp, _ = ctx.fetch("input", "/input?mode=read_n&n=100")
    check_pieces(json_body(resp), "read_n", b"", 100)


@case("input.large_body", STREAMS + "; RFC 9112 §6.2")
def large_body(ctx):
    body = pattern(1024 * 1024, 7)
    resp, _ = ctx.fetch("input", "/input?mode=read_n&n=65536", method="POST", body=body)
    check_pieces(json_body(resp), "read_n", body, 65536)


@case("input.large_body_chunked", STREAMS + "; RFC 9112 §7.1")
def large_body_chunked(ctx):
    body = pattern(1024 * 1024, 9)
    chunks = [body[i:i + 100000] for i in range(0, len(body), 100000)]
    resp, _ = ctx.fetch("input", "/input?mode=read_n&n=65536", method="POST", chunks=chunks)
    check_pieces(json_body(resp), "read_n", body, 65536)


@case("input.no_read_past_content_length", STREAMS + " note 1; RFC 9112 §9.3.2")
def no_read_past_content_length(ctx):
    """read(CONTENT_LENGTH + 100) returns the body only, never the pipelined request behind
    it, and then b''."""
    first = ctx.request("POST", "/input?mode=read_past", fixture="input", body=b"0123456789",
                        token=ctx.token())
    second = ctx.request("GET", "/second", fixture="echo", token=ctx.token())
    with ctx.conn() as conn:
        conn.send(first + second)
        check_pieces(json_body(read(conn), "first response"), "read_past", b"0123456789")
        data = json_body(read(conn), "second response")
        eq(data["path_info"], "/second", "second request's PATH_INFO")


def expect_continue(ctx, chunked):
    """Send the head with Expect: 100-continue, wait (3 s at most) for the interim
    100 Continue, only then send the body."""
    headers = [("Expect", "100-continue"), ("X-Fixture", "input"),
               ("X-Conformance-Token", ctx.token())]
    if chunked:
        head = build_request("POST", "/input?mode=read_n&n=7", headers + [
            ("Transfer-Encoding", "chunked")], port=ctx.port)
        body = chunked_body(CHUNKS)
    else:
        head = build_request("POST", "/input?mode=read_n&n=7", headers + [
            ("Content-Length", str(len(BODY)))], port=ctx.port)
        body = BODY
    with ctx.conn() as conn:
        conn.send(head)
        try:
            interim = conn.read_interim_or_final(timeout=3.0)
        except Timeout:
            raise Fail("no 'HTTP/1.1 100 Continue' within 3 s of the request head")
        if interim.status != 100:
            raise Fail("expected 100 Continue before the body, got %d %s" % (
                interim.status, interim.reason))
        if interim.problems:
            raise Fail("malformed 100 response: %s" % "; ".join(interim.problems))
        conn.send(body)
        resp = read(conn, "POST")
        expect_complete(resp)
        check_pieces(json_body(resp), "read_n", BODY, 7)


@case("input.expect_100_continue.content_length", "RFC 9110 §10.1.1; RFC 9112 §9.2")
def expect_continue_cl(ctx):
    expect_continue(ctx, chunked=False)


@case("input.expect_100_continue.chunked", "RFC 9110 §10.1.1; RFC 9112 §7.1")
def expect_continue_chunked(ctx):
    expect_continue(ctx, chunked=True)
