"""Answers JSON saying whether each compatibility fix in pylib/rwsgi/_compat.py holds inside a
served app (tests/frameworks.rs). Each key names the gap it checks."""

import json
import os
import re
import sys


def probe():
    out = {}

    # sqlite3 PARSE_DECLTYPES: a column with no declared type raised MemoryError.
    import datetime
    import sqlite3

    conn = sqlite3.connect(":memory:", detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES)
    out["sqlite_select_1"] = conn.execute("select 1").fetchall() == [(1,)]
    conn.execute("create table t (ts timestamp, n integer)")
    conn.execute("insert into t values ('2024-05-06 07:08:09', 3)")
    out["sqlite_count"] = conn.execute("select count(*), max(n) from t").fetchone() == (1, 3)
    # PARSE_COLNAMES still converts.
    sqlite3.register_converter("stamp", lambda b: datetime.datetime.fromisoformat(b.decode()))
    row = conn.execute('select ts as "ts [stamp]" from t').fetchone()
    out["sqlite_colnames"] = row[0] == datetime.datetime(2024, 5, 6, 7, 8, 9)
    conn.close()

    # zoneinfo.TZPATH was empty.
    import zoneinfo

    if os.path.isdir("/usr/share/zoneinfo"):
        tz = zoneinfo.ZoneInfo("America/Chicago")
        winter = datetime.datetime(2024, 1, 15, 12, tzinfo=tz).utcoffset()
        summer = datetime.datetime(2024, 7, 15, 12, tzinfo=tz).utcoffset()
        out["zoneinfo_chicago"] = (winter, summer) == (datetime.timedelta(hours=-6), datetime.timedelta(hours=-5))
    else:
        out["zoneinfo_chicago"] = "no tz database"

    # sys.modules['__main__'] was missing: inspect.stack() raised KeyError.
    import inspect

    out["inspect_stack"] = len(inspect.stack()) > 0 and "__main__" in sys.modules

    # '__dict__' in __slots__ beside a __dict__ property raised ValueError.
    class Proxy(object):
        __slots__ = ("_target", "__dict__")

        def __init__(self, target):
            object.__setattr__(self, "_target", target)

        @property
        def __dict__(self):
            return {"proxied": self._target}

    out["slots_dict_property"] = Proxy(5).__dict__ == {"proxied": 5}

    # A property subclass's __get__ was skipped from the third access on (LOAD_ATTR
    # specialization), so a cached property (werkzeug's, as here) recomputed every time.
    missing = object()

    class cached(property):
        def __init__(self, fget):
            super().__init__(fget)
            self.key = fget.__name__

        def __set__(self, obj, value):
            obj.__dict__[self.key] = value

        def __get__(self, obj, owner=None):
            if obj is None:
                return self
            value = obj.__dict__.get(self.key, missing)
            if value is missing:
                value = obj.__dict__[self.key] = self.fget(obj)
            return value

    class Holder:
        computed = 0

        @cached
        def value(self):
            """The value."""
            Holder.computed += 1
            return object()

    holder = Holder()
    seen = {id(holder.value) for _ in range(20)}
    out["property_subclass_get"] = (
        len(seen) == 1 and Holder.computed == 1 and Holder.__dict__["value"].__doc__ == "The value."
    )

    class WithSuper(dict):
        def __init__(self):
            super().__init__(a=1)

    out["class_cell_super"] = WithSuper() == {"a": 1}

    # Django's host validation calls Match.groups(default=...) as a keyword (RUSTPYTHON.md:
    # refused after 0.6.0; keep the check in case the pin moves).
    out["match_groups_default"] = re.match(r"(a)(b)?", "a").groups(default="") == ("a", "")
    return out


def application(environ, start_response):
    body = json.dumps(probe()).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


if __name__ == "__main__":
    print(json.dumps(probe()))
