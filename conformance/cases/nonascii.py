"""Non-ASCII bytes in the path and in header values, both directions."""

from lib.casekit import Fail, case, eq, expect_status, json_body

UNICODE = 'PEP 3333 "Unicode Issues"'


def environ_of(ctx, target, headers=()):
    resp, _ = ctx.fetch("environ", target, headers=headers)
    return json_body(resp)["environ"]


def value(env, key):
    if key not in env or "value" not in env[key]:
        raise Fail("%s missing from environ" % key)
    return env[key]["value"]


@case("nonascii.path_utf8_percent_encoded", UNICODE + "; RFC 3986 §2.1")
def path_utf8(ctx):
    """/caf%C3%A9/%E2%82%AC arrives as the latin-1 decoding of the UTF-8 bytes."""
    got = value(environ_of(ctx, "/caf%C3%A9/%E2%82%AC"), "PATH_INFO")
    eq(got, "/caf\xc3\xa9/\xe2\x82\xac", "PATH_INFO")
    if got.encode("latin-1").decode("utf-8") != "/caf\u00e9/\u20ac":
        raise Fail("PATH_INFO does not round-trip to UTF-8")


@case("nonascii.path_latin1_bytes", UNICODE)
def path_latin1(ctx):
    """Bytes that are not UTF-8 (%FF, %E9) still arrive, one code point per byte."""
    eq(value(environ_of(ctx, "/%FF%E9/x"), "PATH_INFO"), "/\xff\xe9/x", "PATH_INFO")


@case("nonascii.header_obs_text_latin1", UNICODE + "; RFC 9110 §5.5 (obs-text)")
def header_latin1(ctx):
    env = environ_of(ctx, "/h", headers=[("X-Latin", b"caf\xe9 \xff")])
    eq(value(env, "HTTP_X_LATIN"), "caf\xe9 \xff", "HTTP_X_LATIN")


@case("nonascii.header_obs_text_utf8", UNICODE + "; RFC 9110 §5.5 (obs-text)")
def header_utf8(ctx):
    env = environ_of(ctx, "/h", headers=[("X-Utf8", "caf\u00e9".encode("utf-8"))])
    eq(value(env, "HTTP_X_UTF8"), "caf\xc3\xa9", "HTTP_X_UTF8 (latin-1 decoding of the bytes)")


@case("nonascii.response_header_latin1", UNICODE + "; RFC 9110 §5.5")
def response_header_latin1(ctx):
    """A header value str 'caf\\xe9 \\xff' goes out as the latin-1 bytes."""
    resp, _ = ctx.fetch("latin1_out", "/out")
    expect_status(resp, 200)
    if b"\r\nX-Latin: caf\xe9 \xff\r\n" not in resp.raw.replace(b"x-latin:", b"X-Latin:"):
        raise Fail("X-Latin not sent as latin-1 bytes: %r" % resp.header("X-Latin"))
