"""`cProfile` for rwsgi: CPython's deterministic profiler API, on the pure-Python `_lsprof`.

RustPython 0.6.0 (rwsgi's interpreter) has the pure `profile` module but no `cProfile` (and
no `_lsprof`, its C half), so an app that imports cProfile (a CalDAV server does, at module
level) cannot start. This module, frozen into the binary from pylib/, gives the same API:
`Profile` (enable/disable, run/runctx/runcall, `with Profile() as p:`, print_stats,
dump_stats, create_stats), the `run`/`runctx` helpers and `label`, and a command line:

    rwsgi python -m cProfile [-o OUTFILE] [-s SORT] (-m MODULE | SCRIPT) [ARGS]...

Its `stats` dict is what `pstats.Stats` reads (from a Profile or from a dump_stats file):
{(filename, line, name): (primitive calls, calls, inline time, total time, callers)}, where
callers maps each caller's key to (calls, primitive calls, inline time, total time).
Built-in functions are keyed ('~', 0, "<built-in method builtins.len>").
"""

import _lsprof
import sys

__all__ = ["run", "runctx", "Profile"]


def label(code):
    """The pstats key for a profiled code object or built-in name."""
    if isinstance(code, str):
        return ("~", 0, code)
    return (code.co_filename, code.co_firstlineno, code.co_name)


def _show(profiler, filename, sort):
    if filename is not None:
        profiler.dump_stats(filename)
    else:
        profiler.print_stats(sort)


def run(statement, filename=None, sort=-1):
    """Run `statement` (in __main__'s namespace) under a new profiler, then print its
    statistics sorted by `sort`, or save them to `filename` for pstats."""
    profiler = Profile()
    try:
        profiler.run(statement)
    except SystemExit:
        pass
    finally:
        _show(profiler, filename, sort)


def runctx(statement, globals, locals, filename=None, sort=-1):
    """As run(), with the given globals and locals."""
    profiler = Profile()
    try:
        profiler.runctx(statement, globals, locals)
    except SystemExit:
        pass
    finally:
        _show(profiler, filename, sort)


class Profile(_lsprof.Profiler):
    """Profile(timer=None, timeunit=0.0, subcalls=True, builtins=True)

    Builds a profiler object using the specified timer function. The default timer is
    a fast, real-time one; a custom timer returning floats is read as seconds, one
    returning integers is scaled by timeunit (seconds per unit).
    """

    def print_stats(self, sort=-1):
        """Print the statistics (directories stripped) sorted by `sort`: a pstats sort key
        such as 'cumulative', or a tuple of them; -1 keeps the standard order."""
        import pstats

        keys = sort if isinstance(sort, tuple) else (sort,)
        pstats.Stats(self).strip_dirs().sort_stats(*keys).print_stats()

    def dump_stats(self, file):
        """Save the statistics to `file` (marshal format), for pstats.Stats(file)."""
        import marshal

        with open(file, "wb") as out:
            self.create_stats()
            marshal.dump(self.stats, out)

    def create_stats(self):
        """Stop profiling and fill self.stats."""
        self.disable()
        self.snapshot_stats()

    def snapshot_stats(self):
        """Fill self.stats (the dict pstats reads) from what was collected so far."""
        entries = self.getstats()
        stats = {}
        callers_of = {}  # id(code) -> the callers dict of its stats row
        for entry in entries:
            key = label(entry.code)
            calls = entry.callcount
            primitive = calls - entry.reccallcount
            row = stats.get(key)
            if row is None:
                callers = {}
                stats[key] = (primitive, calls, entry.inlinetime, entry.totaltime, callers)
            else:
                # Two code objects with one (file, line, name): one row, as pstats keys it.
                callers = row[4]
                stats[key] = (
                    row[0] + primitive,
                    row[1] + calls,
                    row[2] + entry.inlinetime,
                    row[3] + entry.totaltime,
                    callers,
                )
            callers_of[id(entry.code)] = callers
        for entry in entries:
            if not entry.calls:
                continue
            caller = label(entry.code)
            for sub in entry.calls:
                callers = callers_of.get(id(sub.code))
                if callers is None:
                    continue
                calls = sub.callcount
                primitive = calls - sub.reccallcount
                inline, total = sub.inlinetime, sub.totaltime
                before = callers.get(caller)
                if before is not None:
                    calls += before[0]
                    primitive += before[1]
                    inline += before[2]
                    total += before[3]
                callers[caller] = (calls, primitive, inline, total)
        self.stats = stats

    # -- running things under the profiler --------------------------------------------

    def run(self, cmd):
        """Profile exec(cmd) in __main__'s namespace; returns self."""
        import __main__

        namespace = __main__.__dict__
        return self.runctx(cmd, namespace, namespace)

    def runctx(self, cmd, globals, locals):
        """Profile exec(cmd, globals, locals); returns self."""
        self.enable()
        try:
            exec(cmd, globals, locals)
        finally:
            self.disable()
        return self

    def runcall(self, func, /, *args, **kw):
        """Profile func(*args, **kw); returns what it returns."""
        self.enable()
        try:
            return func(*args, **kw)
        finally:
            self.disable()

    def __enter__(self):
        self.enable()
        return self

    def __exit__(self, *exc_info):
        self.disable()


