#!/usr/bin/env python3
"""Install pure-Python dependencies for rwsgi (RustPython, Python 3.14) with the host's pip.

rwsgi cannot load compiled extensions, and its Python is 3.14 whatever the host runs. So
packages are resolved for Python 3.14 as pure wheels (`py3-none-any`): pip runs with
`--python-version 3.14 --implementation py --abi none --platform any --only-binary=:all:`,
which also makes environment markers such as WebOb's `legacy-cgi; python_version >= "3.13"`
apply. A package that publishes no pure wheel (MarkupSafe, zope.interface, webapp2 3.0.0b1)
is built from its sdist with the host Python, with the usual "no C speedups" switches set;
whatever compiled files the build still produced are dropped and the wheel is retagged
`py3-none-any` into a local wheelhouse that the next resolution round finds. Those packages
all fall back to their pure-Python code when the extension is missing.

Usage:
    python3 apps/vendor.py                    # every apps/*/requirements.txt -> apps/*/vendor
    python3 apps/vendor.py flask django       # only these apps
    python3 apps/vendor.py -r requirements.txt -t vendor   # your own project

Then serve with `rwsgi run app.py --pythonpath vendor`.
"""

import argparse
import base64
import csv
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

APPS = os.path.dirname(os.path.abspath(__file__))
WHEELHOUSE = os.path.join(APPS, ".wheelhouse")
TARGET_PYTHON = "3.14"
# How many sdist-only packages one resolution may need built before giving up.
MAX_BUILDS = 20
# Environment switches that make common packages build without their C extensions.
PURE_ENV = {
    "PURE_PYTHON": "1",  # zope.interface, zope.* packages
    "FALCON_DISABLE_CYTHON": "1",
    "MARKUPSAFE_NO_SPEEDUPS": "1",
    "SQLALCHEMY_DISABLE_CEXT": "1",
    "YARL_NO_EXTENSIONS": "1",
    "MULTIDICT_NO_EXTENSIONS": "1",
    "FROZENLIST_NO_EXTENSIONS": "1",
    "AIOHTTP_NO_EXTENSIONS": "1",
}
COMPILED = (".so", ".pyd", ".dylib", ".dll", ".c", ".h", ".pyx", ".pxd")


def pip(*args, env=None, check=True):
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit("vendor.py: failed: %s" % " ".join(cmd))
    return proc


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [name, "sha256=" + digest, str(len(data))]


def purify(wheel_path, out_dir):
    """Copy a wheel into out_dir as py3-none-any, without compiled files."""
    name = os.path.basename(wheel_path)
    dist, version = name.split("-")[:2]
    pure_name = "%s-%s-py3-none-any.whl" % (dist, version)
    records = []
    with zipfile.ZipFile(wheel_path) as src:
        files = {}
        record_path = None
        for info in src.infolist():
            if info.filename.endswith("/RECORD") and ".dist-info/" in info.filename:
                record_path = info.filename
                continue
            if info.filename.endswith(COMPILED):
                continue
            data = src.read(info.filename)
            if info.filename.endswith(".dist-info/WHEEL"):
                text = data.decode()
                text = re.sub(r"(?m)^Tag: .*\n", "", text)
                text = re.sub(r"(?m)^Root-Is-Purelib: .*$", "Root-Is-Purelib: true", text)
                data = (text.rstrip("\n") + "\nTag: py3-none-any\n").encode()
            files[info.filename] = data
    if record_path is None:
        raise SystemExit("vendor.py: %s has no RECORD" % name)
    out = os.path.join(out_dir, pure_name)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for filename, data in files.items():
            dst.writestr(filename, data)
            records.append(record_line(filename, data))
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerows(records)
        writer.writerow([record_path, "", ""])
        dst.writestr(record_path, buf.getvalue())
    return out


def build_pure(requirement):
    """Build `requirement` from its sdist into the wheelhouse as a pure wheel."""
    os.makedirs(WHEELHOUSE, exist_ok=True)
    print("vendor.py: building a pure wheel for %s from its sdist" % requirement, flush=True)
    env = dict(os.environ, **PURE_ENV)
    with tempfile.TemporaryDirectory() as tmp:
        pip("download", "--no-deps", "--no-binary", ":all:", "--pre", "-d", tmp, requirement)
        sdists = [os.path.join(tmp, f) for f in os.listdir(tmp)]
        built = os.path.join(tmp, "built")
        pip("wheel", "--no-deps", "-w", built, *sdists, env=env)
        for wheel in os.listdir(built):
            purify(os.path.join(built, wheel), WHEELHOUSE)


