"""A package served as `cli_pkg.entry:app`, with cli_pkgroot on the import path."""
