"""An app that takes over the import system at import time, as Mercurial's demandimport does
for hgweb: rwsgi's own Python must not be looked up through it afterwards (tests/compat.rs)."""

import builtins
import sys

_real_import = builtins.__import__


def _refusing_import(name, globals=None, locals=None, fromlist=(), level=0):
    if name.split(".")[0] in ("rwsgi", "_rwsgi", "os", "stat"):
        raise ImportError("the app's import hook refuses %s" % name)
    return _real_import(name, globals, locals, fromlist, level)


builtins.__import__ = _refusing_import
for _name in [n for n in sys.modules if n == "rwsgi" or n.startswith("rwsgi.")]:
    sys.modules[_name] = None  # `import` of these now raises ImportError


def application(environ, start_response):
    environ["wsgi.errors"].write("hostile hook app served a request\n")
    start_response("200 OK", [("Content-Type", "text/plain")])
    if environ["PATH_INFO"] == "/file":
        return environ["wsgi.file_wrapper"](open(__file__, "rb"))
    return [b"served despite the hook\n"]
