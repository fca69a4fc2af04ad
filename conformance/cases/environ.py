"""PEP 3333 environ rules, checked on what the `environ` fixture reports back."""

from lib.casekit import Fail, case, eq, json_body, read

ENV = 'PEP 3333 "environ Variables"'
REQUIRED = ("REQUEST_METHOD", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "wsgi.version",
            "wsgi.url_scheme", "wsgi.input", "wsgi.errors", "wsgi.multithread",
            "wsgi.multiprocess", "wsgi.run_once")


def environ_of(ctx, target="/env", method="GET", **kw):
    resp, _ = ctx.fetch("environ", target, method=method, **kw)
    return json_body(resp)["environ"]


def value(env, key):
    if key not in env:
        raise Fail("%s missing from environ" % key)
    entry = env[key]
    if "value" not in entry:
        raise Fail("%s is a %s, not a plain value" % (key, entry["type"]))
    return entry["value"]


def optional(env, key):
    return env[key].get("value") if key in env else None


@case("environ.required_keys", ENV)
def required_keys(ctx):
    env = environ_of(ctx, "/env/path?a=1")
    missing = [k for k in REQUIRED if k not in env]
    if missing:
        raise Fail("required keys missing: %s" % ", ".join(missing))
    for key in ("PATH_INFO", "QUERY_STRING"):  # non-empty here, so they may not be omitted
        if key not in env:
            raise Fail("%s missing although not empty" % key)
    for key in ("REQUEST_METHOD", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL"):
        if not value(env, key):
            raise Fail("%s is empty" % key)


@case("environ.native_strings", ENV + ' / "Unicode Issues"')
def native_strings(ctx):
    """Every CGI key holds a native str whose code points are all < 256 (a latin-1 decoding),
    for a request full of non-ASCII bytes."""
    env = environ_of(ctx, "/caf%C3%A9?q=%C3%A9", headers=[("X-Bytes", b"\xe9\xff\xc3\xa9")])
    bad = []
    for key, entry in sorted(env.items()):
        if "." in key:
            continue
        if entry["type"] != "str":
            bad.append("%s is %s" % (key, entry["type"]))
        elif any(ord(ch) > 255 for ch in entry["value"]):
            bad.append("%s=%r is not latin-1" % (key, entry["value"]))
    if bad:
        raise Fail("; ".join(bad))


@case("environ.request_method", ENV)
def request_method(ctx):
    eq(value(environ_of(ctx, method="DELETE"), "REQUEST_METHOD"), "DELETE", "REQUEST_METHOD")


@case("environ.script_name_root", ENV + ' / "URL Reconstruction"')
def script_name_root(ctx):
    """Without a mount the app sits at the root: SCRIPT_NAME '' (or absent), PATH_INFO is the
    whole path."""
    env = environ_of(ctx, "/env/x/y")
    eq(optional(env, "SCRIPT_NAME") or "", "", "SCRIPT_NAME")
    eq(value(env, "PATH_INFO"), "/env/x/y", "PATH_INFO")


@case("environ.path_info_decoded_once", ENV + " / RFC 9112 §3.2")
def path_info_decoded(ctx):
    """PATH_INFO is percent-decoded exactly once; %2F decodes too, like CGI."""
    env = environ_of(ctx, "/a%20b/%2541/c%2Fd")
    eq(value(env, "PATH_INFO"), "/a b/%41/c/d", "PATH_INFO")


@case("environ.query_string_raw", ENV)
def query_string_raw(ctx):
    env = environ_of(ctx, "/q?a=1&b=%20x+y&c=%C3%A9&d&e=%2F")
    eq(value(env, "QUERY_STRING"), "a=1&b=%20x+y&c=%C3%A9&d&e=%2F", "QUERY_STRING")


@case("environ.query_string_empty", ENV)
def query_string_empty(ctx):
    env = environ_of(ctx, "/q")
    eq(optional(env, "QUERY_STRING") or "", "", "QUERY_STRING")


@case("environ.content_type_length", ENV)
def content_type_length(ctx):
    """CONTENT_TYPE and CONTENT_LENGTH come without the HTTP_ prefix, and only so."""
    env = environ_of(ctx, method="POST", body=b"12345",
                     headers=[("Content-Type", "application/x-conformance")])
    eq(value(env, "CONTENT_TYPE"), "application/x-conformance", "CONTENT_TYPE")
    eq(value(env, "CONTENT_LENGTH"), "5", "CONTENT_LENGTH")
    for key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
        if key in env:
            raise Fail("%s present (must be %s only)" % (key, key[5:]))


@case("environ.http_headers", ENV + " / RFC 9110 §5.5")
def http_headers(ctx):
    """Header names map to HTTP_ + upper case with '_' for '-'; values lose surrounding
    whitespace."""
    env = environ_of(ctx, headers=[("X-Custom-Header", "value"), ("x-lower-case", "v2"),
                                   ("X-Padded", "\t  padded value \t")])
    eq(value(env, "HTTP_X_CUSTOM_HEADER"), "value", "HTTP_X_CUSTOM_HEADER")
    eq(value(env, "HTTP_X_LOWER_CASE"), "v2", "HTTP_X_LOWER_CASE")
    eq(value(env, "HTTP_X_PADDED"), "padded value", "HTTP_X_PADDED")


@case("environ.repeated_headers_joined", ENV + " / RFC 9110 §5.3")
def repeated_headers(ctx):
    """Field lines with the same name are combined in order, separated by ','."""
    env = environ_of(ctx, headers=[("X-Multi", "a"), ("X-Other", "z"), ("X-Multi", "b"),
                                   ("X-Multi", "c d")])
    got = value(env, "HTTP_X_MULTI")
    if [part.strip() for part in got.split(",")] != ["a", "b", "c d"]:
        raise Fail("HTTP_X_MULTI: expected 'a,b,c d' (', ' allowed), got %r" % got)


@case("environ.remote_addr_port", ENV + " (CGI REMOTE_ADDR; REMOTE_PORT)")
def remote_addr_port(ctx):
    with ctx.conn() as conn:
        conn.send(ctx.request("GET", "/env", fixture="environ", token=ctx.token()))
        env = json_body(read(conn))["environ"]
        eq(value(env, "REMOTE_ADDR"), "127.0.0.1", "REMOTE_ADDR")
        eq(value(env, "REMOTE_PORT"), str(conn.local_port), "REMOTE_PORT")


@case("environ.server_name_port", ENV)
def server_name_port(ctx):
    env = environ_of(ctx)
    eq(value(env, "SERVER_PORT"), str(ctx.port), "SERVER_PORT")
    if not value(env, "SERVER_NAME"):
        raise Fail("SERVER_NAME is empty")
    eq(value(env, "HTTP_HOST"), "127.0.0.1:%d" % ctx.port, "HTTP_HOST")


@case("environ.server_name_http10_no_host", ENV)
def server_name_no_host(ctx):
    """HTTP/1.0 without Host: SERVER_NAME and SERVER_PORT still come from the server."""
    env = environ_of(ctx, version="HTTP/1.0", host=False)
    if not value(env, "SERVER_NAME"):
        raise Fail("SERVER_NAME is empty")
    eq(value(env, "SERVER_PORT"), str(ctx.port), "SERVER_PORT")


@case("environ.server_protocol_11", ENV)
def server_protocol_11(ctx):
    eq(value(environ_of(ctx), "SERVER_PROTOCOL"), "HTTP/1.1", "SERVER_PROTOCOL")


@case("environ.server_protocol_10", ENV)
def server_protocol_10(ctx):
    eq(value(environ_of(ctx, version="HTTP/1.0"), "SERVER_PROTOCOL"), "HTTP/1.0",
       "SERVER_PROTOCOL")


@case("environ.wsgi_version", ENV)
def wsgi_version(ctx):
    env = environ_of(ctx)
    entry = env.get("wsgi.version", {})
    if entry.get("type") != "tuple" or entry.get("value") != [1, 0]:
        raise Fail("wsgi.version must be the tuple (1, 0), got %r" % entry)


@case("environ.url_scheme", ENV)
def url_scheme(ctx):
    eq(value(environ_of(ctx), "wsgi.url_scheme"), "http", "wsgi.url_scheme")


@case("environ.wsgi_errors", 'PEP 3333 "Input and Error Streams"')
def wsgi_errors(ctx):
    """wsgi.errors takes str through write(), writelines() and flush()."""
    resp, _ = ctx.fetch("environ", "/env")
    data = json_body(resp)
    attrs = data["environ"].get("wsgi.errors", {}).get("attrs", [])
    missing = {"write", "writelines", "flush"} - set(attrs)
    if missing:
        raise Fail("wsgi.errors lacks %s" % ", ".join(sorted(missing)))
    names = ("write", "writelines (validated)", "writelines (server's)", "flush")
    errors = ["%s: %s" % (n, e) for n, e in zip(names, data["errors_results"]) if e]
    if errors:
        raise Fail("; ".join(errors))


@case("environ.wsgi_input_interface", 'PEP 3333 "Input and Error Streams"')
def wsgi_input_interface(ctx):
    attrs = environ_of(ctx).get("wsgi.input", {}).get("attrs", [])
    missing = {"read", "readline", "readlines", "__iter__"} - set(attrs)
    if missing:
        raise Fail("wsgi.input lacks %s" % ", ".join(sorted(missing)))


@case("environ.wsgi_flags", ENV)
def wsgi_flags(ctx):
    """multithread, multiprocess and run_once are bools; run_once is False for a server that
    calls the app more than once."""
    env = environ_of(ctx)
    for key in ("wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once"):
        entry = env.get(key)
        if entry is None:
            raise Fail("%s missing" % key)
        if entry["type"] != "bool":
            raise Fail("%s is %s %r, not bool" % (key, entry["type"], entry.get("value")))
    eq(env["wsgi.run_once"]["value"], False, "wsgi.run_once")
