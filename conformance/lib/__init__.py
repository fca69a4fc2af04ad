"""Conformance runner library: HTTP client, servers, cases model, corpus replay."""
