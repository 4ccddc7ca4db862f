"""The API's JSON answers, encoded by orjson (`bxb.core.fast_json`).

`JsonResponse` is what every route and error handler that builds its own answer returns,
in place of Starlette's JSONResponse: the same content and headers, encoded several
times faster. Routes that return plain values with a declared return type (``-> dict[str,
Any]``, a model) are encoded by pydantic-core in Rust, FastAPI's own fast path, which a
custom ``default_response_class`` would turn off (see docs/decisions.md).
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from bxb.core import fast_json


class JsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return fast_json.dumps(content)
