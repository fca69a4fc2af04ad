"""rwsgi's Python side, frozen into the binary.

_handler runs one WSGI call (start_response, write, exc_info, iteration, close) and _loader
imports the app. Both talk to the server only through the native `_rwsgi` module.
"""
