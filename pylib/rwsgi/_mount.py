"""Bundles, the running half: `mount(archive)` runs in each interpreter of a bundled executable
before the app is imported. Modules come from zipimport (the roots are on sys.path as
`<archive>/<root>`); this adds read-only file access under `<archive>/` for what apps read
beside their code: templates, static files, data. `open`, `io.open`, `os.stat`, `os.lstat`,
`os.listdir`, `os.scandir` and `os.access` see the archive's files and directories as a
read-only tree; everything else is untouched. Writing there fails with EROFS. The writing half
(`rwsgi bundle`) is `_bundle`.
"""

import builtins
import errno
import io
import os
import posixpath
import stat
import sys


def _oserror(cls, code, path):
    """An OSError subclass as the os functions raise it: errno, message, path."""
    return cls(code, os.strerror(code), path)


class _Tree:
    """The archive's files and directories, from the index zipimport has already read (or
    reads now), built on first use."""

    def __init__(self, archive):
        import zipimport

        self.archive = archive
        self.files = {}
        self.dirs = {"": set()}
        self._importer = zipimport.zipimporter(archive)
        self.mtime = os.stat(archive).st_mtime
        # name -> (path, compress, data_size, file_size, file_offset, time, date, crc), or None
        # for a directory.
        for name, entry in self._importer._get_files().items():
            if entry is None or name.endswith("/"):
                self._add_dir(name.rstrip("/"))
                continue
            self.files[name] = (entry[3], zipimport._parse_dostime(entry[6], entry[5]))
            parent, _, base = name.rpartition("/")
            self._add_dir(parent)
            self.dirs[parent].add(base)

    def _add_dir(self, name):
        while name not in self.dirs:
            self.dirs[name] = set()
            parent, _, base = name.rpartition("/")
            self.dirs.setdefault(parent, set()).add(base)
            name = parent

    def read(self, name):
        # zipimport opens the archive for each read, so forked workers share no file offset.
        return self._importer.get_data(name)

    def stat(self, name, path):
        if name in self.files:
            size, mtime = self.files[name]
            mode = stat.S_IFREG | 0o444
        elif name in self.dirs:
            size, mtime = 0, self.mtime
            mode = stat.S_IFDIR | 0o555
        else:
            raise _oserror(FileNotFoundError, errno.ENOENT, path)
        ns = int(mtime * 1e9)
        secs = int(mtime)
        return os.stat_result(
            (mode, 0, 0, 1, 0, 0, size, secs, secs, secs, mtime, mtime, mtime, ns, ns, ns)
        )

    def listdir(self, name, path):
        if name in self.dirs:
            return sorted(self.dirs[name])
        if name in self.files:
            raise _oserror(NotADirectoryError, errno.ENOTDIR, path)
        raise _oserror(FileNotFoundError, errno.ENOENT, path)


class _Mount:
    """Which paths are inside the archive; the tree itself is built on the first such path."""

    def __init__(self, archive):
        self.archive = archive
        self.prefix = archive + "/"
        self._tree = None

    @property
    def tree(self):
        if self._tree is None:
            self._tree = _Tree(self.archive)
        return self._tree

    def inner(self, path):
        """The archive name for `path`, or None when the path is not inside the archive."""
        if isinstance(path, int):
            return None
        try:
            path = os.fspath(path)
        except TypeError:
            return None
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not path.startswith(self.prefix):
            return None
        name = posixpath.normpath(path[len(self.prefix):])
        return "" if name == "." else name


class _DirEntry:
    """What os.scandir yields, for an entry inside the archive."""

    def __init__(self, tree, directory, name, path):
        self._tree = tree
        self._inner = (directory + "/" + name) if directory else name
        self.name = name
        self.path = path

    def __fspath__(self):
        return self.path

    def __repr__(self):
        return "<DirEntry %r>" % self.name

    def inode(self):
        return 0

    def is_dir(self, *, follow_symlinks=True):
        return self._inner in self._tree.dirs

    def is_file(self, *, follow_symlinks=True):
        return self._inner in self._tree.files

    def is_symlink(self):
        return False

    def is_junction(self):
        return False

    def stat(self, *, follow_symlinks=True):
        return self._tree.stat(self._inner, self.path)


class _ScandirIterator:
    def __init__(self, entries):
        self._entries = iter(entries)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._entries)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._entries = iter(())


