"""Import the WSGI app, and say clearly why when it cannot be.

`load(kind, target, callable_name)` returns `(app, None)` or `(None, (message, traceback))`,
where message is one line naming the file, the line and the error.

`traceback` is imported only when a load fails: with its dependencies (`_colorize`,
`dataclasses`, `inspect`, ...) it costs every worker about 8 MiB of private memory on
RustPython, and an app that needs it imports it itself.
"""

import importlib
import importlib.util
import os
import sys


def _where(exc, path):
    """(file, line) of the error: the SyntaxError's own position, else the deepest frame in the
    app's file, else the deepest frame of all."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.filename, exc.lineno
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return path, None
    if path:
        mine = [f for f in frames if os.path.abspath(f.filename) == path]
        if mine:
            return mine[-1].filename, mine[-1].lineno
    return frames[-1].filename, frames[-1].lineno


def _describe(exc, path):
    import traceback

    filename, line = _where(exc, path)
    if isinstance(exc, SyntaxError):
        what = "SyntaxError: %s" % exc.msg
    else:
        what = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    place = filename if line is None else "%s, line %s" % (filename, line)
    hint = ""
    if isinstance(exc, ImportError):
        hint = " (rwsgi runs pure-Python packages only: put them on --pythonpath)"
    return "%s: %s%s" % (place, what, hint)


def _module_name(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem.isidentifier() and stem not in sys.modules and stem not in sys.stdlib_module_names:
        # Registered under its own name, `import stem` elsewhere finds this same module.
        return stem
    return "__rwsgi_app__"


def _load_file(path):
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load %s as Python source" % path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def load(kind, target, callable_name):
    path = os.path.abspath(target) if kind == "file" else None
    try:
        module = _load_file(path) if kind == "file" else importlib.import_module(target)
    except BaseException as exc:
        import traceback

        return None, (_describe(exc, path), traceback.format_exc())
    label = target
    app = getattr(module, callable_name, None)
    if app is None:
        return None, (
            "%s: no callable named %r (name it with --callable or %s:NAME)"
            % (label, callable_name, target),
            "",
        )
    if not callable(app):
        return None, (
            "%s: %r is a %s, not a callable" % (label, callable_name, type(app).__name__),
            "",
        )
    return app, None
