"""Flask + SQLAlchemy 2 ORM on PostgreSQL through pg8000 (a pure-Python driver: psycopg's C
and libpq paths cannot load in rwsgi). A small shop ledger: customers and their orders.

    rwsgi python apps/postgres/app.py init --pythonpath apps/postgres/vendor   # create tables
    rwsgi run apps/postgres/app.py:app --pythonpath apps/postgres/vendor --workers 2

The database is $DATABASE_URL, e.g. postgresql+pg8000://app:secret@127.0.0.1:5432/shop
(pg8000 speaks scram-sha-256 password authentication); with $DATABASE_CA (a CA file) the
connection is TLS, verified against that CA, as managed PostgreSQL services require.
tests/services.rs runs it against a real PostgreSQL server that accepts TLS only.

Routes (JSON in, JSON out):
  POST /customers {"name": ..., "orders": [{"amount": "12.50", "note": ..., "at": ISO}]}
       one transaction: the customer and its orders, or nothing; 201, or 409 when the name
       is taken, 400 when an order is invalid (the customer is rolled back too)
  POST /orders {"customer": NAME, "amount": "1.25", "note": ..., "at": ISO-8601 with offset}
  GET  /orders      every order JOINed with its customer's name, oldest first
  GET  /stats       count and exact sum of the amounts, per customer
  GET  /db          the server's version and this connection's TLS version
"""

import datetime
import decimal
import os
import ssl
import sys

from flask import Flask, jsonify, request
from sqlalchemy import (
    DateTime,
    ForeignKey,
    Numeric,
    String,
    Text,
    create_engine,
    func,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    orders: Mapped[list["Order"]] = relationship(back_populates="customer")


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    amount: Mapped[decimal.Decimal] = mapped_column(Numeric(12, 2))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    customer: Mapped[Customer] = relationship(back_populates="orders")


connect_args = {}
if os.environ.get("DATABASE_CA"):
    connect_args["ssl_context"] = ssl.create_default_context(cafile=os.environ["DATABASE_CA"])
engine = create_engine(
    os.environ["DATABASE_URL"], pool_size=2, pool_pre_ping=True, connect_args=connect_args
)
app = Flask(__name__)


class BadOrder(ValueError):
    pass


def parse_order(data):
    try:
        amount = decimal.Decimal(data["amount"])
        at = datetime.datetime.fromisoformat(data.get("at") or "2024-01-01T00:00:00+00:00")
    except (KeyError, TypeError, decimal.InvalidOperation, ValueError) as e:
        raise BadOrder("invalid order %r: %s" % (data, e)) from e
    if not amount.is_finite() or amount <= 0 or at.tzinfo is None:
        raise BadOrder("invalid order %r" % (data,))
    return Order(amount=amount, note=data.get("note", ""), at=at)


def order_json(order, name):
    return {
        "id": order.id,
        "customer": name,
        "amount": str(order.amount),
        "note": order.note,
        "at": order.at.isoformat(),
    }


@app.post("/customers")
def add_customer():
    data = request.get_json()
    with Session(engine) as session:
        try:
            with session.begin():
                customer = Customer(name=data["name"])
                customer.orders = [parse_order(o) for o in data.get("orders", [])]
                session.add(customer)
        except IntegrityError:
            return jsonify(error="customer %r exists" % data["name"]), 409
        except BadOrder as e:
            return jsonify(error=str(e)), 400
        return jsonify(id=customer.id, name=customer.name), 201


@app.post("/orders")
def add_order():
    data = request.get_json()
    with Session(engine) as session, session.begin():
        customer = session.scalar(select(Customer).where(Customer.name == data["customer"]))
        if customer is None:
            return jsonify(error="no customer %r" % data["customer"]), 404
        try:
            order = parse_order(data)
        except BadOrder as e:
            return jsonify(error=str(e)), 400
        customer.orders.append(order)
        session.flush()
        return jsonify(order_json(order, customer.name)), 201


@app.get("/orders")
def list_orders():
    with Session(engine) as session:
        rows = session.execute(
            select(Order, Customer.name).join(Order.customer).order_by(Order.id)
        ).all()
        return jsonify([order_json(order, name) for order, name in rows])


@app.get("/stats")
def stats():
    with Session(engine) as session:
        total = func.coalesce(func.sum(Order.amount), 0)
        rows = session.execute(
            select(Customer.name, func.count(Order.id), total)
            .select_from(Customer)
            .outerjoin(Order, Order.customer_id == Customer.id)
            .group_by(Customer.name)
            .order_by(Customer.name)
        ).all()
        return jsonify({name: {"orders": n, "total": str(total)} for name, n, total in rows})


@app.get("/db")
def db_info():
    with engine.connect() as conn:
        version, tls = conn.execute(
            text(
                "SELECT version(), (SELECT version FROM pg_stat_ssl"
                " WHERE pid = pg_backend_pid())"
            )
        ).one()
        return jsonify(version=version, tls=tls)


def init():
    """Create the tables (what a migration would do before the workers start)."""
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)


if __name__ == "__main__" and sys.argv[1:] == ["init"]:
    init()
    print("tables created")