def _install_importer(archive):
    """zipimport, minus its double load: its find_spec asks get_filename for the module's
    path, and get_filename reads and unmarshals the module's code to find out, which exec_module
    then does again. Here find_spec and get_filename answer from the archive's index. For a
    Flask app that was about 10% of the start-up (BENCHMARKS.md)."""
    import zipimport

    from importlib.machinery import ModuleSpec

    class BundleImporter(zipimport.zipimporter):
        def _locate(self, fullname):
            """(module path in the archive, its index entry, is a package), or None."""
            path = zipimport._get_module_path(self, fullname)
            files = self._get_files()
            for suffix, _, is_package in zipimport._zip_searchorder:
                entry = files.get(path + suffix)
                if entry is not None:
                    return path, entry, is_package
            return None

        def find_spec(self, fullname, target=None):
            # The spec spec_from_file_location would build, from one pass over the index.
            found = self._locate(fullname)
            if found is None:
                # Not a module: maybe a namespace package's directory.
                return super().find_spec(fullname, target)
            path, entry, is_package = found
            spec = ModuleSpec(fullname, self, origin=entry[0], is_package=is_package)
            spec.has_location = True
            if is_package:
                spec.submodule_search_locations = ["%s/%s" % (self.archive, path)]
            return spec

        def get_filename(self, fullname):
            found = self._locate(fullname)
            if found is None:
                return super().get_filename(fullname)
            return found[1][0]

    prefix = archive + "/"

    def hook(path):
        if isinstance(path, str) and path.startswith(prefix):
            return BundleImporter(path)
        raise ImportError("not inside the bundle")

    sys.path_hooks.insert(0, hook)
    for path in [p for p in sys.path_importer_cache if isinstance(p, str) and p.startswith(prefix)]:
        del sys.path_importer_cache[path]


def mount(archive):
    """Import from the archive and serve reads under `<archive>/` from it, in this
    interpreter."""
    archive = os.path.abspath(archive)
    _install_importer(archive)
    where = _Mount(archive)
    real_open = io.open
    real_stat = os.stat
    real_lstat = os.lstat
    real_listdir = os.listdir
    real_scandir = os.scandir
    real_access = os.access

    def bundle_open(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None,
                    closefd=True, opener=None):
        name = where.inner(file)
        if name is None:
            return real_open(file, mode, buffering, encoding, errors, newline, closefd, opener)
        tree = where.tree
        if any(c in mode for c in "wax+"):
            raise _oserror(OSError, errno.EROFS, file)
        if name in tree.dirs:
            raise _oserror(IsADirectoryError, errno.EISDIR, file)
        if name not in tree.files:
            raise _oserror(FileNotFoundError, errno.ENOENT, file)
        raw = io.BytesIO(tree.read(name))
        raw.name = os.fspath(file)
        if "b" in mode:
            return raw
        text = io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline=newline)
        text.mode = mode
        return text

    def bundle_stat(path, *, dir_fd=None, follow_symlinks=True):
        name = where.inner(path) if dir_fd is None else None
        if name is None:
            return real_stat(path, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
        return where.tree.stat(name, path)

    def bundle_lstat(path, *, dir_fd=None):
        name = where.inner(path) if dir_fd is None else None
        if name is None:
            return real_lstat(path, dir_fd=dir_fd)
        return where.tree.stat(name, path)

    def bundle_listdir(path="."):
        name = where.inner(path)
        if name is None:
            return real_listdir(path)
        names = where.tree.listdir(name, path)
        return [os.fsencode(n) for n in names] if isinstance(path, bytes) else names

    def bundle_scandir(path="."):
        name = where.inner(path)
        if name is None:
            return real_scandir(path)
        base = os.fspath(path)
        tree = where.tree
        return _ScandirIterator(
            _DirEntry(tree, name, n, posixpath.join(base, n)) for n in tree.listdir(name, path)
        )

    def bundle_access(path, mode, *, dir_fd=None, effective_ids=False, follow_symlinks=True):
        name = where.inner(path) if dir_fd is None else None
        if name is None:
            return real_access(path, mode, dir_fd=dir_fd, effective_ids=effective_ids,
                               follow_symlinks=follow_symlinks)
        tree = where.tree
        return (name in tree.files or name in tree.dirs) and not mode & os.W_OK

    builtins.open = io.open = bundle_open
    os.stat = bundle_stat
    os.lstat = bundle_lstat
    os.listdir = bundle_listdir
    os.scandir = bundle_scandir
    os.access = bundle_access
