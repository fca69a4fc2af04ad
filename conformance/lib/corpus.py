"""Replay of the gunicorn request corpus (shared/corpus/gunicorn-requests/cases.json).

Each corpus case is sent whole and again split into 1-3 byte writes, to the `echo` fixture,
on a fresh connection each time. Valid: every request reaches the app exactly as expected, in
order. Invalid: refused with 400 (414/431 for limits, 505 for a version), the connection
closed, and for an error in the head the app never called; an error found while the body
streams may reach the app, but the request must end in an error, never a complete 2xx.
"""

import base64
import json
import os
import urllib.parse

from .casekit import (RESPONSE_TIMEOUT, Case, Fail, NotApplicable, TimedOut, add_case, clip,
                      describe_exc)
from .servers import AppConfig, REPO
from .wire import NoResponse, Timeout, split_pieces

CORPUS_ENV = "RWSGI_CORPUS"
HOP_BY_HOP = {"HTTP_CONNECTION", "HTTP_KEEP_ALIVE", "HTTP_TRANSFER_ENCODING", "HTTP_TE",
              "HTTP_UPGRADE", "HTTP_PROXY_CONNECTION"}
BODY_LEVEL_ERRORS = {"InvalidChunkSize", "InvalidChunkExtension", "ChunkMissingTerminator"}
SPEC_BY_ERROR = {
    "InvalidRequestLine": "RFC 9112 §3, §3.2",
    "InvalidRequestMethod": "RFC 9112 §3.1; RFC 9110 §9.1",
    "InvalidHTTPVersion": "RFC 9112 §2.3",
    "InvalidHeader": "RFC 9112 §5, §6; RFC 9110 §5.5, §8.6",
    "InvalidHeaderName": "RFC 9112 §5.1; RFC 9110 §5.1, §6.5.1",
    "LimitRequestLine": "RFC 9112 §3 (414)",
    "LimitRequestHeaders": "RFC 9112 §5; RFC 6585 §5 (431)",
    "InvalidChunkSize": "RFC 9112 §7.1",
    "InvalidChunkExtension": "RFC 9112 §7.1.1",
    "ChunkMissingTerminator": "RFC 9112 §7.1",
    "ObsoleteFolding": "RFC 9112 §5.2",
    "InvalidProxyLine": "PROXY protocol v1/v2",
    "InvalidSchemeHeaders": "gunicorn forwarded-scheme headers",
    "NoMoreData": "RFC 9112 §8 (incomplete message)",
}


def corpus_dir():
    return os.environ.get(CORPUS_ENV) or os.path.normpath(
        os.path.join(REPO, "..", "shared", "corpus", "gunicorn-requests"))


def load():
    path = os.path.join(corpus_dir(), "cases.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)["cases"]


def register():
    """Add one case per corpus entry; on a missing corpus, one failing case that says so."""
    try:
        entries = load()
    except (OSError, ValueError, KeyError) as exc:
        def missing(ctx, exc=exc):
            raise Fail("corpus not readable at %s (set %s): %s" % (corpus_dir(), CORPUS_ENV, exc))
        add_case(Case("corpus.load", "gunicorn corpus", missing))
        return
    for entry in entries:
        settings = tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                                for k, v in entry.get("settings", {}).items()))
        config = AppConfig(settings=settings)
        if entry["kind"] == "valid":
            spec = "RFC 9112 §2-§7 + PEP 3333 environ (gunicorn corpus)"
        else:
            spec = "%s (gunicorn %s)" % (SPEC_BY_ERROR.get(entry["error"], "RFC 9112"),
                                         entry["error"])
        methods = {r.get("method") for r in entry.get("requests", [])}
        needs = ("connect",) if "CONNECT" in methods else ()
        add_case(Case("corpus.%s.%s" % (entry["kind"], entry["name"]), spec,
                      lambda ctx, e=entry: replay(ctx, e), config, needs=needs))


