"""A small Falcon 4.4 guestbook (the pure-Python build), served with:

    python3 apps/vendor.py falcon
    rwsgi run apps/falcon/app.py --pythonpath apps/falcon/vendor

Resources on URI templates with converters, Jinja2 templates (autoescaped), JSON media, a
urlencoded form POST that redirects, a multipart upload echoed back (Falcon's own media
handlers), a cookie counter, a redirect, and custom 404 and 500 pages.
"""

import os

import falcon
import jinja2

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")),
    autoescape=True,
)
ENTRIES = []


def render(resp, template, status=falcon.HTTP_200, **context):
    resp.status = status
    resp.content_type = falcon.MEDIA_HTML
    resp.text = TEMPLATES.get_template(template).render(**context)


class Index:
    def on_get(self, req, resp):
        render(resp, "index.html", framework="Falcon", entries=ENTRIES)


class Hello:
    def on_get(self, req, resp, name):
        render(resp, "hello.html", name=name)


class Item:
    def on_get(self, req, resp, item_id):
        if item_id > 100:
            raise falcon.HTTPNotFound()
        resp.media = {"id": item_id, "name": "item %d" % item_id, "framework": "falcon", "tags": ["a", "b"]}


class Sign:
    def on_post(self, req, resp):
        form = req.get_media()
        ENTRIES.append(form["content"])
        raise falcon.HTTPSeeOther("/")


class Upload:
    def on_post(self, req, resp):
        for part in req.get_media():
            if part.name == "file":
                resp.data = part.stream.read()
                resp.content_type = "application/octet-stream"
                resp.set_header("X-Filename", part.filename)
                return
        raise falcon.HTTPBadRequest(description="no file part")


class Visit:
    def on_get(self, req, resp):
        visits = int(req.cookies.get("visits", "0")) + 1
        resp.set_cookie("visits", str(visits), secure=False, path="/")
        resp.media = {"visits": visits}


class Old:
    def on_get(self, req, resp):
        raise falcon.HTTPFound("/hello/old")


class Boom:
    def on_get(self, req, resp):
        raise RuntimeError("boom")


def not_found(req, resp, ex, params):
    render(resp, "error.html", falcon.HTTP_404, code=404, message="custom 404: nothing at %s" % req.path)


def server_error(req, resp, ex, params):
    req.env["wsgi.errors"].write("error in %s: %r\n" % (req.path, ex))
    render(resp, "error.html", falcon.HTTP_500, code=500, message="custom 500: something broke")


app = application = falcon.App()
app.add_route("/", Index())
app.add_route("/hello/{name}", Hello())
app.add_route("/api/items/{item_id:int}", Item())
app.add_route("/sign", Sign())
app.add_route("/upload", Upload())
app.add_route("/visit", Visit())
app.add_route("/old", Old())
app.add_route("/boom", Boom())
app.add_error_handler(Exception, server_error)
app.add_error_handler(falcon.HTTPNotFound, not_found)
