"""Test fixture: a package on --pythonpath, served as mypkg.wsgi:app."""
