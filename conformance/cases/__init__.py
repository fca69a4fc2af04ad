"""Conformance case definitions; importing a module registers its cases."""