def replay(ctx, entry):
    raw = base64.b64decode(entry["raw_base64"])
    for request in entry.get("requests", []):
        declared = [v for k, v in request["headers"] if k == "CONTENT-LENGTH"]
        body = base64.b64decode(request["body_base64"])
        if len(declared) == 1 and declared[0].isdigit() and int(declared[0]) != len(body):
            raise NotApplicable(
                "corpus entry inconsistent: Content-Length %s but %d body bytes expected "
                "(cannot be met over TCP)" % (declared[0], len(body)))
    check = check_valid if entry["kind"] == "valid" else check_invalid
    reasons = []
    for mode in ("whole", "split"):
        ctx.state.clear("calls")
        pieces = split_pieces(raw, entry["name"] + entry["kind"]) if mode == "split" else None
        timed_out = False
        try:
            with ctx.conn() as conn:
                conn.send(raw, pieces, stop_when_answered=entry["kind"] == "invalid")
                check(ctx, conn, entry)
        except Fail as exc:
            reasons.append("%s: %s" % (mode, exc))
            timed_out = isinstance(exc, TimedOut)
        except (Timeout, NoResponse, OSError) as exc:
            reasons.append("%s: %s" % (mode, describe_exc(exc)))
            timed_out = isinstance(exc, Timeout)
        if timed_out and mode == "whole":
            # Keeps a hanging server from costing every case twice.
            reasons.append("split: not run after the whole send timed out")
            break
    if reasons:
        raise Fail(" / ".join(reasons))


# --- valid requests -----------------------------------------------------------------------

def env_key(name):
    name = name.upper()
    if name in ("CONTENT-TYPE", "CONTENT-LENGTH"):
        return name.replace("-", "_")
    return "HTTP_" + name.replace("-", "_")


def expected_headers(request):
    grouped = {}
    for name, value in request["headers"]:
        grouped.setdefault(env_key(name), []).append(value)
    return grouped


def compare(request, data):
    """Differences between one expected corpus request and what the echo app saw."""
    diffs = []
    uri = request["uri"]
    path_info = urllib.parse.unquote_to_bytes(uri["path"].encode("latin-1")).decode("latin-1")
    if data["method"] != request["method"]:
        diffs.append("REQUEST_METHOD %r, expected %r" % (data["method"], request["method"]))
    got_path = (data.get("script_name") or "") + (data.get("path_info") or "")
    if got_path != path_info:
        lenient = request["method"] in ("CONNECT", "OPTIONS") and got_path in ("", uri["raw"])
        if not lenient:
            diffs.append("PATH_INFO %r, expected %r" % (got_path, path_info))
    if (data.get("query_string") or "") != uri["query"]:
        diffs.append("QUERY_STRING %r, expected %r" % (data.get("query_string"), uri["query"]))
    protocol = "HTTP/%d.%d" % tuple(request["version"])
    if data.get("protocol") != protocol:
        diffs.append("SERVER_PROTOCOL %r, expected %r" % (data.get("protocol"), protocol))
    body = base64.b64decode(request["body_base64"])
    got_body = base64.b64decode(data["body"])
    if got_body != body:
        diffs.append("body %s, expected %s" % (clip(got_body, 60), clip(body, 60)))
    want = expected_headers(request)
    got = data["headers"]
    chunked = "chunked" in ",".join(want.get("HTTP_TRANSFER_ENCODING", [])).lower()
    for key, values in want.items():
        if key not in got:
            if key not in HOP_BY_HOP:
                diffs.append("%s missing (expected %s)" % (key, clip(",".join(values), 60)))
            continue
        if len(values) > 1:
            same = [v.strip() for v in got[key].split(",")] == \
                [v.strip() for v in ",".join(values).split(",")]
        else:
            same = got[key] == values[0]
        if not same:
            diffs.append("%s=%s, expected %s" % (key, clip(got[key], 60),
                                                 clip(",".join(values), 60)))
    for key in sorted(set(got) - set(want)):
        if key == "CONTENT_LENGTH" and chunked and got[key] == str(len(body)):
            continue  # a server that de-chunks may state the length it found
        diffs.append("unexpected %s=%s" % (key, clip(got[key], 60)))
    return diffs


