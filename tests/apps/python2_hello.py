"""The classic WSGI hello world as articles still print it: Python 2 code, a str body."""


def application(environ, start_response):
    status = "200 OK"
    output = "Hello World!"
    response_headers = [("Content-type", "text/plain"), ("Content-Length", str(len(output)))]
    start_response(status, response_headers)
    return [output]
