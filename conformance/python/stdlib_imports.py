#!/usr/bin/env python3
"""Which standard-library modules rwsgi's interpreter cannot import.

    python3 conformance/python/stdlib_imports.py [RWSGI_BIN]

Takes every name in this CPython's `sys.stdlib_module_names` and in the embedded
interpreter's own, runs `RWSGI_BIN python -c "import NAME"` for each in a subprocess of its
own (a crash must not hide the others), and prints one line per module that fails:
`NAME<TAB>what it printed last`. tests/compat.rs holds the result to the README's list of
absent modules.
"""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BIN = os.path.join(
    HERE, "..", "..", "target", "x86_64-unknown-linux-gnu", "debug", "rwsgi"
)


def names(binary):
    ours = subprocess.run(
        [binary, "python", "-c", "import sys, json; print(json.dumps(sorted(sys.stdlib_module_names)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(set(json.loads(ours.stdout)) | set(sys.stdlib_module_names))


def failure(binary, name):
    try:
        run = subprocess.run(
            [binary, "python", "-c", "import " + name],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return "timed out"
    if run.returncode == 0:
        return None
    lines = [l for l in run.stderr.strip().splitlines() if l.strip()]
    last = lines[-1] if lines else ""
    return "exit %d: %s" % (run.returncode, last)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_BIN
    all_names = names(binary)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda n: (n, failure(binary, n)), all_names))
    failed = [(n, why) for n, why in results if why]
    for name, why in failed:
        print("%s\t%s" % (name, why))
    print("# %d of %d modules cannot be imported" % (len(failed), len(all_names)), file=sys.stderr)


if __name__ == "__main__":
    main()
