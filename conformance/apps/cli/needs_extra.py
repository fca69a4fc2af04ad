"""CLI fixture for --pythonpath: cli_extra_helper lives in apps/cli_extra, which is on
sys.path only if the server was given it as an extra import path."""

import os
import sys

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from conformance_support import json_response, validated  # noqa: E402

try:
    import cli_extra_helper
    HELPER = cli_extra_helper.VALUE
except ImportError as exc:
    HELPER = "ImportError: %s" % exc


def _app(environ, start_response):
    return json_response(start_response, {"callable": "application", "helper": HELPER})


application = validated(_app)