# -- python -m cProfile ----------------------------------------------------------------------

_USAGE = "cProfile.py [-o output_file_path] [-s sort] [-m module | scriptfile] [arg] ..."


def _parse(argv):
    """(outfile, sort, as_module, the rest) from the command line. Options stop at the first
    argument that is not one (the script, or with -m the module), as python's own do."""
    import pstats

    outfile, sort, as_module = None, -1, False
    rest = list(argv)
    sorts = sorted(pstats.Stats.sort_arg_dict_default)

    def fail(message):
        sys.stderr.write("Usage: %s\n\ncProfile.py: error: %s\n" % (_USAGE, message))
        raise SystemExit(2)

    def value(option, inline):
        if inline is not None:
            return inline
        if not rest:
            fail("%s option requires 1 argument" % option)
        return rest.pop(0)

    while rest:
        arg = rest[0]
        if arg == "--":
            rest.pop(0)
            break
        if not arg.startswith("-") or arg == "-":
            break
        rest.pop(0)
        inline = None
        if arg.startswith("--") and "=" in arg:
            arg, inline = arg.split("=", 1)
        elif not arg.startswith("--") and len(arg) > 2:
            arg, inline = arg[:2], arg[2:]
        if arg in ("-h", "--help"):
            sys.stdout.write(
                "Usage: %s\n\nOptions:\n"
                "  -h, --help            show this help message and exit\n"
                "  -o OUTFILE, --outfile=OUTFILE\n"
                "                        Save stats to <outfile>\n"
                "  -s SORT, --sort=SORT  Sort order when printing to stdout, based on\n"
                "                        pstats.Stats class\n"
                "  -m                    Profile a library module\n" % _USAGE
            )
            raise SystemExit(0)
        if arg in ("-o", "--outfile"):
            outfile = value(arg, inline)
        elif arg in ("-s", "--sort"):
            sort = value(arg, inline)
            if sort not in sorts:
                fail("option -s: invalid choice: %r (choose from %s)" % (sort, ", ".join(map(repr, sorts))))
        elif arg == "-m":
            as_module = True
            if inline is not None:  # -mMODULE
                rest.insert(0, inline)
                break
        else:
            fail("no such option: %s" % arg)
    return outfile, sort, as_module, rest


def main():
    """`python -m cProfile [-o outfile] [-s sort] (-m module | scriptfile) [args...]`."""
    import os

    outfile, sort, as_module, rest = _parse(sys.argv[1:])
    if not rest:
        sys.stdout.write("Usage: %s\n" % _USAGE)
        return

    sys.argv[:] = rest
    if as_module:
        import runpy

        code = "run_module(modname, run_name='__main__', alter_sys=True)"
        namespace = {"run_module": runpy.run_module, "modname": rest[0]}
        _run_and_report(code, namespace, outfile, sort)
        return

    import builtins
    import importlib.machinery
    import io
    import types

    script = rest[0]
    sys.path.insert(0, os.path.dirname(script))
    with io.open_code(script) as source:
        code = compile(source.read(), script, "exec")
    # The script runs as __main__, as python runs it (pickle and inspect look it up there).
    main_module = types.ModuleType("__main__")
    main_module.__dict__.update(
        __spec__=importlib.machinery.ModuleSpec("__main__", None, origin=script),
        __file__=script,
        __package__=None,
        __cached__=None,
        __builtins__=builtins,
    )
    previous = sys.modules.get("__main__")
    sys.modules["__main__"] = main_module
    try:
        _run_and_report(code, main_module.__dict__, outfile, sort)
    finally:
        if previous is not None:
            sys.modules["__main__"] = previous


def _run_and_report(code, namespace, outfile, sort):
    try:
        runctx(code, namespace, None, outfile, sort)
    except BrokenPipeError as exc:
        # stdout closed early (| head): exit quietly.
        sys.stdout = None
        raise SystemExit(exc.errno)


if __name__ == "__main__":
    main()
