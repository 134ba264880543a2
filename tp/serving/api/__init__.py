"""The REST API: routes under /api/v1, their schemas, errors and guards (see routing.py)."""
