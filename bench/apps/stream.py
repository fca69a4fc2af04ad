"""Streamed response: 1 MiB sent as 16 yielded chunks of 64 KiB (bench scenario `stream-1m`).
Content-Length is set so every server can keep the connection alive."""

CHUNK = b"x" * 65536
COUNT = 16


def application(environ, start_response):
    start_response(
        "200 OK",
        [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(CHUNK) * COUNT))],
    )
    for _ in range(COUNT):
        yield CHUNK
