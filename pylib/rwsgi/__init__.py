"""rwsgi's Python side, frozen into the binary.

_loader imports the app; _handler holds the Python objects of a call (wsgi.errors,
wsgi.file_wrapper, ClientDisconnected), while the call itself is native (src/python/call.rs).
They talk to the server only through the native `_rwsgi` module.
"""
