"""os.path.normpath over every path of up to four components (str and bytes, with 0-3 leading
slashes), a PathLike, a surrogate and the error for a non-path: compared line by line with
CPython's (tests/compat.rs)."""

import itertools
import os
import pathlib
import posixpath

PARTS = ["", ".", "..", "a", "...", "é"]
count = 0
for n in range(1, 5):
    for parts in itertools.product(PARTS, repeat=n):
        for lead in ("", "/", "//", "///"):
            path = lead + "/".join(parts)
            out = posixpath.normpath(path)
            raw = os.path.normpath(path.encode())
            assert raw == out.encode(), (path, raw, out)
            print(ascii(path), ascii(out))
            count += 1
print(count, "paths")
print(ascii(os.path.normpath(pathlib.PurePosixPath("/a/b/../c"))), ascii(os.path.normpath("a/\udcff/../b")),
      ascii(os.path.normpath("\udcff//x/.")), ascii(os.path.abspath("/x/./y/../z")))
try:
    os.path.normpath(1)
except TypeError as e:
    print("TypeError:", e)
