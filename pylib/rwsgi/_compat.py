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


def install():
    """Apply every fix once per interpreter."""
    global _installed
    if _installed:
        return
    _installed = True
    _fix_zoneinfo_tzpath()
    _fix_sqlite_decltypes()
