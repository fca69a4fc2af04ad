"""The named root causes of the rwsgi-only failures that conformance/python/run reports.

CAUSES maps a package name (as in packages.py) to [(regex, cause)]. A failing test whose id
matches the regex (re.search), or whose normalised message does (the pattern is also searched
in "message: " + the message group), is reported under that cause, in bold, instead of under
its exception message. Each cause says what it is: a known gap of RustPython (with its row in
README.md's "Where RustPython differs" or in conformance/python/README.md's root causes), a
CPython 3.14 change (these are 3.13's tests; rwsgi is 3.14), a C accelerator or C API that
rwsgi does not have, a test that skips itself off CPython, or a flake. The first match wins.
"""

# Shared wordings.
AST_SURROGATE = ("known gap: a lone surrogate in an AST string constant becomes U+FFFD when "
                 "compiling the AST (pytest's assertion rewriting)")
IMPORT_TRACEBACK = ("known gap: import tracebacks keep importlib's frozen frames (Flask's "
                    "locate_app reads them)")
SKIPS_OFF_CPYTHON = "the test skips itself on any interpreter but CPython"
ZLIB_FLUSH = ("known gap: zlib decompressobj().flush() after a failed decompress raises "
              "'repeated call with bad state' (RustPython's zlib back end)")
EAGER_NAME = ("known gap: RustPython computes a callable's name (its repr, for a partial) on "
              "every call that unpacks keyword arguments; Django's test client makes that "
              "repr cost every context rendered so far, past the 60 s per-test limit")

EAGER_NAME_ASYNC = ("known gap: RustPython computes a callable's name on every call that unpacks "
                    "arguments, which for an object with __call__ is its repr(); Jinja2's "
                    "async LoopContext repr reads an async property: a coroutine never awaited")
NO_BUILTIN_DOCS = ("known gap: builtin types have no docstrings (RustPython's doc feature is "
                   "not built in)")
NEWER_WSGIREF = ("newer stdlib: wsgiref.headers refuses control characters in header values "
                 "(CPython's gh-143916 security fix, 2026; the comparison CPython 3.13.0 is older)")
FILEIO_EISDIR = ("known gap: open(a directory) leaves the half-built FileIO's fd open until it "
                 "is collected (a ResourceWarning); CPython closes it at once")
BUFFER_SIZE = ("known gap: io.DEFAULT_BUFFER_SIZE and BufferedReader's default buffer are "
               "128 KiB (CPython 3.15's value; 3.13/3.14: 8 KiB), so a BufferedReader over a "
               "short stream asks its raw stream for more than is there")
STRICT_AKI = ("known gap: with VERIFY_X509_STRICT (ssl.create_default_context) RustPython's "
              "rustls verifier requires an Authority Key Identifier on a self-signed root sent "
              "in the chain; OpenSSL exempts it")
READLINE_CLOSED = ("known gap: BufferedReader.readline on a closed stream says 'read of closed "
                   "file' (CPython: 'readline of closed file'); RustPython's readline is the "
                   "generic one, a read(1) per byte")

IDENTITY = ("the interpreter reports itself as RustPython (platform.python_implementation(), "
            "sys.implementation.name): the test skips itself, or the code takes its "
            "non-CPython branch")
GIL_DISABLED = ("known gap: sysconfig says Py_GIL_DISABLED = 1 (RustPython has no GIL) while "
                "sys.version does not say 'free-threading build'; SQLAlchemy then leaves out "
                "its GIL-only test configurations")
DICT_EQ_ORDER = ("fixed since this run (patch/dict_subclass.rs): dict == asked the right-hand "
                 "value's __eq__ first")
LOCAL_DEL = ("known gap: del of a missing threading.local attribute raises KeyError, not "
             "AttributeError")
SUPER_SPECIALIZED = ("known gap: a specialized super(C, cls) call site searches type(cls)'s MRO "
                     "when cls is a class whose metaclass's MRO also holds C")
SQLITE_CLOSED_ATTRS = ("known gap: sqlite3 cursor.lastrowid/rowcount/description raise after "
                       "cursor.close() (CPython keeps them readable)")
F_BACK = ("known gap: a finished frame's f_back is lost when its caller has variadic "
          "parameters or was called with argument unpacking (Django's sensitive_variables "
          "cleansing walks f_back)")
UNBUFFERED = ("fixed since this run: rwsgi python ignored PYTHONUNBUFFERED, so the migration "
              "output glued onto the first test's result line (the tests pass)")
DEL_MESSAGE = ("known gap: del obj[key] on a class without __delitem__ says \"doesn't support\" "
               "(CPython: \"does not support\" for a non-index key)")
