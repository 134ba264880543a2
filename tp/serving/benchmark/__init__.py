"""Serving benchmark: tp's app against a naive per-request `pipeline()` server, same model, same load."""
