"""The pinned packages that conformance/python/run tests, in the order it runs them.

Each entry:
  name, version   the PyPI project and its exact version; the sdist is where the tests live
  tests           paths (relative to the unpacked sdist) given to pytest
  requires        test-only requirements, pinned, installed with the package as pure wheels
  install         what to install instead of NAME==VERSION (rarely needed)
  args            extra pytest arguments
  deselect        [(pytest node id, why)]: tests that need something no machine here has
  pythonpath      folders of the sdist to put on PYTHONPATH after the installed packages
                  (where the tests import helpers that are not installed)
  limit           wall-clock seconds for the whole rwsgi run (CPython gets half)
  min_percent     exit status 1 when rwsgi passes fewer than this % of the tests that pass on
                  CPython: the measured value minus a small margin (see RESULTS.md)
  kind            "pytest" (default), "django" (tests/runtests.py), "unittest" (-m unittest -v
                  LABEL, one process per label)
  labels          for "django" and "unittest": what to run, one process each
  cpython_tests   the tests are CPython's own Lib/test (no sdist)
  same_test       [(regex, replacement)] applied to test ids of both runs before comparing
"""

# pytest and the plugins the runner uses, the same for every package.
RUNNER_REQUIREMENTS = [
    "pytest==8.4.2",
    "pluggy==1.6.0",
    "iniconfig==2.1.0",
    "packaging==25.0",
    "pygments==2.19.2",
    "pytest-timeout==2.4.0",
]

# The CI subset (--fast): small suites that finish in a few minutes on 2 cores with the
# debug binary.
FAST = ["MarkupSafe", "itsdangerous", "click"]

