"""Answers JSON saying whether each part of cProfile works on rwsgi's interpreter (RustPython
0.6.0 has no cProfile or _lsprof; pylib/cProfile.py and pylib/_lsprof.py provide them). Run as
`rwsgi python tests/apps/cprofile_probe.py`: prints one JSON object of named booleans, all
true when the profiler counts as CPython's does."""

import contextlib
import io
import json
import os
import sys
import tempfile


def leaf(i):
    return i * 2


def middle(i):
    return leaf(i) + 1


def top(i):
    return middle(i)


def nested_loop(n):
    total = 0
    for i in range(n):
        total += top(i)
    return total


def fact(n):
    return 1 if n <= 1 else n * fact(n - 1)


def ping(n):
    return n if n <= 0 else pong(n - 1)


def pong(n):
    return n if n <= 0 else ping(n - 1)


def boom(n):
    if n == 0:
        raise ValueError("down here")
    boom(n - 1)


def catcher():
    caught = 0
    for _ in range(3):
        try:
            boom(2)
        except ValueError:
            caught += 1
    return caught


def numbers(n):
    for i in range(n):
        yield i


def uses_builtins():
    items = []
    for i in range(4):
        items.append(len(str(i)))
    return sorted(items)


def row(stats, name):
    """The stats row of this file's function `name`."""
    for key, value in stats.items():
        if key[2] == name and key[0] == __file__:
            return value
    return None


def builtin_row(stats, text):
    return stats.get(("~", 0, text))


def caller_counts(stats, name):
    found = row(stats, name)
    return {key[2]: value[0] for key, value in found[4].items()} if found else None


def consistent(stats):
    # cumulative >= inline >= 0, and primitive calls <= calls, for every row.
    for cc, nc, tt, ct, callers in stats.values():
        if not (0 <= cc <= nc and tt >= -1e-9 and ct >= tt - 1e-9):
            return False
    return True


