"""Flask with the extensions most Flask apps add: Flask-SQLAlchemy (models), Flask-Migrate
(Alembic migrations, run through `rwsgi python -m flask db ...`), Flask-Login (sessions),
Flask-WTF (forms with CSRF tokens, WTForms validators, email-validator). tests/frameworks.rs
migrates and serves it.

    rwsgi python -m flask --app app.py db upgrade     # with --pythonpath vendor, or PYTHONPATH
    rwsgi run app.py:app --pythonpath vendor

Routes: GET/POST /signup (a form: email and password; 400 with the form's errors), POST
/signin, GET/POST /items (login required: a form to add an item with a price; the user's items
and the form's errors as JSON), GET /logout. The database is $FLASK_EXT_DB (default: a file
beside the app).
"""

import os

from flask import Flask, flash, jsonify, redirect, render_template_string, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import DecimalField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length, NumberRange

DB = os.environ.get("FLASK_EXT_DB") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "app.db")

app = Flask(__name__)
app.config.update(SECRET_KEY="not-a-secret", SQLALCHEMY_DATABASE_URI="sqlite:///" + DB)
db = SQLAlchemy(app)
migrate = Migrate(app, db)
login = LoginManager(app)
login.login_view = "signup"


class User(UserMixin, db.Model):
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(120), unique=True, nullable=False)
    password = db.Column(db.String(256), nullable=False)


class Item(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(80), nullable=False)
    price = db.Column(db.Numeric(10, 2), nullable=False)
    owner_id = db.Column(db.Integer, db.ForeignKey("user.id"), nullable=False)


@login.user_loader
def load_user(user_id):
    return db.session.get(User, int(user_id))


class SignupForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Email(check_deliverability=False)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8)])


class ItemForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired()])
    price = DecimalField("Price", places=2, validators=[NumberRange(min=0)])


PAGE = """{% for m in get_flashed_messages() %}<p class=flash>{{ m }}</p>{% endfor %}
<form method=post>{{ form.hidden_tag() }}
{% for f in form if f.widget.input_type != 'hidden' %}{{ f.label }} {{ f() }}
{% for e in f.errors %}<span class=error>{{ e }}</span>{% endfor %}{% endfor %}
<button>Sign up</button></form>"""


@app.route("/signup", methods=["GET", "POST"])
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        user = User(email=form.email.data, password=generate_password_hash(form.password.data))
        db.session.add(user)
        db.session.commit()
        login_user(user)
        flash("welcome " + user.email)
        return redirect(url_for("items"))
    return render_template_string(PAGE, form=form), 400 if request.method == "POST" else 200


@app.route("/signin", methods=["POST"])
def signin():
    user = db.session.scalar(db.select(User).filter_by(email=request.form.get("email")))
    if user is None or not check_password_hash(user.password, request.form.get("password", "")):
        return jsonify(error="wrong email or password"), 401
    login_user(user)
    return redirect(url_for("items"))


@app.route("/items", methods=["GET", "POST"])
@login_required
def items():
    form = ItemForm()
    if form.validate_on_submit():
        db.session.add(Item(name=form.name.data, price=form.price.data, owner_id=current_user.id))
        db.session.commit()
        return redirect(url_for("items"))
    rows = db.session.scalars(db.select(Item).filter_by(owner_id=current_user.id).order_by(Item.id))
    return jsonify(
        user=current_user.email,
        items=[{"name": i.name, "price": str(i.price)} for i in rows],
        errors=form.errors,
    ), 400 if request.method == "POST" else 200


@app.route("/logout")
def logout():
    logout_user()
    return redirect(url_for("signup"))
