"""CLI fixture for a `package.module:callable` APP."""

import os
import sys

sys.path.append(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from conformance_support import json_response, validated  # noqa: E402


def _app(environ, start_response):
    return json_response(start_response, {"callable": "cli_pkg.entry:app"})


app = validated(_app)
