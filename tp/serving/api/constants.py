"""Where the REST API lives."""

API_PREFIX = "/api/v1"