MISSING = re.compile(r"No matching distribution found for (\S+)")


def marker_extras(target):
    """Requirements of the installed distributions whose markers hold for Python 3.14 but that
    are not installed. pip evaluates markers against the Python it runs on, not against
    --python-version (so WebOb's `legacy-cgi; python_version >= "3.13"` is skipped on a 3.11
    host): this evaluates them for the target instead."""
    from pip._vendor.packaging.markers import default_environment
    from pip._vendor.packaging.requirements import Requirement

    env = dict(default_environment())
    env.update(
        python_version=TARGET_PYTHON,
        python_full_version=TARGET_PYTHON + ".0",
        implementation_name="rustpython",
        platform_python_implementation="RustPython",
        extra="",
    )
    installed = set()
    metadata = []
    for entry in os.listdir(target):
        if entry.endswith(".dist-info"):
            installed.add(norm(entry[: -len(".dist-info")].rsplit("-", 1)[0]))
            path = os.path.join(target, entry, "METADATA")
            if os.path.exists(path):
                metadata.append(path)
    wanted = []
    for path in metadata:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.startswith("Requires-Dist:"):
                    continue
                req = Requirement(line.split(":", 1)[1].strip())
                if req.marker is None or "extra" in str(req.marker):
                    continue
                if req.marker.evaluate(env) and norm(req.name) not in installed:
                    wanted.append(str(req).split(";")[0].strip())
    return wanted


# A copy of the requirements file a vendor directory was installed from, inside it.
STAMP = ".requirements.txt"


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def install(requirements, target):
    """Resolve and install `requirements` into `target`, building pure wheels as needed."""
    built = set()
    extra = []
    while True:
        if extra:
            merged = os.path.join(os.path.dirname(target), ".requirements-3.14.txt")
            with open(requirements) as src, open(merged, "w") as dst:
                dst.write(src.read().rstrip("\n") + "\n" + "\n".join(extra) + "\n")
            source = merged
        else:
            source = requirements
        tmp_target = target + ".new"
        shutil.rmtree(tmp_target, ignore_errors=True)
        proc = pip(
            "install",
            "--quiet",
            "--target",
            tmp_target,
            "--python-version",
            TARGET_PYTHON,
            "--implementation",
            "py",
            "--abi",
            "none",
            "--platform",
            "any",
            "--only-binary=:all:",
            "--find-links",
            WHEELHOUSE,
            "-r",
            source,
            check=False,
        )
        if proc.returncode == 0:
            more = [r for r in marker_extras(tmp_target) if r not in extra]
            if more:
                extra.extend(more)
                continue
            # What was installed, for tests/frameworks.rs to see when requirements.txt changes.
            shutil.copyfile(requirements, os.path.join(tmp_target, STAMP))
            shutil.rmtree(target, ignore_errors=True)
            os.replace(tmp_target, target)
            # Scripts made for the host Python mean nothing to rwsgi.
            shutil.rmtree(os.path.join(target, "bin"), ignore_errors=True)
            print("vendor.py: %s -> %s" % (requirements, target), flush=True)
            return
        shutil.rmtree(tmp_target, ignore_errors=True)
        missing = MISSING.search(proc.stdout + proc.stderr)
        if not missing or missing.group(1) in built or len(built) >= MAX_BUILDS:
            sys.stderr.write(proc.stdout + proc.stderr)
            raise SystemExit("vendor.py: cannot resolve %s for Python %s" % (requirements, TARGET_PYTHON))
        requirement = missing.group(1)
        built.add(requirement)
        # The pin from the requirements file when there is one, else what the resolver asked.
        build_pure(pinned(requirements, requirement))


def pinned(requirements, requirement):
    name = norm(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])
    with open(requirements) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line and norm(re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0]) == name:
                return line
    return requirement


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("apps", nargs="*", help="app directories under apps/ (default: all)")
    parser.add_argument("-r", "--requirements", help="a requirements file (your own project)")
    parser.add_argument("-t", "--target", help="where to install (with -r)")
    args = parser.parse_args()
    if args.requirements:
        install(os.path.abspath(args.requirements), os.path.abspath(args.target or "vendor"))
        return
    names = args.apps or sorted(
        d for d in os.listdir(APPS) if os.path.isfile(os.path.join(APPS, d, "requirements.txt"))
    )
    for name in names:
        app = os.path.join(APPS, name)
        install(os.path.join(app, "requirements.txt"), os.path.join(app, "vendor"))


if __name__ == "__main__":
    main()
