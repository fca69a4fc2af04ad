"""Upload sink: reads the request body from wsgi.input in 64 KiB pieces without keeping it and
answers with the byte count (bench scenario `upload-100m`, a 100 MiB body)."""


def application(environ, start_response):
    try:
        remaining = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        remaining = 0
    stream = environ["wsgi.input"]
    total = 0
    while remaining > 0:
        piece = stream.read(min(65536, remaining))
        if not piece:
            break
        total += len(piece)
        remaining -= len(piece)
    body = str(total).encode("ascii")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
