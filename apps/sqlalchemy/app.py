"""A plain WSGI app on the SQLAlchemy 2.1 ORM over sqlite: authors and their books, a
one-to-many relationship with cascades. SQLAlchemy 2.1 did not import on RustPython 0.6.0
(its class hierarchy needs CPython's method resolution order), and on 2.0 every flush with a
relationship failed; tests/compat.rs serves this app.

    rwsgi run apps/sqlalchemy/app.py --pythonpath apps/sqlalchemy/vendor

Routes: GET / lists authors with their books as JSON; POST /authors with a form
`name=...&books=Title 1|Title 2` adds one; POST /authors/<id>/delete removes one (and its
books, through the cascade); POST /books with `author_id=...&title=...` adds a book through
SQLAlchemy Core and answers the new row's id from `result.lastrowid` (read after SQLAlchemy has
closed the statement's cursor). The database is $SQLA_DB (default: a file beside the app).
"""

import json
import os
from urllib.parse import parse_qs

from sqlalchemy import ForeignKey, String, create_engine, func, insert, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    selectinload,
)


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    books: Mapped[list["Book"]] = relationship(
        back_populates="author", cascade="all, delete-orphan", order_by="Book.id"
    )


class Book(Base):
    __tablename__ = "books"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    author: Mapped[Author] = relationship(back_populates="books")


DB = os.environ.get("SQLA_DB") or os.path.join(os.path.dirname(__file__), "books.sqlite3")
engine = create_engine("sqlite:///" + DB)
Base.metadata.create_all(engine)


def _json(start_response, status, payload):
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _form(environ):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length).decode("utf-8")
    return {k: v[0] for k, v in parse_qs(raw).items()}


def application(environ, start_response):
    method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
    with Session(engine) as session:
        if method == "GET" and path == "/":
            authors = session.scalars(
                select(Author).options(selectinload(Author.books)).order_by(Author.id)
            ).all()
            books = session.scalar(select(func.count(Book.id)))
            return _json(
                start_response,
                "200 OK",
                {
                    "authors": [
                        {"id": a.id, "name": a.name, "books": [b.title for b in a.books]}
                        for a in authors
                    ],
                    "book_count": books,
                },
            )
        if method == "POST" and path == "/authors":
            form = _form(environ)
            author = Author(name=form["name"])
            author.books = [Book(title=t) for t in form.get("books", "").split("|") if t]
            session.add(author)
            session.commit()
            return _json(start_response, "201 Created", {"id": author.id})
        if method == "POST" and path == "/books":
            form = _form(environ)
            with engine.begin() as conn:
                result = conn.execute(
                    insert(Book).values(title=form["title"], author_id=int(form["author_id"]))
                )
                return _json(start_response, "201 Created", {"id": result.lastrowid})
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 3 and parts[0] == "authors" and parts[2] == "delete":
            author = session.get(Author, int(parts[1]))
            if author is None:
                return _json(start_response, "404 Not Found", {"error": "no such author"})
            session.delete(author)
            session.commit()
            return _json(start_response, "200 OK", {"deleted": int(parts[1])})
    return _json(start_response, "404 Not Found", {"error": "not found"})
