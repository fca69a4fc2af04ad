"""Test fixture: uses a spread of the standard library (sqlite3 included) and reports where
the stdlib came from, for the hidden-Python test."""

import datetime
import decimal
import email.message
import hashlib
import json
import os
import sqlite3
import sys
import zlib


def application(environ, start_response):
    db = sqlite3.connect(":memory:")
    db.execute("create table t (name text)")
    db.execute("insert into t values ('from sqlite')")
    row = db.execute("select name from t").fetchone()[0]
    msg = email.message.EmailMessage()
    msg["Subject"] = "ok"
    payload = {
        "sqlite": row,
        "sha256": hashlib.sha256(b"rwsgi").hexdigest()[:8],
        "zlib": len(zlib.compress(b"a" * 100)),
        "decimal": str(decimal.Decimal("1.1") + decimal.Decimal("2.2")),
        "year": datetime.date(2026, 1, 1).year,
        "subject": msg["Subject"],
        "stdlib_dir": getattr(sys, "_stdlib_dir", None),
        "stdlib_dir_exists": os.path.exists(getattr(sys, "_stdlib_dir", None) or "/nonexistent"),
        "version": list(sys.version_info[:2]),
    }
    body = json.dumps(payload).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
