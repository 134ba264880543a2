"""The Vue client's API types (vue-client/src/schema.d.ts) and the document they come from
(vue-client/openapi.json) match the app's OpenAPI document: `npm run gen:types` in vue-client/ fixes a drift.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from shipped import IMAGE_MODEL, TEXT_MODEL

from tp.serving.schema_export import client_openapi as document_of


def client_openapi() -> dict:
    return document_of([TEXT_MODEL, IMAGE_MODEL])

CLIENT = Path(__file__).resolve().parents[1] / "vue-client"
GENERATOR = CLIENT / "node_modules" / ".bin" / "openapi-typescript"
FIX = "the app's API changed: run `npm run gen:types` in vue-client/ and commit openapi.json and src/schema.d.ts"


def contract(document: dict) -> dict:
    """What the types are generated from (info.version changes with every release and shapes no type)."""
    return {key: document.get(key) for key in ("openapi", "paths", "components")}


def test_committed_openapi_document_matches_the_app() -> None:
    committed = json.loads((CLIENT / "openapi.json").read_text(encoding="utf-8"))
    assert contract(committed) == contract(json.loads(json.dumps(client_openapi()))), FIX


def test_the_document_ignores_this_machines_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "TP_MAX_CHARS": "10",
        "TP_MAX_ITEMS": "2",
        "TP_API_KEY": "k" * 20,
        "TP_ROOT_PATH": "/x",
        "TP_MODELS": "other=models/bbc-news-minilm",
    }.items():
        monkeypatch.setenv(name, value)
    assert contract(client_openapi()) == contract(json.loads((CLIENT / "openapi.json").read_text(encoding="utf-8")))


def test_the_document_lists_text_pairs_with_a_texts_limits() -> None:
    schemas = client_openapi()["components"]["schemas"]
    pair = {"$ref": "#/components/schemas/TextPairInput"}
    predict = schemas["PredictRequest"]["properties"]["inputs"]["anyOf"]
    assert pair in predict and {"type": "array", "items": pair, "minItems": 1, "maxItems": 64} in predict
    assert pair in schemas["ExplainRequest"]["properties"]["inputs"]["anyOf"]
    text = schemas["TextPairInput"]["properties"]["text_pair"]
    assert (text["minLength"], text["maxLength"], text["pattern"]) == (1, 50_000, r"\S")


@pytest.mark.skipif(
    not GENERATOR.is_file() or shutil.which("node") is None,
    reason="no vue-client/node_modules: run `npm ci` in vue-client/ to check the generated types",
)
def test_committed_types_match_the_apps_document(tmp_path: Path) -> None:
    document, types = tmp_path / "openapi.json", tmp_path / "schema.d.ts"
    document.write_text(json.dumps(client_openapi(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    subprocess.run(
        [str(GENERATOR), str(document), "-o", str(types)], cwd=CLIENT, check=True, capture_output=True, timeout=120
    )
    committed = (CLIENT / "src" / "schema.d.ts").read_text(encoding="utf-8")
    assert types.read_text(encoding="utf-8") == committed, FIX
