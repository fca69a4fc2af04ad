"""An app that only works under the /blog prefix (`--mount /blog`): a request whose SCRIPT_NAME
or REQUEST_URI says otherwise gets a str body, which `rwsgi check` reports."""


def application(environ, start_response):
    mounted = environ["SCRIPT_NAME"] == "/blog" and environ["REQUEST_URI"].startswith("/blog/")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    if not mounted:
        return ["not under /blog"]
    return [b"under /blog"]
