"""A small Bottle 0.13 guestbook, served with:

    python3 apps/vendor.py bottle
    rwsgi run apps/bottle/app.py --pythonpath apps/bottle/vendor

Routes with wildcard filters, SimpleTemplate views (autoescaped), JSON from dicts, a
urlencoded form POST that redirects, a multipart upload echoed back, a signed cookie counter,
a redirect, and custom 404 and 500 pages.
"""

import os

import bottle
from bottle import Bottle, HTTPResponse, abort, redirect, request, response, template

bottle.TEMPLATE_PATH.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "views"))
# Exceptions become the 500 page instead of propagating to the server.
bottle.debug(False)

SECRET = "rwsgi-example-not-secret"
ENTRIES = []

app = Bottle()


@app.get("/")
def index():
    return template("index", framework="Bottle", entries=ENTRIES)


@app.get("/hello/<name>")
def hello(name):
    return template("hello", name=name)


@app.get("/api/items/<item_id:int>")
def item(item_id):
    if item_id > 100:
        abort(404, "no such item")
    return {"id": item_id, "name": "item %d" % item_id, "framework": "bottle", "tags": ["a", "b"]}


@app.post("/sign")
def sign():
    ENTRIES.append(request.forms.getunicode("content"))
    redirect("/", 303)


@app.post("/upload")
def upload():
    upload = request.files.get("file")
    data = upload.file.read()
    return HTTPResponse(
        data,
        headers={"Content-Type": "application/octet-stream", "X-Filename": upload.raw_filename},
    )


@app.get("/visit")
def visit():
    visits = int(request.get_cookie("visits", "0", secret=SECRET)) + 1
    response.set_cookie("visits", str(visits), secret=SECRET, path="/")
    return {"visits": visits}


@app.get("/old")
def old():
    redirect("/hello/old")


@app.get("/boom")
def boom():
    raise RuntimeError("boom")


@app.error(404)
def not_found(error):
    return template("error", code=404, message="custom 404: nothing at %s" % request.path)


@app.error(500)
def server_error(error):
    return template("error", code=500, message="custom 500: something broke")


application = app
