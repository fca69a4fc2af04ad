"""A package inside the bundle, with a resource read through importlib.resources."""