def probe():
    out = {}
    import _lsprof
    import cProfile
    import pstats

    out["import"] = issubclass(cProfile.Profile, _lsprof.Profiler) and callable(cProfile.run)

    # enable/disable: a function three calls deep inside a loop is counted every time.
    prof = cProfile.Profile()
    prof.enable()
    nested_loop(25)
    prof.disable()
    prof.create_stats()
    stats = prof.stats
    out["nested_ncalls"] = all(row(stats, name)[1] == 25 for name in ("top", "middle", "leaf"))
    out["nested_callers"] = (
        caller_counts(stats, "leaf") == {"middle": 25}
        and caller_counts(stats, "middle") == {"top": 25}
        and caller_counts(stats, "top") == {"nested_loop": 25}
    )
    out["disable_recorded"] = builtin_row(stats, "<method 'disable' of '_lsprof.Profiler' objects>") is not None
    out["times_consistent"] = consistent(stats)

    # Recursion: 10 calls, 1 primitive; the total time is counted once, not per level.
    prof = cProfile.Profile()
    result = prof.runcall(fact, 10)
    prof.create_stats()
    fact_row = row(prof.stats, "fact")
    total = sum(value[2] for value in prof.stats.values())
    out["runcall_result"] = result == 3628800
    out["recursion_counts"] = fact_row is not None and fact_row[:2] == (1, 10)
    out["recursion_time_once"] = fact_row is not None and fact_row[3] <= total + 1e-9
    out["recursion_self_caller"] = caller_counts(prof.stats, "fact") == {"fact": 9}

    # Mutual recursion, exceptions unwinding frames, generators, built-ins.
    prof = cProfile.Profile()
    with contextlib.redirect_stdout(io.StringIO()):
        prof.runctx("ping(7); catcher(); sum(numbers(5)); uses_builtins()", globals(), None)
    prof.create_stats()
    stats = prof.stats
    out["runctx_mutual_recursion"] = row(stats, "ping")[:2] == (1, 4) and row(stats, "pong")[:2] == (1, 4)
    out["exceptions_counted"] = row(stats, "boom")[:2] == (3, 9) and row(stats, "catcher")[:2] == (1, 1)
    # A generator counts a call per resumption: 5 values and the final StopIteration.
    out["generator_resumptions"] = row(stats, "numbers")[1] == 6
    append = builtin_row(stats, "<method 'append' of 'list' objects>")
    length = builtin_row(stats, "<built-in method builtins.len>")
    out["builtins_recorded"] = append is not None and append[1] == 4 and length is not None and length[1] == 4
    out["runctx_consistent"] = consistent(stats)

    # Call sites already run often (RustPython specializes them, and a specialized call of
    # len or list.append sends the profile hook nothing) are still counted in full.
    for _ in range(50):
        uses_builtins()
    prof = cProfile.Profile()
    for _ in range(10):
        prof.runcall(uses_builtins)
    prof.create_stats()
    append = builtin_row(prof.stats, "<method 'append' of 'list' objects>")
    length = builtin_row(prof.stats, "<built-in method builtins.len>")
    out["warm_call_sites"] = append is not None and append[1] == 40 and length is not None and length[1] == 40

    # As CPython: built-ins called by built-ins (sorted's key=len) and classes called are not
    # reported; Python code called from a built-in is, with the built-in as its caller.
    prof = cProfile.Profile()
    prof.runcall(lambda: (sorted(["bb", "a"], key=len), list(map(abs, [-1])), sorted([2, 1], key=leaf), str(5)))
    prof.create_stats()
    keys = [key[2] for key in prof.stats]
    out["builtin_callbacks"] = (
        "<built-in method builtins.len>" not in keys
        and "<built-in method builtins.abs>" not in keys
        and not any("class" in key for key in keys)
        and caller_counts(prof.stats, "leaf") == {"<built-in method builtins.sorted>": 2}
    )

    # builtins=False leaves built-ins out.
    prof = cProfile.Profile(builtins=False)
    prof.runcall(uses_builtins)
    prof.create_stats()
    out["builtins_off"] = row(prof.stats, "uses_builtins") is not None and all(
        key[0] != "~" for key in prof.stats
    )

    # The with form, then print_stats (to stdout, captured) and pstats with a stream.
    with cProfile.Profile() as prof:
        nested_loop(5)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        prof.print_stats("cumulative")
    text = printed.getvalue()
    out["with_print_stats"] = "function calls" in text and "(leaf)" in text and "Ordered by: cumulative" in text
    stream = io.StringIO()
    with cProfile.Profile() as prof:
        nested_loop(5)
    view = pstats.Stats(prof, stream=stream)
    view.strip_dirs().sort_stats("tottime", "calls").print_stats(5)
    view.print_callers("leaf")
    view.print_callees("middle")
    text = stream.getvalue()
    out["pstats_stream"] = "(leaf)" in text and "was called by" in text and "called..." in text

    # dump_stats to a file, read back by pstats; cProfile.run with a filename.
    prof = cProfile.Profile()
    prof.runcall(nested_loop, 7)
    fd, path = tempfile.mkstemp(suffix=".prof")
    os.close(fd)
    try:
        prof.dump_stats(path)
        loaded = pstats.Stats(path).stats
        out["dump_stats_roundtrip"] = loaded == prof.stats and row(loaded, "leaf")[1] == 7
        globals_ = {"nested_loop": nested_loop}
        cProfile.runctx("nested_loop(3)", globals_, None, filename=path)
        out["runctx_to_file"] = row(pstats.Stats(path).stats, "leaf")[1] == 3
    finally:
        os.unlink(path)

    # Module-level run() prints to stdout; sort may be a pstats key.
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        cProfile.runctx("nested_loop(2)", globals(), None, sort="ncalls")
    out["module_runctx_prints"] = "Ordered by: call count" in printed.getvalue()

    # enable() while already inside calls: what was running then is not counted.
    prof = cProfile.Profile()

    def start_inside():
        prof.enable()
        return nested_loop(4)

    start_inside()
    leaf(1)
    prof.disable()
    prof.create_stats()
    out["enable_inside_call"] = row(prof.stats, "leaf")[1] == 5 and all(
        key[2] != "start_inside" for key in prof.stats
    )

    # getstats(): struct-sequence-like entries.
    prof = _lsprof.Profiler()
    prof.enable()
    fact(4)
    prof.disable()
    entries = prof.getstats()
    fact_entry = [entry for entry in entries if getattr(entry.code, "co_name", None) == "fact"]
    out["getstats_shape"] = (
        len(fact_entry) == 1
        and isinstance(fact_entry[0], tuple)
        and type(fact_entry[0]).__name__ == "profiler_entry"
        and fact_entry[0].callcount == 4
        and fact_entry[0].reccallcount == 3
        and fact_entry[0].calls[0].code is fact_entry[0].code
        and fact_entry[0].calls[0].callcount == 3
        and len(fact_entry[0]) == 6
    )
    prof.clear()
    out["clear"] = prof.getstats() == []

    # A custom integer timer with a time unit.
    ticks = [0]

    def clock():
        ticks[0] += 1
        return ticks[0]

    prof = cProfile.Profile(clock, 0.5)
    prof.runcall(leaf, 3)
    prof.create_stats()
    leaf_row = row(prof.stats, "leaf")
    out["custom_timer"] = leaf_row is not None and leaf_row[2] > 0 and (leaf_row[2] / 0.5) == int(leaf_row[2] / 0.5)

    # Profiling stopped: no hook left behind.
    monitoring = getattr(sys, "monitoring", None)
    out["hook_removed"] = sys.getprofile() is None and (
        monitoring is None or monitoring.get_tool(monitoring.PROFILER_ID) is None
    )
    return out


def application(environ, start_response):
    body = json.dumps(probe()).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


if __name__ == "__main__":
    print(json.dumps(probe()))
