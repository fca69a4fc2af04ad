"""The cases of bench/interp-micro; prints {case: microseconds per operation} (best of 5)."""

import json
import os
import tempfile
import time

RECORDS = [{"id": i, "name": "record %d" % i, "price": i * 1.25, "tags": ["a", "b", "café"],
            "active": i % 2 == 0, "note": None} for i in range(20)]
INTS = json.dumps(list(range(100)))
BODY = json.dumps({"user": "bob", "id": 12345, "items": [{"sku": i, "qty": i % 3 + 1, "price": 9.5}
                                                        for i in range(10)], "note": None})
ROWS = {"rows": [{"id": i, "text": "lorem ipsum dolor sit amet " * 4, "n": [i, i + 1.5, None]}
                 for i in range(2000)]}


def best(fn, n):
    times = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t) / n)
    return min(times) * 1e6


def lines(path):
    with open(path, "rb") as f:
        while f.readline():
            pass


def iterate(path):
    with open(path, "rb") as f:
        for _ in f:
            pass


def main():
    out = {
        "json 20 records": best(lambda: json.dumps(RECORDS), 2000),
        "json 20 records sort+indent": best(lambda: json.dumps(RECORDS, sort_keys=True, indent=2), 1000),
        "json 2000 rows": best(lambda: json.dumps(ROWS), 20),
        "json.loads 100 ints": best(lambda: json.loads(INTS), 2000),
        "json.loads request body": best(lambda: json.loads(BODY), 2000),
        "os.path.normpath": best(lambda: os.path.normpath("/static/./css/../img//logo.png"), 5000),
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "lines.txt")
        with open(path, "w") as f:
            for i in range(200_000):
                f.write("line number %d with some text here\n" % i)
        out["readline 200k lines (per line)"] = best(lambda: lines(path), 1) / 200_000
        out["for line in file (per line)"] = best(lambda: iterate(path), 1) / 200_000
    print(json.dumps(out))


main()
