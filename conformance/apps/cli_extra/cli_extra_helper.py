"""Importable only through the server's extra import path (--pythonpath)."""

VALUE = "extra helper imported"
