"""bench/soak's app: reads the whole request body (Content-Length or chunked) and answers 200
with a body of ?n= bytes, built one of four ways (?m=list|gen|write|close). A body whose length
differs from the client's X-Body-Len header gets 500 instead, so a lost or duplicated byte shows
up as a non-2xx. Every response carries X-N, the length of its body, for the client's check."""

from urllib.parse import parse_qs

CHUNK = b"0123456789abcdef" * 512  # 8 KiB


class Closing:
    """An iterable with close(), which the server must call."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        left = self.n
        while left > 0:
            piece = CHUNK[:min(left, len(CHUNK))]
            left -= len(piece)
            yield piece

    def close(self):
        self.n = 0


def application(environ, start_response):
    stream = environ["wsgi.input"]
    got = 0
    while True:
        piece = stream.read(16384)
        if not piece:
            break
        got += len(piece)
    query = parse_qs(environ.get("QUERY_STRING", ""))
    n = int(query.get("n", ["0"])[0])
    mode = query.get("m", ["list"])[0]
    want = environ.get("HTTP_X_BODY_LEN")
    if want is not None and int(want) != got:
        msg = f"body: got {got} bytes, expected {want}".encode()
        start_response("500 Internal Server Error", [("Content-Type", "text/plain"),
                                                     ("X-N", str(len(msg)))])
        return [msg]
    headers = [("Content-Type", "application/octet-stream"), ("X-N", str(n)),
               ("X-Path", environ.get("PATH_INFO", "")[:64].encode("latin-1").hex())]
    body = (CHUNK * (n // len(CHUNK) + 1))[:n]
    if mode == "gen":
        start_response("200 OK", headers)
        return (body[i:i + 4096] for i in range(0, n, 4096))
    if mode == "write":
        write = start_response("200 OK", headers + [("Content-Length", str(n))])
        write(body)
        return []
    if mode == "close":
        start_response("200 OK", headers)
        return Closing(n)
    start_response("200 OK", headers + [("Content-Length", str(n))])
    return [body]
