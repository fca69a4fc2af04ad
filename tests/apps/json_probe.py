"""The native JSON encoder (`json.dumps`, `JSONEncoder.encode`) against the pure-Python one
(`JSONEncoder.iterencode`, which builds `_make_iterencode`) on generated values and options.

Each text that encodes is decoded again by the native scanner (`json.loads`) and by the
pure-Python one (`json.scanner.py_make_scanner`).

Usage: json_probe.py SEED COUNT. Prints one JSON line: the number of cases, how many raised,
how many were decoded, and the cases whose text, or exception type, message and notes, or
decoded value differ.
"""

import json
import math
import random
import sys
from collections import OrderedDict, UserList


class ErrorList(UserList, list):
    """Django's shape: items in .data, the list storage left empty."""


class Reversed(list):
    def __iter__(self):
        return reversed(list(super().__iter__()))


class Pair(tuple):
    pass


class Count(int):
    def __repr__(self):
        return "Count!"


class Ratio(float):
    def __repr__(self):
        return "Ratio!"


class Text(str):
    pass


class Items(dict):
    def items(self):
        return sorted(super().items(), key=repr, reverse=True)


class Opaque:
    def __init__(self, n):
        self.n = n


def default(o):
    if isinstance(o, Opaque):
        return {"opaque": o.n} if o.n % 3 else [o.n, str(o.n)]
    raise TypeError(f"no JSON for {type(o).__name__}")


STRINGS = ["", "a", "a\x7fb", "~", "café", "日本", "\U0001f600", "\ud800", "\"\\\n\t\x00\x1f", "</script>", "é" * 3]
FLOATS = [0.0, -0.0, 0.1, 1e300, 1e-300, 123456789.125, math.inf, -math.inf, math.nan, 2.5]


def scalar(r):
    kind = r.randrange(9)
    if kind == 0:
        return None
    if kind == 1:
        return r.random() < 0.5
    if kind == 2:
        return r.choice([0, 1, -1, 2**63, -(2**70), 10**25, 7])
    if kind == 3:
        return r.choice(FLOATS)
    if kind == 4:
        return r.choice(STRINGS) + str(r.randrange(100))
    if kind == 5:
        return Count(r.randrange(-50, 50))
    if kind == 6:
        return Ratio(r.choice(FLOATS))
    if kind == 7:
        return Text(r.choice(STRINGS))
    return Opaque(r.randrange(10)) if r.random() < 0.3 else r.choice(STRINGS)


def key(r):
    kind = r.randrange(8)
    if kind == 0:
        return r.randrange(-5, 5)
    if kind == 1:
        return r.choice(FLOATS[:6])
    if kind == 2:
        return r.choice([True, False, None])
    if kind == 3 and r.random() < 0.2:
        return (1, 2)  # refused unless skipkeys
    return r.choice(STRINGS) + str(r.randrange(20))


def value(r, depth):
    if depth > 4 or r.random() < 0.35:
        return scalar(r)
    kind = r.randrange(8)
    items = [value(r, depth + 1) for _ in range(r.randrange(5))]
    if kind == 0:
        return ErrorList(items)
    if kind == 1:
        return Reversed(items)
    if kind == 2:
        return tuple(items)
    if kind == 3:
        return Pair(items)
    pairs = [(key(r), value(r, depth + 1)) for _ in range(r.randrange(5))]
    if kind == 4:
        return OrderedDict(pairs)
    if kind == 5:
        return Items(pairs)
    if kind == 6:
        return dict(pairs)
    return items


def options(r):
    opts = {}
    if r.random() < 0.3:
        opts["indent"] = r.choice([0, 2, "\t", "--"])
    if r.random() < 0.3:
        opts["sort_keys"] = True
    if r.random() < 0.3:
        opts["skipkeys"] = True
    if r.random() < 0.3:
        opts["allow_nan"] = False
    if r.random() < 0.4:
        opts["ensure_ascii"] = False
    if r.random() < 0.2:
        opts["separators"] = r.choice([(",", ":"), (" ,", " : ")])
    if r.random() < 0.2:
        opts["check_circular"] = False
    if r.random() < 0.5:
        opts["default"] = default
    return opts


def outcome(run):
    try:
        return ["ok", run()]
    except (TypeError, ValueError, RecursionError) as e:
        # The notes name each container's type: CPython's C encoder qualifies it
        # (collections.OrderedDict) and gives a dict item's original key, the pure one does
        # neither; the chain of types is what both must agree on.
        notes = [n.split(" item ")[0].split(" ")[2].rsplit(".", 1)[-1]
                 for n in getattr(e, "__notes__", [])]
        return [type(e).__name__, str(e), notes]


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    r = random.Random(seed)
    mismatches, raised, decoded = [], 0, 0
    # The decoder too: the native scanner (json.loads) against the pure-Python one.
    pure_decoder = json.JSONDecoder()
    pure_decoder.scan_once = json.scanner.py_make_scanner(pure_decoder)
    for case in range(count):
        obj, opts = value(r, 0), options(r)
        native = outcome(lambda: json.JSONEncoder(**opts).encode(obj))
        pure = outcome(lambda: "".join(json.JSONEncoder(**opts).iterencode(obj)))
        raised += native[0] != "ok"
        if native != pure:
            mismatches.append({"case": case, "opts": repr(opts), "obj": repr(obj)[:300],
                               "native": native, "pure": pure})
        elif native[0] == "ok":
            text = native[1]
            loaded = repr(outcome(lambda: json.loads(text)))
            decoded += 1
            if loaded != repr(outcome(lambda: pure_decoder.decode(text))):
                mismatches.append({"case": case, "decode": text[:300], "native": loaded})
    # A list that a default() call shrinks ends early, read in place as CPython reads it.
    a = [object()] * 10

    def shrink(o):
        del a[-1]

    shrunk = json.dumps(a, default=shrink)
    print(json.dumps({"cases": count, "raised": raised, "decoded": decoded,
                      "mismatches": mismatches[:10],
                      "shrunk": shrunk, "errorlist": json.dumps({"name": ErrorList(["required"])})}))


main()
