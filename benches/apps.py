"""Apps for the boundary micro-benchmark (benches/boundary.rs): one callable per case."""

HELLO = b"Hello, World!\n"
CHUNK = b"x" * 1024
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))]
MANY_HEADERS = HEADERS + [("X-Header-%d" % i, "value %d" % i) for i in range(8)]


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "14")])
    return [HELLO]


def stream(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    for _ in range(16):
        yield CHUNK


def writer(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    for _ in range(4):
        write(CHUNK)
    return []


def headers(environ, start_response):
    start_response("200 OK", list(MANY_HEADERS))
    return [HELLO]
