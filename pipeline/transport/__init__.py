"""Transports: the log between stages and the search index, each behind a small Protocol.

Backends are chosen by URL scheme through :mod:`pipeline.transport.registry`; only the adapter
modules in this package import a client library.
"""
