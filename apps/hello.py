"""The classic WSGI hello world, in its Python 3 form: a bytes body with Content-type and
Content-Length headers.

    rwsgi run apps/hello.py
    curl http://127.0.0.1:8000/
"""


def application(environ, start_response):
    status = "200 OK"
    output = b"Hello World!"
    response_headers = [
        ("Content-type", "text/plain"),
        ("Content-Length", str(len(output))),
    ]
    start_response(status, response_headers)
    return [output]
