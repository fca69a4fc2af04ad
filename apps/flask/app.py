"""A small Flask 3.1 guestbook, served with:

    python3 apps/vendor.py flask
    rwsgi run apps/flask/app.py:app --pythonpath apps/flask/vendor

Routes with parameters, Jinja2 templates (autoescaped), JSON, a urlencoded form POST that
redirects, a multipart upload echoed back, a session counter (signed cookie), a redirect, and
custom 404 and 500 pages.
"""

from flask import Flask, Response, abort, jsonify, redirect, render_template, request, session, url_for

app = Flask(__name__)
app.secret_key = "rwsgi-example-not-secret"

ENTRIES = []


@app.get("/")
def index():
    return render_template("index.html", framework="Flask", entries=ENTRIES)


@app.get("/hello/<name>")
def hello(name):
    return render_template("hello.html", name=name)


@app.get("/api/items/<int:item_id>")
def item(item_id):
    if item_id > 100:
        abort(404)
    return jsonify(id=item_id, name="item %d" % item_id, framework="flask", tags=["a", "b"])


@app.post("/sign")
def sign():
    ENTRIES.append(request.form["content"])
    return redirect(url_for("index"), code=303)


@app.post("/upload")
def upload():
    f = request.files["file"]
    return Response(f.read(), mimetype="application/octet-stream", headers={"X-Filename": f.filename})


@app.get("/visit")
def visit():
    session["visits"] = session.get("visits", 0) + 1
    return jsonify(visits=session["visits"])


@app.get("/old")
def old():
    return redirect(url_for("hello", name="old"))


@app.get("/boom")
def boom():
    raise RuntimeError("boom")


@app.errorhandler(404)
def not_found(e):
    return render_template("error.html", code=404, message="custom 404: nothing at %s" % request.path), 404


@app.errorhandler(500)
def server_error(e):
    return render_template("error.html", code=500, message="custom 500: something broke"), 500
