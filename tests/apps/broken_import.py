"""Test fixture: imports a package that does not exist (line 3)."""

import no_such_package_for_rwsgi  # noqa: F401


def application(environ, start_response):
    return []
