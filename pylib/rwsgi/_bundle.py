"""Bundles, the writing half: `build(...)` is `rwsgi bundle`. It copies the binary, then writes
every file of each root into a zip archive appended to it, with each module's source and its
precompiled bytecode (an unchecked hash-based .pyc, so zipimport never recompiles). The archive
comment, made by the Rust side, marks the file as a bundle. The running half, which imports and
reads from the archive in a bundled executable, is `_mount`.
"""

import marshal
import os
import sys
import time

from importlib.util import MAGIC_NUMBER

try:
    import _imp
except ImportError:  # pragma: no cover
    _imp = None

# Skipped when bundling: version control, caches, virtualenvs' own files, editor and OS
# clutter. Names starting with "." are skipped too (they are often secrets: .env).
SKIP_DIRS = {"__pycache__", "node_modules"}
SKIP_SUFFIXES = (".pyc", ".pyo")
PROGRESS_EVERY = 2.0


class BundleError(Exception):
    """A one-line reason `rwsgi bundle` stopped."""


def _pyc(source, name):
    """The bytecode file for `source`, or None when it does not compile (stored as source only;
    importing it raises the SyntaxError as it would from a directory)."""
    try:
        code = compile(source, name, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None
    flags = (1).to_bytes(4, "little")  # hash-based, not checked against the source
    if _imp is not None and hasattr(_imp, "source_hash"):
        digest = _imp.source_hash(int.from_bytes(MAGIC_NUMBER, "little"), source)
    else:
        digest = b"\0" * 8
    return MAGIC_NUMBER + flags + digest + marshal.dumps(code)


def _walk(directory, output):
    """(path, name relative to directory) of every file to bundle, sorted, skipping
    virtualenvs, hidden names, caches and the output file itself. A --pythonpath directory
    inside the app's is stored once, with the app."""
    for top, dirs, files in os.walk(directory):
        if top != directory and os.path.exists(os.path.join(top, "pyvenv.cfg")):
            dirs[:] = []
            continue
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in SKIP_DIRS
        )
        for name in sorted(files):
            path = os.path.join(top, name)
            if name.startswith(".") or name.endswith(SKIP_SUFFIXES) or path == output:
                continue
            yield path, os.path.relpath(path, directory).replace(os.sep, "/")


class _Progress:
    def __init__(self):
        self.files = 0
        self.bytes = 0
        self.compiled = 0
        self.last = time.monotonic()

    def add(self, size, compiled):
        self.files += 1
        self.bytes += size
        self.compiled += compiled
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY:
            self.last = now
            self.report("...")

    def report(self, lead):
        sys.stderr.write(
            "rwsgi bundle: %s %d files, %.1f MB read, %d modules compiled\n"
            % (lead, self.files, self.bytes / 1e6, self.compiled)
        )
        sys.stderr.flush()


def build(exe, base_len, output, comment, roots, module):
    """Write `output`: the first `base_len` bytes of `exe`, then the archive of `roots`, a list
    of (name in archive, directory or None when already inside an earlier root)."""
    if module in sys.stdlib_module_names or module in sys.builtin_module_names:
        raise BundleError(
            "the app module `%s` has the name of a standard-library module, which would be "
            "imported instead; rename it" % module
        )
    output = os.path.abspath(output)
    partial = output + ".part"
    import zipfile

    progress = _Progress()
    try:
        with open(partial, "wb") as out:
            with open(exe, "rb") as binary:
                left = base_len
                while left:
                    chunk = binary.read(min(left, 1 << 20))
                    if not chunk:
                        raise BundleError("%s is shorter than expected" % exe)
                    out.write(chunk)
                    left -= len(chunk)
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
                for name, directory in roots:
                    if directory is None:
                        continue
                    for path, rel in _walk(directory, output):
                        _add(archive, path, "%s/%s" % (name, rel), progress)
                archive.comment = comment.encode()
        os.chmod(partial, 0o755)
        os.replace(partial, output)
    except BaseException:
        try:
            os.unlink(partial)
        except OSError:
            pass
        raise
    progress.report("wrote %s:" % output)
    size = os.path.getsize(output)
    sys.stderr.write(
        "rwsgi bundle: %s is %.1f MB (rwsgi %.1f MB + archive %.1f MB); run it as ./%s\n"
        % (
            output,
            size / 1e6,
            base_len / 1e6,
            (size - base_len) / 1e6,
            os.path.basename(output),
        )
    )


def _add(archive, path, name, progress):
    """Store one file; a module also as its precompiled .pyc."""
    import zipfile  # not at the top: a bundled server imports this module, never zipfile

    with open(path, "rb") as f:
        data = f.read()
    info = zipfile.ZipInfo.from_file(path, name)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)
    compiled = 0
    if name.endswith(".py"):
        pyc = _pyc(data, name)
        if pyc is not None:
            pyc_info = zipfile.ZipInfo(name + "c", info.date_time)
            # Stored, not deflated: imports skip the inflate step (measured: about 15 ms of a
            # Flask app's 250 ms import), for a bundle about 1 MB larger.
            pyc_info.compress_type = zipfile.ZIP_STORED
            archive.writestr(pyc_info, pyc)
            compiled = 1
    progress.add(len(data), compiled)


# ---------------------------------------------------------------------------------------------
# Reading files out of a running bundle.
