"""Fixture for tests/deploy.rs: once bundled, it reports how its own files look from inside the
executable: open(), os.stat, os.listdir, os.scandir, pathlib, importlib.resources,
importlib.metadata, writes, and wsgi.file_wrapper over a bundled file."""

import errno
import importlib.metadata
import importlib.resources
import json
import os
import pathlib

import helpers

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")


def _errno(fn):
    try:
        fn()
    except OSError as exc:
        return errno.errorcode.get(exc.errno, exc.errno)
    return None


def report():
    st = os.stat(os.path.join(DATA, "greeting.txt"))
    with os.scandir(DATA) as entries:
        scanned = sorted((e.name, e.is_dir(), e.is_file()) for e in entries)
    with open(os.path.join(DATA, "blob.bin"), "rb") as f:
        blob = list(f.read())
    return {
        # The app's directory is inside the executable: its parent is a file.
        "parent_is_file": os.path.isfile(os.path.dirname(HERE)),
        "text": open(os.path.join(DATA, "greeting.txt")).read(),
        "blob": blob,
        "size": st.st_size,
        "mtime_positive": st.st_mtime > 0,
        "listdir": sorted(os.listdir(DATA)),
        "scandir": scanned,
        "isfile": os.path.isfile(os.path.join(DATA, "greeting.txt")),
        "isdir": os.path.isdir(os.path.join(DATA, "sub")),
        "exists_missing": os.path.exists(os.path.join(DATA, "missing.txt")),
        "pathlib": pathlib.Path(DATA, "sub", "deep.txt").read_text(),
        "walk": sorted(
            os.path.relpath(os.path.join(top, name), DATA)
            for top, _, files in os.walk(DATA)
            for name in files
        ),
        # Package metadata (dist-info) in the bundle, as Flask's test client reads Werkzeug's.
        "metadata_version": importlib.metadata.version("bundled-probe"),
        "resource": importlib.resources.files(helpers).joinpath("resource.txt").read_text(),
        "write": _errno(lambda: open(os.path.join(DATA, "new.txt"), "w")),
        "missing": _errno(lambda: open(os.path.join(DATA, "missing.txt"))),
        "hidden_skipped": not os.path.exists(os.path.join(HERE, ".hidden.txt")),
        "pycache_skipped": not os.path.exists(os.path.join(HERE, "__pycache__")),
        "helpers_file": os.path.relpath(helpers.__file__, HERE),
    }


def application(environ, start_response):
    if environ["PATH_INFO"] == "/blob":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](open(os.path.join(DATA, "blob.bin"), "rb"), 4)
    body = json.dumps(report()).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