def closes_after(request):
    connection = ",".join(v for k, v in request["headers"] if k == "CONNECTION").lower()
    if "close" in connection:
        return True
    return tuple(request["version"]) == (1, 0) and "keep-alive" not in connection


def check_valid(ctx, conn, entry):
    requests = entry["requests"]
    for i, request in enumerate(requests, 1):
        label = "request %d/%d" % (i, len(requests)) if len(requests) > 1 else "request"
        try:
            resp = conn.read_response(request["method"], timeout=RESPONSE_TIMEOUT)
        except Timeout:
            raise TimedOut("%s: no response within %.0f s" % (label, RESPONSE_TIMEOUT))
        except NoResponse:
            raise Fail("%s: connection closed without a response" % label)
        if resp.problems:
            raise Fail("%s: malformed response: %s" % (label, "; ".join(resp.problems)))
        no_host = tuple(request["version"]) == (1, 1) and not any(
            k == "HOST" for k, _ in request["headers"])
        if resp.status == 400 and no_host:
            return  # RFC 9112 §3.2: a server MUST answer 400 to HTTP/1.1 without Host
        if resp.status != 200:
            raise Fail("%s: %d %s %s" % (label, resp.status, resp.reason, clip(resp.body, 100)))
        try:
            data = json.loads(resp.body)
        except ValueError:
            raise Fail("%s: not the echo JSON: %s" % (label, clip(resp.body)))
        diffs = compare(request, data)
        if diffs:
            raise Fail("%s: %s" % (label, "; ".join(diffs)))
    if closes_after(requests[-1]):
        state = conn.wait_eof(2.0)
        if isinstance(state, bytes):
            raise Fail("answered input sent after the connection should close: %s"
                       % clip(state, 80))
        if state == "open":
            raise Fail("connection left open after %s (RFC 9112 §9.3, §9.6)" % (
                "Connection: close" if "close" in str(requests[-1]["headers"]).lower()
                else "an HTTP/1.0 request"))


# --- invalid requests ---------------------------------------------------------------------

def body_level(entry):
    return entry["error"] in BODY_LEVEL_ERRORS or entry["name"].startswith("rfc9110_trailer_")


def allowed_statuses(error):
    allowed = {400}
    if error.startswith("Limit"):
        allowed |= {414, 431}
    if error == "InvalidHTTPVersion":
        allowed.add(505)
    return allowed


def check_invalid(ctx, conn, entry):
    error = entry["error"]
    # Input that stops mid-message needs our EOF before a server can tell.
    half_closed = False
    try:
        got = conn.wait_data(1.5)
    except Timeout:
        conn.shutdown_write()
        half_closed = True
        try:
            got = conn.wait_data(3.0)
        except Timeout:
            raise TimedOut("no answer within 4.5 s (neither refused nor closed)")
    if not got:
        if half_closed:
            # The message was cut short by our EOF (RFC 9112 §8): closing is a fair answer.
            return None if body_level(entry) else _no_app_call(ctx)
        raise Fail("connection closed without a 400 response")
    try:
        resp = conn.read_response("GET", timeout=RESPONSE_TIMEOUT)
    except Timeout:
        raise TimedOut("no complete response head within %.0f s" % RESPONSE_TIMEOUT)
    if resp.problems:
        raise Fail("malformed response: %s" % "; ".join(resp.problems))
    if body_level(entry):
        if 200 <= resp.status < 300 and resp.complete and not conn.reset:
            raise Fail("a broken body ended in a complete %d response" % resp.status)
    else:
        if resp.status not in allowed_statuses(error):
            raise Fail("status %d %s, expected %s" % (resp.status, resp.reason, "/".join(
                str(s) for s in sorted(allowed_statuses(error)))))
        _no_app_call(ctx)
    if not conn.eof:
        state = conn.wait_eof(2.0)
        if isinstance(state, bytes):
            raise Fail("answered more after the refusal: %s" % clip(state, 80))
        if state == "open":
            raise Fail("connection left open after the refusal")


def _no_app_call(ctx):
    calls = ctx.calls()
    if calls:
        raise Fail("the app was called (%s %s)" % (calls[0].get("method"), clip(
            calls[0].get("path"), 60)))

