"""Write bxb's OpenAPI document: `python -m bxb.api.openapi_dump [path]` (docs/openapi.json).

tests/unit/test_openapi_document.py fails when docs/openapi.json differs from what the
routes make; run this to regenerate it after changing a route.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path("docs") / "openapi.json"


def document() -> dict[str, Any]:
    """The document /openapi.json serves (no setting changes it)."""
    from bxb.api.app import create_app
    from bxb.core.settings import Settings

    return create_app(Settings()).openapi()


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv else DEFAULT_PATH
    path.write_text(render(document()), encoding="utf-8")
    sys.stdout.write(f"wrote {path}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
