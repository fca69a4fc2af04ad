"""CLI fixture: two callables in one file, and a sibling import.

`application` is the default callable; `custom_app` is chosen with `--callable custom_app` or
`cli_app.py:custom_app`. `cli_sibling` lives next to this file, so it imports only if the
server puts the app file's own folder on sys.path.
"""

import os
import sys

# conformance_support lives one folder up; appended last, so it shadows nothing under test.
sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from conformance_support import json_response, validated  # noqa: E402

try:
    import cli_sibling
    SIBLING = cli_sibling.VALUE
except ImportError as exc:
    SIBLING = "ImportError: %s" % exc


def _make(name):
    def app(environ, start_response):
        return json_response(start_response, {
            "callable": name,
            "sibling": SIBLING,
            "script_name": environ.get("SCRIPT_NAME", ""),
            "path_info": environ.get("PATH_INFO", ""),
        })
    return validated(app)


application = _make("application")
custom_app = _make("custom_app")
