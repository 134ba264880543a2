"""Write the app's OpenAPI document for the Vue client's types (vue-client's `npm run gen:types` runs it):
`python -m tp.cli.openapi OUTPUT.json MODEL_FOLDER...` (the first folder is the default model)."""

import json
import sys
from pathlib import Path

from tp.serving.schema_export import client_openapi


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m tp.cli.openapi OUTPUT.json MODEL_FOLDER...", file=sys.stderr)
        return 2
    document = client_openapi([Path(folder) for folder in argv[1:]])
    Path(argv[0]).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
