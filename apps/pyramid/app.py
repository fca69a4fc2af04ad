"""A small Pyramid 2.1 guestbook (WebOb 1.8, pyramid_jinja2), served with:

    python3 apps/vendor.py pyramid
    rwsgi run apps/pyramid/app.py --pythonpath apps/pyramid/vendor

URL dispatch with placeholders and a regex, @view_config views found by config.scan(), Jinja2
renderers, the json renderer, a urlencoded form POST that redirects, a multipart upload echoed
back (WebOb's request.POST, which needs legacy-cgi on 3.13+), a signed cookie session
counter, a redirect, and custom 404 (notfound view) and 500 (exception view) pages.
"""

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPFound, HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.session import SignedCookieSessionFactory
from pyramid.view import exception_view_config, notfound_view_config, view_config

ENTRIES = []


@view_config(route_name="index", renderer="templates/index.jinja2")
def index(request):
    return {"framework": "Pyramid", "entries": ENTRIES}


@view_config(route_name="hello", renderer="templates/hello.jinja2")
def hello(request):
    return {"name": request.matchdict["name"]}


@view_config(route_name="item", renderer="json")
def item(request):
    item_id = int(request.matchdict["item_id"])
    if item_id > 100:
        raise HTTPNotFound()
    return {"id": item_id, "name": "item %d" % item_id, "framework": "pyramid", "tags": ["a", "b"]}


@view_config(route_name="sign", request_method="POST")
def sign(request):
    ENTRIES.append(request.POST["content"])
    return HTTPSeeOther(location=request.route_url("index"))


@view_config(route_name="upload", request_method="POST")
def upload(request):
    field = request.POST["file"]
    return Response(
        body=field.file.read(),
        content_type="application/octet-stream",
        headerlist=[("X-Filename", field.filename)],
    )


@view_config(route_name="visit", renderer="json")
def visit(request):
    request.session["visits"] = request.session.get("visits", 0) + 1
    return {"visits": request.session["visits"]}


@view_config(route_name="old")
def old(request):
    return HTTPFound(location=request.route_path("hello", name="old"))


@view_config(route_name="boom")
def boom(request):
    raise RuntimeError("boom")


@notfound_view_config(renderer="templates/error.jinja2")
def not_found(request):
    request.response.status = 404
    return {"code": 404, "message": "custom 404: nothing at %s" % request.path}


@exception_view_config(Exception, renderer="templates/error.jinja2")
def server_error(exc, request):
    request.response.status = 500
    return {"code": 500, "message": "custom 500: something broke"}


def make_app():
    with Configurator(session_factory=SignedCookieSessionFactory("rwsgi-example-not-secret")) as config:
        config.include("pyramid_jinja2")
        config.add_route("index", "/")
        config.add_route("hello", "/hello/{name}")
        config.add_route("item", r"/api/items/{item_id:\d+}")
        config.add_route("sign", "/sign")
        config.add_route("upload", "/upload")
        config.add_route("visit", "/visit")
        config.add_route("old", "/old")
        config.add_route("boom", "/boom")
        config.scan()
        return config.make_wsgi_app()


application = make_app()
