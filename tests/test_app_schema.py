"""Property-based run of schemathesis over the app's OpenAPI document: no input makes it answer 5xx.

Each API operation gets its own bounded Hypothesis run (schemathesis's pytest plugin does not run
under pytest 9, so the operations are driven directly through their Hypothesis strategies).
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

pytest_plugins = ["app_server"]  # one session-wide server for every app test module

MAX_EXAMPLES = 25  # per operation: bounded, so the run takes seconds, not minutes


def test_no_server_errors_and_responses_match_the_schema(app_server) -> None:
    schema = schemathesis.openapi.from_url(f"{app_server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/predict", "/api/v1/explain", "/api/v1/models"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)
        def check(case) -> None:
            response = case.call(timeout=60)
            assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}: {response.text}"
            case.validate_response(response)  # status documented, body matches its declared schema

        check()
