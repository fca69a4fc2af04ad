"""Flask bench app (scenarios `flask-hello`, `flask-json`, `flask-page`).

    /       plain-text hello
    /json   a JSON document of 20 records (jsonify)
    /page   an HTML page rendered by Jinja2 from templates/page.html (inheritance, a loop,
            filters, autoescaping) over the same records
"""

from flask import Flask, jsonify, render_template

app = Flask(__name__)
application = app

ITEMS = [
    {"id": i, "name": f"item <{i}>", "price": round(i * 1.25, 2), "tags": ["a", "b", str(i % 3)]}
    for i in range(20)
]


@app.route("/")
def hello():
    return "Hello World!", 200, {"Content-Type": "text/plain"}


@app.route("/json")
def json_view():
    return jsonify(count=len(ITEMS), items=ITEMS)


@app.route("/page")
def page():
    return render_template("page.html", title="Catalogue", items=ITEMS, user="bench & co")
