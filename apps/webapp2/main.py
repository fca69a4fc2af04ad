"""The App Engine guestbook, webapp2 3.0.0b1 style (WebOb 1.8, Jinja2), served with:

    python3 apps/vendor.py webapp2
    rwsgi run apps/webapp2/main.py:app --pythonpath apps/webapp2/vendor

`webapp2.WSGIApplication([('/', MainPage), ('/newentry', NewEntry), ...])` with tuple and
Route routes (named parameters), Jinja2 templates, JSON, a urlencoded form POST that redirects,
a multipart upload echoed back (WebOb's request.POST, which needs legacy-cgi on 3.13+), a
cookie counter, a redirect, and custom 404 and 500 pages (app.error_handlers).
"""

import json
import logging
import os

import jinja2
import webapp2

JINJA_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")),
    autoescape=True,
)
ENTRIES = []


class MainPage(webapp2.RequestHandler):
    def get(self):
        template = JINJA_ENVIRONMENT.get_template("index.html")
        self.response.write(template.render(framework="webapp2", entries=ENTRIES))


class NewEntry(webapp2.RequestHandler):
    def post(self):
        ENTRIES.append(self.request.get("content"))
        self.redirect("/", code=303)


class Hello(webapp2.RequestHandler):
    def get(self, name):
        self.response.write(JINJA_ENVIRONMENT.get_template("hello.html").render(name=name))


class Item(webapp2.RequestHandler):
    def get(self, item_id):
        item_id = int(item_id)
        if item_id > 100:
            self.abort(404)
        self.response.content_type = "application/json"
        self.response.write(
            json.dumps({"id": item_id, "name": "item %d" % item_id, "framework": "webapp2", "tags": ["a", "b"]})
        )


class Upload(webapp2.RequestHandler):
    def post(self):
        field = self.request.POST["file"]
        self.response.content_type = "application/octet-stream"
        self.response.headers["X-Filename"] = field.filename
        # write() would decode bytes as text (webapp2 quirk): set the body itself.
        self.response.body = field.file.read()


class Visit(webapp2.RequestHandler):
    def get(self):
        visits = int(self.request.cookies.get("visits", "0")) + 1
        self.response.set_cookie("visits", str(visits), path="/")
        self.response.content_type = "application/json"
        self.response.write(json.dumps({"visits": visits}))


class Boom(webapp2.RequestHandler):
    def get(self):
        raise RuntimeError("boom")


def render_error(response, code, message):
    response.set_status(code)
    response.content_type = "text/html"
    response.write(JINJA_ENVIRONMENT.get_template("error.html").render(code=code, message=message))


def handle_404(request, response, exception):
    render_error(response, 404, "custom 404: nothing at %s" % request.path)


def handle_500(request, response, exception):
    logging.exception(exception)
    render_error(response, 500, "custom 500: something broke")


app = webapp2.WSGIApplication(
    [
        ("/", MainPage),
        ("/newentry", NewEntry),
        ("/sign", NewEntry),
        webapp2.Route("/hello/<name>", Hello),
        webapp2.Route(r"/api/items/<item_id:\d+>", Item),
        ("/upload", Upload),
        ("/visit", Visit),
        webapp2.Route("/old", webapp2.RedirectHandler, defaults={"_uri": "/hello/old"}),
        ("/boom", Boom),
    ],
    debug=False,
)
app.error_handlers[404] = handle_404
app.error_handlers[500] = handle_500
