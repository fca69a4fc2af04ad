"""Compatibility fixes for gaps in RustPython 0.6.0 that stock frameworks hit, installed before
any app or script code runs (`install()`, called by _loader and _script). Each fix names its gap
and has a test in tests/frameworks.rs.
"""

import os
import sys

_installed = False

# Where Linux distributions, the BSDs and macOS keep the IANA time-zone database (the list
# CPython's configure uses for its TZPATH default).
_TZ_DIRS = (
    "/usr/share/zoneinfo",
    "/usr/lib/zoneinfo",
    "/usr/share/lib/zoneinfo",
    "/etc/zoneinfo",
)


def _fix_zoneinfo_tzpath():
    """Gap: zoneinfo.TZPATH is empty on RustPython (sysconfig has no TZPATH), so
    ZoneInfo('America/Chicago') fails even with /usr/share/zoneinfo present, and Django pages
    that touch time zones (the admin with USE_TZ) answer 500.

    Fix: point TZPATH at the system database directories that exist (PYTHONTZPATH wins when
    set, as on CPython). Without any, zoneinfo still falls back to the `tzdata` package when
    it is on sys.path: vendor `tzdata` for a machine (or container) with no tz database.
    """
    import zoneinfo

    if zoneinfo.TZPATH:
        return
    env = os.environ.get("PYTHONTZPATH")
    if env:
        dirs = [d for d in env.split(os.pathsep) if os.path.isabs(d)]
    else:
        dirs = [d for d in _TZ_DIRS if os.path.isdir(d)]
    if dirs:
        zoneinfo.reset_tzpath(to=dirs)


def _fix_sqlite_decltypes():
    """Gap: with detect_types=PARSE_DECLTYPES (Django always sets it), any result column with
    no declared type (`select 1`, `count(*)`, an expression, RETURNING) makes RustPython's
    _sqlite3 raise `MemoryError: string pointer is null` (stdlib _sqlite3.rs reads the NULL
    sqlite3_column_decltype as a string).

    Fix: connect() drops PARSE_DECLTYPES and keeps the other flags (PARSE_COLNAMES still
    converts `"x [type]"` columns). Values of declared-type columns then come back as SQLite
    stores them (a datetime as its ISO text); Django's ORM converts those itself through its
    backend's converters (DateTimeField, DateField, TimeField, DecimalField, BooleanField), so
    typed model fields keep their Python types. Only raw cursor queries on declared-type
    columns see the stored text instead of the converted value.
    """
    try:
        import sqlite3
        import sqlite3.dbapi2 as dbapi2
    except ImportError:
        return
    native_connect = dbapi2.connect
    if getattr(native_connect, "_rwsgi_compat", False):
        return
    declared = sqlite3.PARSE_DECLTYPES

    def connect(*args, **kwargs):
        if len(args) >= 3:
            args = list(args)
            args[2] = args[2] & ~declared
        elif "detect_types" in kwargs:
            kwargs["detect_types"] = kwargs["detect_types"] & ~declared
        return native_connect(*args, **kwargs)

    connect._rwsgi_compat = True
    connect.__doc__ = native_connect.__doc__
    connect.__wrapped__ = native_connect
    dbapi2.connect = connect
    sqlite3.connect = connect


def _fix_main_module():
    """Gap: an embedded RustPython interpreter has no sys.modules['__main__'], which CPython
    always has; inspect.getmodule() (hence inspect.stack(), used by pyramid_jinja2's
    includeme and by venusian-style caller lookups) raises KeyError: '__main__'.

    Fix: register an empty `__main__` module, as CPython's server processes (gunicorn,
    mod_wsgi) have one. `rwsgi python` replaces it with the script's module.
    """
    if "__main__" not in sys.modules:
        import builtins
        import types

        main = types.ModuleType("__main__")
        main.__builtins__ = builtins
        sys.modules["__main__"] = main


def _type_allowing_slot_clash(name, bases, namespace, **kwds):
    """type(), but a class variable named `__dict__`/`__weakref__` beside the same name in
    __slots__ is allowed, as CPython allows it (see _fix_slots_dict_conflict)."""
    try:
        return type(name, bases, namespace, **kwds)
    except ValueError as exc:
        slots = namespace.get("__slots__")
        if isinstance(slots, str):
            slots = (slots,)
        if not slots or "conflicts with class variable" not in str(exc):
            raise
        clash = [s for s in ("__dict__", "__weakref__") if s in slots and s in namespace]
        if not clash:
            raise
        namespace = dict(namespace)
        namespace["__slots__"] = tuple(s for s in slots if s not in clash)
        return type(name, bases, namespace, **kwds)


