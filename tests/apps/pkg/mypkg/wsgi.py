"""Test fixture: gunicorn's module:callable form."""

import helper_on_path


def app(environ, start_response):
    body = ("module app; helper says %s" % helper_on_path.WORD).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
