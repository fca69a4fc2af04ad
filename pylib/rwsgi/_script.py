"""`rwsgi python SCRIPT [args]`, `rwsgi python -c CODE [args]` and `rwsgi python -m MODULE
[args]`: run code as `__main__`, the way `python` does, on rwsgi's interpreter (with the
compatibility layer installed first). A SCRIPT that is a zip archive or a directory runs its
`__main__.py`, as python's does.

`main(kind, target)` returns normally or raises SystemExit: an uncaught exception's traceback
(starting at the script's frame, as python's does) goes to stderr and becomes SystemExit(1)
(130 for KeyboardInterrupt). The Rust side turns SystemExit into the exit status.
"""

import builtins
import os  # imported before any script runs, as CPython's start-up (site) does
import sys
import types


def _main_module(filename):
    module = types.ModuleType("__main__")
    module.__file__ = filename
    module.__builtins__ = builtins
    module.__cached__ = None
    if filename == "<string>":
        del module.__file__
    sys.modules["__main__"] = module
    return module


def _is_zip_or_dir(path):
    if os.path.isdir(path):
        return True
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def main(kind, target):
    if kind == "module" or (kind == "file" and _is_zip_or_dir(target)):
        _run_runpy(kind, target)
        return
    if kind == "code":
        source, filename = target, "<string>"
    else:
        filename = target
        with open(target, "rb") as f:
            source = f.read()
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as exc:
        # As python prints it: the source line and caret, no traceback of ours.
        _print(exc, None)
        raise SystemExit(1) from None
    module = _main_module(filename)
    try:
        exec(code, module.__dict__)
    except SystemExit:
        raise
    except BaseException as exc:
        tb = exc.__traceback__
        # Drop this frame: the traceback starts at the script, as python's does.
        _print(exc, tb.tb_next if tb is not None else None)
        raise SystemExit(130 if isinstance(exc, KeyboardInterrupt) else 1) from None


def _run_runpy(kind, target):
    import runpy

    try:
        if kind == "module":
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv[0] = target
            runpy.run_path(target, run_name="__main__")
    except SystemExit:
        raise
    except BaseException as exc:
        _print(exc, exc.__traceback__)
        raise SystemExit(130 if isinstance(exc, KeyboardInterrupt) else 1) from None


def _print(exc, tb):
    import traceback

    traceback.print_exception(type(exc), exc, tb)
    sys.stderr.flush()
