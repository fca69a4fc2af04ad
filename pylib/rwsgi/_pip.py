"""`rwsgi pip ARGS`: pip, run on the embedded interpreter, so pure-Python packages install for
rwsgi's Python (3.14, RustPython) on a machine with no Python at all.

pip is not frozen into the binary (it would add 1.8 MB to every deployment): a pinned release
is downloaded from PyPI on first use, checked against its SHA-256, unpacked into the cache
directory and run from there. Markers and tags are pip's own,
evaluated on this interpreter: Python 3.14, implementation `rustpython`, so compiled wheels for
CPython never match and pure `py3-none-any` wheels do.

pip starts `sys.executable` for the build steps of source-only packages. The rwsgi binary
behaves as `rwsgi python` when started under a name beginning with `python`, so
`sys.executable` is pointed at such a link in the cache directory.
"""

import hashlib
import json
import os
import sys
import urllib.request

PIP_VERSION = "26.1.2"
PIP_WHEEL = "pip-%s-py3-none-any.whl" % PIP_VERSION
PIP_SHA256 = "382ff9f685ee3bc25864f820aa50505825f10f5458ffff07e30a6d96e5715cab"
PIP_INDEX = "https://pypi.org/simple/pip/"
TARGET_OPTIONS = ("-t", "--target", "--prefix", "--root")


class PipError(Exception):
    """A one-line reason `rwsgi pip` cannot start pip."""


def cache_dir():
    explicit = os.environ.get("RWSGI_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "rwsgi")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _wheel_url():
    """The wheel's URL, from PyPI's simple index (JSON form, PEP 691)."""
    request = urllib.request.Request(
        PIP_INDEX, headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        index = json.load(response)
    for entry in index.get("files", ()):
        if entry.get("filename") == PIP_WHEEL:
            return entry["url"]
    raise PipError("%s is not listed at %s" % (PIP_WHEEL, PIP_INDEX))


def pip_wheel(directory):
    """The path of the checked pip wheel, downloading it the first time."""
    path = os.path.join(directory, PIP_WHEEL)
    if os.path.isfile(path) and _sha256(path) == PIP_SHA256:
        return path
    os.makedirs(directory, exist_ok=True)
    sys.stderr.write("rwsgi pip: downloading %s from PyPI (once)\n" % PIP_WHEEL)
    partial = "%s.%d.part" % (path, os.getpid())
    try:
        with urllib.request.urlopen(_wheel_url(), timeout=120) as response:
            with open(partial, "wb") as out:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
        actual = _sha256(partial)
        if actual != PIP_SHA256:
            raise PipError(
                "%s from PyPI has SHA-256 %s, expected %s" % (PIP_WHEEL, actual, PIP_SHA256)
            )
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return path


def pip_tree(directory):
    """pip unpacked from its checked wheel: pip's build steps run pip again as a script, which
    needs pip as files rather than inside a zip."""
    tree = os.path.join(directory, "pip-%s" % PIP_VERSION)
    if os.path.isfile(os.path.join(tree, ".complete")):
        return tree
    import shutil
    import zipfile

    wheel = pip_wheel(directory)
    partial = "%s.%d.part" % (tree, os.getpid())
    try:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(partial)
        with open(os.path.join(partial, ".complete"), "w") as f:
            f.write(PIP_SHA256 + "\n")
        shutil.rmtree(tree, ignore_errors=True)
        os.replace(partial, tree)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return tree


def python_link(directory, executable):
    """A `python3` link to this binary, for the build steps pip runs as `sys.executable`."""
    bindir = os.path.join(directory, "bin")
    link = os.path.join(bindir, "python3")
    os.makedirs(bindir, exist_ok=True)
    if os.path.islink(link) and os.readlink(link) == executable:
        return link
    temporary = "%s.%d" % (link, os.getpid())
    os.symlink(executable, temporary)
    os.replace(temporary, link)
    return link


def _check_install_target(args):
    if "install" not in args:
        return
    for arg in args:
        if arg in TARGET_OPTIONS or any(arg.startswith(o + "=") for o in TARGET_OPTIONS[1:]):
            return
        if arg.startswith("-t") and len(arg) > 2:
            return
    raise PipError(
        "rwsgi pip install needs --target DIR (there is no site-packages to install into); "
        "e.g. rwsgi pip install --target vendor flask, then rwsgi run app.py --pythonpath vendor"
    )


def main():
    args = sys.argv[1:]
    try:
        _check_install_target(args)
        directory = cache_dir()
        tree = pip_tree(directory)
        python = python_link(directory, os.path.realpath(sys.executable))
    except (PipError, OSError) as exc:
        sys.stderr.write("rwsgi: error: %s\n" % exc)
        raise SystemExit(1) from None
    sys.executable = python
    os.environ.setdefault("PIP_ROOT_USER_ACTION", "ignore")
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    sys.path.insert(0, tree)
    sys.argv = ["pip"] + args
    import runpy

    runpy.run_module("pip", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
