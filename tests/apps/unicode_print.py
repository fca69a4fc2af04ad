"""Prints and writes non-ASCII text: answers 200 only if stdio and open() are UTF-8."""

import sys
import tempfile


def application(environ, start_response):
    print("caf\u00e9 \u4e2d\u6587")
    with tempfile.TemporaryFile("w+") as f:
        f.write("caf\u00e9")
        f.seek(0)
        text = f.read()
    body = ("%s %s %s" % (sys.stdout.encoding, f.encoding, text)).encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [body]
