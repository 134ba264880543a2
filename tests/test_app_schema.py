"""Property-based runs of schemathesis over the app's OpenAPI document: no input makes it answer 5xx.

Each API operation gets its own bounded Hypothesis run (schemathesis's pytest plugin does not run
under pytest 9, so the operations are driven directly through their Hypothesis strategies), which knows
which model takes what; then schemathesis's own command runs every check it has (`--checks all`: undeclared
methods, headers, negative data...) in all its phases, less the checks named in EXCLUDED_CHECKS.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

pytest_plugins = ["app_server"]  # one session-wide server for every app test module

MAX_EXAMPLES = 25  # per operation: bounded, so the run takes seconds, not minutes
EXCLUDED_CHECKS = {  # check: why it cannot apply to this API
    "positive_data_acceptance": "a body the schema allows can still be wrong for the model it names (an image for "
                                "a text model, a target that is not one of its labels), which no OpenAPI schema "
                                "can say; the Hypothesis run above checks acceptance knowing each model",
}


def valid_for_its_model(case, models: dict, default: str) -> bool:
    """Whether a schema-valid body is also right for the model it names, which no schema can say: an
    image must be an image file, each model takes one kind of input (texts, or text pairs for a pair model;
    and its methods), a target must be one of that model's labels, `threshold` is for multi-label models.
    Only such bodies must be accepted (2xx); the rest get a 422."""
    if case.media_type == "multipart/form-data" or not isinstance(case.body, dict):
        return case.media_type != "multipart/form-data"
    body = case.body
    items = body.get("inputs") if isinstance(body.get("inputs"), list) else [body.get("inputs")]
    model = models.get(body.get("model") or default)
    if model is None or model["task"] != "text-classification":
        return False
    takes = dict if model["text_pair"] else str  # a pair model takes {text, text_pair} objects, others strings
    if not all(isinstance(item, takes) and (takes is str or "text_pair" in item) for item in items):
        return False
    if body.get("method") in ("saliency", "attention_rollout"):
        return False
    if body.get("threshold") is not None and model["problem_type"] != "multi_label_classification":
        return False
    return body.get("target") is None or body["target"] in model["labels"]


def test_no_server_errors_and_responses_match_the_schema(app_server) -> None:
    schema = schemathesis.openapi.from_url(f"{app_server.url}/openapi.json")
    served = httpx.get(f"{app_server.url}/api/v1/models").json()
    models = {model["name"]: model for model in served["models"]}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/predict", "/api/v1/explain", "/api/v1/models"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize=True, database=None)
        def check(case) -> None:
            response = case.call(timeout=60)
            assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}: {response.text}"
            # status documented, body matches its declared schema
            semantic = valid_for_its_model(case, models, served["default"])
            case.validate_response(response, excluded_checks=[] if semantic else [positive_data_acceptance])

        check()


def test_every_schemathesis_check_in_every_phase(app_server, tmp_path: Path) -> None:
    command = [str(Path(sys.executable).with_name("st")), "run", f"{app_server.url}/openapi.json", "--checks", "all",
               "--exclude-checks", ",".join(EXCLUDED_CHECKS), "--phases", "examples,coverage,fuzzing,stateful",
               "--max-examples", str(MAX_EXAMPLES), "--generation-deterministic", "--workers", "1",
               "--request-timeout", "60", "--no-color"]
    # in a temporary folder: its replay cache (.schemathesis/) never lands in the checkout
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout and " passed" in result.stdout
