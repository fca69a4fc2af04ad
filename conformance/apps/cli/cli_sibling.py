"""Imported by cli_app.py from the app file's own folder."""

VALUE = "sibling imported"
