"""Test fixture: a SyntaxError on line 4."""

def application(environ, start_response):
    return [b"unterminated"
