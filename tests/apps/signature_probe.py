"""inspect.signature of the builtins rwsgi replaces at start (src/python/patch/): the same as
CPython's, so that documentation tools and argument validators see them as on CPython; and
the replaced module functions' repr, __module__ and __qualname__, and that they pickle by
name (tests/compat.rs compares the lines)."""

import _random
import _thread
import builtins
import inspect
import io
import operator
import os
import pickle
import pyexpat
import re
import sqlite3
import time

NAMES = {
    "open": builtins.open, "io.open_code": io.open_code, "os.path.normpath": os.path.normpath,
    "compile": compile, "operator.length_hint": operator.length_hint,
    "Pattern.sub": re.Pattern.sub, "Pattern.subn": re.Pattern.subn,
    "bytes.strip": bytes.strip, "bytes.lstrip": bytes.lstrip, "bytes.rstrip": bytes.rstrip,
    "bytearray.strip": bytearray.strip, "bytearray.rstrip": bytearray.rstrip,
    "dict.__init__": dict.__init__, "dict.__eq__": dict.__eq__, "dict.__ge__": dict.__ge__,
    "dict.__ior__": dict.__ior__, "type.mro": type.mro,
    "BufferedReader.readline": io.BufferedReader.readline,
    "BufferedRandom.readline": io.BufferedRandom.readline,
    "BufferedReader.__init__": io.BufferedReader.__init__,
    "BufferedWriter.__init__": io.BufferedWriter.__init__,
    "Cursor.execute": sqlite3.Cursor.execute, "Cursor.executemany": sqlite3.Cursor.executemany,
    "Cursor.executescript": sqlite3.Cursor.executescript,
    "Cursor.fetchone": sqlite3.Cursor.fetchone, "Cursor.fetchmany": sqlite3.Cursor.fetchmany,
    "Cursor.fetchall": sqlite3.Cursor.fetchall, "Cursor.close": sqlite3.Cursor.close,
    "Cursor.__init__": sqlite3.Cursor.__init__,
    "Connection.executemany": sqlite3.Connection.executemany,
    "Connection.executescript": sqlite3.Connection.executescript,
    "Connection.commit": sqlite3.Connection.commit,
    "Connection.rollback": sqlite3.Connection.rollback,
    "Connection.close": sqlite3.Connection.close,
    "_local.__setattr__": _thread._local.__setattr__,
    "_local.__delattr__": _thread._local.__delattr__,
    "Random.seed": _random.Random.seed,
}
for name, obj in NAMES.items():
    print(name, inspect.signature(obj))

# Binding arguments as a validator would: a wrong keyword is refused.
try:
    inspect.signature(builtins.open).bind("x", nonsense=1)
except TypeError as e:
    print("bind refused:", e)

# Module functions look like CPython's: not bound to a tuple or to the original they wrap.
for name, f in [("compile", compile), ("open", open), ("io.open_code", io.open_code),
                ("operator.length_hint", operator.length_hint),
                ("sqlite3.connect", sqlite3.connect), ("time.tzset", time.tzset),
                ("pyexpat.ParserCreate", pyexpat.ParserCreate),
                ("pyexpat.ErrorString", pyexpat.ErrorString)]:
    print(name, repr(f).split(" at ")[0], f.__module__, f.__qualname__,
          pickle.loads(pickle.dumps(f)) is f)
