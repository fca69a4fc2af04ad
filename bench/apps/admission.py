"""bench/admission's app: /slow sleeps 0.2 s (a request stuck on I/O), anything else (/fast)
answers at once."""

import time


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/slow":
        time.sleep(0.2)
        body = b"slow"
    else:
        body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