PACKAGES = [
    {
        "name": "MarkupSafe",
        "version": "3.0.3",
        "tests": ["tests"],
        "limit": 600,
        "min_percent": 97,  # 100.0% measured (debug build, 2026-12-02)
    },
    {
        "name": "itsdangerous",
        "version": "2.2.0",
        "tests": ["tests"],
        "requires": ["freezegun==1.5.5", "python-dateutil==2.9.0.post0", "six==1.17.0"],
        "limit": 600,
        "min_percent": 98,  # 100.0% measured (debug build, 2026-12-02)
    },
    {
        "name": "click",
        "version": "8.3.1",
        "tests": ["tests"],
        "limit": 900,
        "min_percent": 97,  # 99.7% measured (debug build, 2026-12-02)
    },
    {
        "name": "Jinja2",
        "version": "3.1.6",
        "tests": ["tests"],
        "requires": ["MarkupSafe==3.0.3", "trio==0.31.0"],
        "limit": 1200,
        "min_percent": 97,  # 99.4% measured (debug build, 2026-12-02)
    },
    {
        "name": "Werkzeug",
        "version": "3.1.9",
        "tests": ["tests"],
        "requires": ["MarkupSafe==3.0.3", "ephemeral-port-reserve==1.1.4"],
        # The dev_server tests start `sys.executable tests/live_apps/run.py` with PYTHONPATH
        # replaced by a temporary folder, so the child finds werkzeug only in a real
        # site-packages: this harness installs into a folder put on PYTHONPATH, so the child
        # cannot import werkzeug on either interpreter and each of those tests hangs until the
        # per-test timeout. cryptography (adhoc TLS certs) and watchdog (reloader) are compiled
        # and not installed; the tests that use them skip themselves.
        "args": ["-m", "not dev_server"],
        "limit": 1800,
        "min_percent": 97,  # 99.5% measured (debug build, 2026-12-02)
    },
    {
        "name": "Flask",
        "version": "3.1.3",
        "tests": ["tests"],
        "requires": [
            "Werkzeug==3.1.9", "Jinja2==3.1.6", "itsdangerous==2.2.0", "click==8.3.1",
            "blinker==1.9.0", "MarkupSafe==3.0.3", "asgiref==3.9.1", "python-dotenv==1.1.1",
        ],
        "limit": 1200,
        "min_percent": 96,  # 99.0% measured (debug build, 2026-12-02)
    },
    {
        "name": "bottle",
        "version": "0.13.4",
        "tests": ["test"],
        "limit": 900,
        "min_percent": 97,  # 100.0% measured (debug build, 2026-12-02)
    },
    {
        "name": "WebOb",
        "version": "1.8.9",
        "tests": ["tests"],
        "limit": 1200,
        "min_percent": 97,  # 99.8% measured (debug build, 2026-12-02)
    },
    {
        "name": "requests",
        "version": "2.32.5",
        "tests": ["tests"],
        # Offline only: pytest-httpbin (a live httpbin app) and trustme (needs the compiled
        # cryptography package) are not installed, so the tests that use their fixtures error
        # on both interpreters and drop out of the comparison. Everything else runs,
        # including test_lowlevel's servers on 127.0.0.1.
        "requires": [
            "urllib3==2.5.0", "idna==3.10", "charset-normalizer==3.4.3", "certifi==2025.8.3",
            "PySocks==1.7.1",
        ],
        "args": ["-p", "no:doctest", "-o", "addopts="],
        "limit": 1200,
        "min_percent": 97,  # 99.5% measured (debug build, 2026-12-02)
    },
    {
        "name": "urllib3",
        "version": "2.5.0",
        # The unit tests only. test/conftest.py imports trustme (the compiled cryptography
        # package) and dummyserver's hypercorn/quart servers, which are not installed, so it is
        # skipped (--noconftest) and with_dummyserver/ (live HTTP/TLS servers), test_ssl*.py
        # and contrib/ (TLS, emscripten, pyopenssl, socks servers) are not run.
        "tests": [
            "test/test_collections.py", "test/test_exceptions.py", "test/test_fields.py",
            "test/test_filepost.py", "test/test_response.py", "test/test_retry.py",
            "test/test_util.py", "test/test_poolmanager.py", "test/test_proxymanager.py",
            "test/test_queue_monkeypatch.py", "test/test_wait.py", "test/test_connection.py",
            "test/test_connectionpool.py", "test/test_compatibility.py", "test/test_no_ssl.py",
        ],
        "requires": ["idna==3.10"],
        "args": ["--noconftest", "-o", "addopts="],
        "limit": 1200,
        "min_percent": 96,  # 99.1% measured (debug build, 2026-12-02)
    },
    {
        "name": "pg8000",
        "version": "1.31.5",
        # Offline unit tests only: test/dbapi, test/legacy and test/native connect to a
        # PostgreSQL server (none here).
        # (--noconftest: test/native/conftest.py's fixtures connect.)
        "tests": ["test/test_converters.py", "test/test_types.py", "test/test_utils.py",
                  "test/native/test_core.py", "test/native/test_import_all.py"],
        "requires": ["pytest-mock==3.15.1"],
        "args": ["--noconftest"],
        "limit": 600,
        "min_percent": 97,  # 100.0% measured (debug build, 2026-12-02)
    },
    {
        "name": "SQLAlchemy",
        "version": "2.1.9",
        # test/base (core utilities, events, result objects) and test/sql (SQL compilation and
        # execution) against the default in-memory sqlite database. test/conftest.py puts the
        # sdist's lib/ first on sys.path: the same version, pure Python (no C extensions built).
        "tests": ["test/base", "test/sql"],
        "requires": ["typing-extensions==4.15.0"],
        "args": ["-o", "addopts=-p warnings -p logging --strict-markers", "--dburi", "sqlite://"],
        # Test class names carry the sqlite library's version (CPython's _sqlite3 and rwsgi's
        # sqlite3 link different ones): compare them without it.
        "same_test": [(r"_sqlite\+pysqlite_[0-9_]+::", "_sqlite+pysqlite::")],
        "limit": 2400,
        "min_percent": 97,  # 99.7% measured (debug build, 2026-12-02)
    },
    {
        "name": "Django",
        "version": "5.2.19",
        "kind": "django",
        # tests/runtests.py (not pytest), one label at a time, --parallel=1, sqlite in memory.
        # utils_tests.test_archive runs on its own: on rwsgi (debug build) it kills the
        # interpreter (a Rust panic in the xz decoder when tarfile probes a plain tar as
        # lzma), which would take the rest of utils_tests with it.
        "labels": [
            "template_tests", "utils_tests -utils_tests.test_archive", "utils_tests.test_archive",
            "httpwrappers", "requests_tests", "middleware",
            "sessions_tests", "auth_tests -auth_tests.test_views", "auth_tests.test_views",
            "forms_tests", "model_fields", "queries",
        ],
        # auth_tests.test_views runs on its own too: on rwsgi its first admin page test hangs
        # (copy.copy(super()) returns the super object, Context.__copy__ fails, and the debug
        # error page reprs the whole template context, for many minutes), so it gets at most
        # label_limit seconds and takes only itself down.
        "label_limit": 600,
        # Pillow, argon2-cffi, bcrypt, numpy and PyYAML's C loader are compiled: the tests
        # that need them are skipped by Django itself on both interpreters.
        "requires": ["asgiref==3.9.1", "sqlparse==0.5.3", "Jinja2==3.1.6", "MarkupSafe==3.0.3",
                     "tzdata==2025.2"],
        "limit": 3600,
        "min_percent": 97,  # 99.1% measured (debug build, 2026-12-02)
    },
    {
        "name": "stdlib",
        # CPython's own test modules for the stdlib parts rwsgi apps lean on, taken from the
        # comparison CPython's Lib/test (copied into .cache/src/cpython-test-VERSION so that
        # both interpreters import it as the `test` package) and run with
        # `-m unittest -v test.MODULE`, one process per module: they rely on unittest's
        # load_tests protocol (test_json, test_decimal and test_datetime run their
        # pure-Python and C variants that way), which pytest ignores. Version: the CPython
        # they come from; they are 3.13's tests, while rwsgi has 3.14 semantics.
        "version": "3.13.0",
        "kind": "unittest",
        "cpython_tests": True,
        "install": [],
        "labels": [
            "test.test_re", "test.test_json", "test.test_sqlite3", "test.test_xml_etree",
            "test.test_email", "test.test_http_cookies", "test.test_urlparse",
            "test.test_datetime", "test.test_zoneinfo", "test.test_decimal",
            "test.test_hashlib", "test.test_hmac", "test.test_base64", "test.test_struct",
            "test.test_logging", "test.test_csv", "test.test_html", "test.test_gzip",
            "test.test_zlib", "test.test_uuid", "test.test_tempfile", "test.test_string",
            "test.test_textwrap",
            # More of what web apps and their tools lean on (added 2026-12-03, after a trial
            # run of each module: the differences are named in causes.py).
            "test.test_wsgiref", "test.test_http_cookiejar", "test.test_mimetypes",
            "test.test_urllib2", "test.test_httplib", "test.test_smtplib", "test.test_quopri",
            "test.test_configparser", "test.test_tomllib", "test.test_gettext",
            "test.test_posixpath", "test.test_ipaddress", "test.test_secrets",
            "test.test_collections", "test.test_copy", "test.test_pprint", "test.test_codecs",
            "test.test_queue", "test.test_threading_local", "test.test_shlex",
        ],
        "requires": ["tzdata==2025.2"],
        # test_datetime takes about 23 minutes under the debug build (5 under release).
        "limit": 3600,
        "label_limit": 1500,
        "min_percent": 88,  # 91.2% measured (release build, 2026-12-02); 79.8% on the debug build, whose test_datetime and test_sqlite3 were cut at label_limit
    },
]
