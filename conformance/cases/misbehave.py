"""Apps that break PEP 3333 on purpose (never validated). Each must end in a well-formed 500,
or an aborted connection when headers were already out; never a malformed or injected
response, and the server must go on serving."""

from lib.casekit import (Fail, case, clip, expect_closed, expect_status, read_aborted,
                         well_formed)

ERRORS = 'PEP 3333 "Error Handling"'
START = 'PEP 3333 "The start_response() Callable"'
UNICODE = 'PEP 3333 "Unicode Issues"'

# variant: (spec, what the server must refuse)
FIVE_HUNDREDS = {
    "status_nonnumeric": (START + " (status)", "status 'OK'"),
    "status_crlf": (START + " (status); RFC 9112 §4", "CR/LF in the status"),
    "str_body": (UNICODE + " (body items are bytes)", "a str body item"),
    "write_str": ('PEP 3333 "The write() Callable"', "write() of a str"),
    "header_crlf": (START + " (headers); RFC 9110 §5.5", "CR LF in a header value"),
    "header_lf": (START + " (headers); RFC 9110 §5.5", "LF in a header value"),
    "header_name": (START + " (headers); RFC 9110 §5.1", "space and ':' in a header name"),
    "header_non_latin1": (UNICODE, "a header value outside latin-1"),
    "raise_before_start": (ERRORS, "an exception before start_response"),
    "raise_after_start": (ERRORS, "an exception after start_response, before the body"),
    "double_start": (START + " (second call without exc_info)",
                     "a second start_response without exc_info"),
    "no_start": (START, "a body without start_response"),
    "returns_none": ('PEP 3333 "The Application/Framework Side"', "None as the iterable"),
}


def register_500s():
    for variant, (spec, what) in FIVE_HUNDREDS.items():
        def check(ctx, variant=variant, what=what):
            resp, _ = ctx.fetch("misbehave", "/m?v=" + variant)
            expect_status(resp, 500, "response to " + what)
            lowered = resp.raw.lower()
            if b"x-injected" in lowered.split(b"\r\n\r\n", 1)[0]:
                raise Fail("injected header reached the client")
            ctx.health("an app with " + what)
        case("misbehave." + variant, spec)(check)


register_500s()


def aborted_mid_body(ctx, variant):
    """Headers went out with the first chunk, so the only way to signal the failure is to
    abort: no last-chunk (or short of Content-Length), then close. A close or reset before
    any byte arrived is accepted as an abort too."""
    token = ctx.token()
    with ctx.conn() as conn:
        conn.send(ctx.request("GET", "/m?v=" + variant, fixture="misbehave", token=token))
        resp = read_aborted(conn)
        if resp is not None:
            well_formed(resp)
            if resp.status != 200:
                raise Fail("status %d: headers should already have gone out" % resp.status)
            if resp.complete and resp.framing != "close":
                raise Fail("the aborted response looks complete (%s)" % resp.describe())
            if not resp.body.startswith(b"partial-body;"):
                raise Fail("the body sent before the error is missing: %s" % clip(resp.body))
            if b"HTTP/1." in resp.body:
                raise Fail("an error response was appended to the body: %s" % clip(resp.body))
            if not conn.eof:
                expect_closed(conn, why="the response was aborted")
    ctx.wait_closed(token)
    ctx.health("an app failing mid-body")


@case("misbehave.raise_mid_body", ERRORS + "; RFC 9112 §7.1")
def raise_mid_body(ctx):
    """On HTTP/1.1 without Content-Length: no last-chunk may follow, the connection closes."""
    aborted_mid_body(ctx, "raise_mid_body")


@case("misbehave.raise_mid_body_with_length", ERRORS + "; RFC 9112 §6.2")
def raise_mid_body_cl(ctx):
    """With Content-Length 100 and 13 bytes sent, the connection closes short."""
    aborted_mid_body(ctx, "raise_mid_body_cl")


@case("misbehave.close_raises", 'PEP 3333 "Specification Details" (close)')
def close_raises(ctx):
    """close() raising after a complete body: the response stands, the server goes on."""
    resp, _ = ctx.fetch("misbehave", "/m?v=close_raises")
    expect_status(resp, 200)
    if resp.body != b"body before a failing close":
        raise Fail("body: %s" % clip(resp.body))
    ctx.health("close() raising")
