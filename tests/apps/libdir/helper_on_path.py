"""Test fixture: importable only through --pythonpath."""

WORD = "hi"
