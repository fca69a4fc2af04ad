"""Echoes the request back as JSON: the environ (native strings, with the wsgi.* values
described) and the body read from wsgi.input.

    rwsgi run apps/echo.py
    curl -d 'hello' 'http://127.0.0.1:8000/some/path?x=1'
"""

import json


def _describe(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, tuple):
        return [_describe(v) for v in value]
    return type(value).__name__


def application(environ, start_response):
    body = environ["wsgi.input"].read()
    payload = {
        "environ": {key: _describe(value) for key, value in environ.items()},
        # latin-1 maps each byte to one code point, so any body survives the trip.
        "body": body.decode("latin-1"),
        "body_length": len(body),
    }
    output = json.dumps(payload, sort_keys=True, indent=1).encode("utf-8")
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(output)))],
    )
    return [output]