class _Getter:
    """A property getter that is not a plain function: see _unspecialize_property_subclass."""

    def __init__(self, func):
        self.__wrapped__ = func
        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            try:
                self.__dict__[name] = getattr(func, name)
            except AttributeError:
                pass
        self.__dict__.update(getattr(func, "__dict__", {}))

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)


def _overrides_get(cls):
    for klass in cls.__mro__:
        if klass is property:
            return False
        if "__get__" in klass.__dict__:
            return True
    return False


def _unspecialize_property_subclass(cls):
    """Gap: after a few executions, RustPython's LOAD_ATTR specializes an attribute whose class
    descriptor is a property into a direct call of its fget (vm/src/frame.rs,
    LoadAttrProperty). It checks for a property with `downcast_ref`, which a subclass passes,
    so a property subclass that overrides __get__ has its __get__ skipped from the third
    access on. CPython specializes exact properties only. werkzeug's cached_property (Flask's
    app.jinja_env, url_map, Werkzeug's Request.args, .form, .headers...) is such a subclass:
    it recomputed its value on every access, and Flask's render_template built a new Jinja2
    environment, with an empty template cache, on each call (10 ms a page).

    Fix: the specialization only applies when fget is a plain function. Each instance of a
    property subclass that overrides __get__ gets its getter wrapped in a small callable
    (_Getter, which keeps the function's name and doc) right after its __init__, so the
    attribute always goes through the subclass's __get__, as on CPython.
    """
    import types

    original = cls.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        fget = property.fget.__get__(self)
        if type(fget) is types.FunctionType:
            property.__init__(self, _Getter(fget), self.fset, self.fdel, self.__doc__)

    __init__.__wrapped__ = original
    __init__._rwsgi_compat = True
    cls.__init__ = __init__


def _fix_slots_dict_conflict():
    """Gap: RustPython refuses `__slots__ = ('__dict__', ...)` in a class that also defines
    `__dict__` (a property, as werkzeug-style LocalProxy classes do; webapp2_extras.local):
    `ValueError: '__dict__' in __slots__ conflicts with class variable`. CPython exempts
    `__dict__` and `__weakref__` from that check (vm/src/builtins/type.rs does not).

    Fix: classes whose metaclass is plain `type` are built through a function that retries
    without the clashing names in __slots__. The class variable (the property) wins attribute
    lookups on CPython too; what differs is that instances of such a class have no dict of
    their own (object.__setattr__ of a name outside __slots__ raises AttributeError).
    """
    import builtins

    original = builtins.__build_class__
    if getattr(original, "_rwsgi_compat", False):
        return

    def build_class(func, name, *bases, **kwds):
        if "metaclass" not in kwds and all(type(b) is type for b in bases):
            kwds["metaclass"] = _type_allowing_slot_clash
        cls = original(func, name, *bases, **kwds)
        if (
            isinstance(cls, type)
            and issubclass(cls, property)
            and not getattr(cls.__init__, "_rwsgi_compat", False)
            and _overrides_get(cls)
        ):
            _unspecialize_property_subclass(cls)
        return cls

    build_class._rwsgi_compat = True
    builtins.__build_class__ = build_class


def fix_build_config_vars():
    """sysconfig has no LDCXXSHARED (the C++ link command) on RustPython, and setuptools'
    compiler setup asserts that every link variable is set, so building any package with an
    optional C extension (MarkupSafe's speedups) failed with an AssertionError instead of
    failing to compile and falling back to pure Python, as such packages are written to do.
    Called by `rwsgi python` (pip's build steps), not by the server."""
    import sysconfig

    config = sysconfig.get_config_vars()
    if config.get("LDCXXSHARED") is None:
        config["LDCXXSHARED"] = (config.get("CXX") or "c++") + " -shared"


def install():
    """Apply every fix once per interpreter."""
    global _installed
    if _installed:
        return
    _installed = True
    _fix_main_module()
    _fix_slots_dict_conflict()
    _fix_zoneinfo_tzpath()
    _fix_sqlite_decltypes()