VERSION_SKEW = ("known gap: sys.version_info says 3.14.0 alpha while the bundled html.parser "
                "has 3.14.1's fix; Django picks the expected output by version")
JSON_LIST_SUBCLASS = ("known gap: the native json encoder reads a list subclass's own storage "
                      "instead of iterating it (Django's ErrorList(UserList, list) dumps as [])")
PYDECIMAL = ("no C _decimal: the pure-Python _pydecimal converts digits with int(), which the "
             "4300-digit limit stops (CPython's libmpdec does not)")

CAUSES = {
    "click": [
        (r"tests\.test_testing::test_isolation_(stderr_errors|flushes_unflushed_stderr)$",
         AST_SURROGATE),
        (r"tests\.test_basic::test_file_lazy_mode$", FILEIO_EISDIR),
    ],
    "Jinja2": [
        (r"tests\.test_async\.TestAsyncForLoop::test_recursive", EAGER_NAME_ASYNC),
    ],
    "Werkzeug": [
        (r"tests\.test_local::test_proxy_fallback$", NO_BUILTIN_DOCS),
    ],
    "Flask": [
        (r"tests\.test_cli::", IMPORT_TRACEBACK),
        (r"test_app_freed_on_zero_refcount", SKIPS_OFF_CPYTHON),
    ],
    "WebOb": [
        (r"tests\.test_client_functional::test_client_cookies$", NEWER_WSGIREF),
        (r"tests\.test_in_wsgiref::test_interrupted_request$", BUFFER_SIZE),
    ],
    "requests": [
        (r"verify_bundle_unexpired_cert", STRICT_AKI),
    ],
    "urllib3": [
        (r"test\.test_util\.TestUtil::test_(invalid|parse)_url\[", AST_SURROGATE),
        (r"swallow_garbage", ZLIB_FLUSH),
        (r"test\.test_response\.TestResponse::test_io_(bufferedreader|not_autoclose_bufferedreader)$",
         READLINE_CLOSED),
    ],
    "SQLAlchemy": [
        (r"message: skipped on rwsgi: '…' : cPython interpreter needed", IDENTITY),
        (r"^test\.base\.test_tutorials\.DocTest_sqlite\+pysqlite::", GIL_DISABLED),
        (r"FreethreadingNoGILTest::test_freethreading_detection$", GIL_DISABLED),
        (r"^test\.sql\.test_selectable\.SelectableTest::test_(dml|core_column)_descriptions\[",
         DICT_EQ_ORDER),
        (r"^test\.sql\.(test_insert_exec\.InsertManyValuesTest_sqlite\+pysqlite::test_disabled|"
         r"test_lambdas\.LambdaElementTest::test_bindparam_not_cached|"
         r"test_resultset\.AllTuplesTest::test_row_logging_falls_back_to_rows)$", LOCAL_DEL),
        (r"^test\.base\.test_examples\.VersionedRowsTestNewBase::test_mutate_", SUPER_SPECIALIZED),
        (r"CursorResultTest_sqlite\+pysqlite::test_lastrowid$", SQLITE_CLOSED_ATTRS),
    ],
    "Django": [
        (r"message: TestTimeout", EAGER_NAME),
        (r"_sensitive_variables$|SensitiveVariablesTest\.test_passwords_marked_as_sensitive", F_BACK),
        (r"^(utils_tests\.test_lazyobject\.SimpleLazyObjectPickleTestCase\.test_pickle_model|"
         r"sessions_tests\.tests\.CacheDBSessionTests\.test_actual_expiry|"
         r"auth_tests\.test_admin_multidb\.MultiDatabaseTests\.test_add_view|"
         r"auth_tests\.test_views\.AuthViewNamedURLTests\.test_named_urls|"
         r"forms_tests\.tests\.test_error_messages\.ModelChoiceFieldErrorMessagesTestCase\."
         r"test_modelchoicefield|"
         r"model_fields\.test_autofield\.AutoFieldTests\.test_backend_range_max_value_lookups|"
         r"queries\.test_bulk_update\.BulkUpdateNoteTests\.test_batch_size)$", UNBUFFERED),
        (r"CaseInsensitiveMappingTests\.test_del$", DEL_MESSAGE),
        (r"TestUtilsHtml\.test_strip_tags$", VERSION_SKEW),
        (r"TestChildArguments\.test_xoptions$", IDENTITY),
        (r"test_error_dict_is_json_serializable$", JSON_LIST_SUBCLASS),
        (r"test_too_many_digits_to_render_very_long$", PYDECIMAL),
    ],
    "stdlib": [],
}
