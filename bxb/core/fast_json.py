"""JSON in and out through orjson, with the standard library's exact results.

orjson is several times faster than the `json` module, and ingestion spends a large share
of its time reading request bodies and writing answers. Where the two libraries would
disagree, the standard library decides, so that switching changes no result:

- `loads`: orjson reads integers beyond 64 bits as floats (json keeps them exact), and
  refuses what json accepts (a lone surrogate escape, a UTF-8 BOM, UTF-16 text, numbers
  that overflow to infinity). A body with a run of 19 or more digits, and any body orjson
  refuses, is read again by `json.loads`: same values, same errors.
- `dumps`: the same compact text as ``json.dumps(separators=(",", ":"),
  ensure_ascii=False)`` in content, keys in insertion order. Non-string keys become
  strings as json makes them. What orjson cannot encode (an integer beyond 64 bits, a
  type it does not know) is handed to `json.dumps`, which encodes it or raises as before.
  Dataclasses and datetimes are not encoded by orjson either (json refuses them): the API
  formats its instants itself (`bxb.lago_objects.formats`). Floats are written in their
  shortest form, as json does, with the exponent written as ``1e-7`` rather than
  ``1e-07``. NaN and infinities never reach the output: orjson writes them as null where
  json (allow_nan off) raised; no answer of the API holds one (validation refuses them in
  events, and amounts are integers or decimal strings).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
)
# 19 digits in a row may be an integer past 64 bits (2**63 has 19 digits): json reads it.
# Found with two C scans (every digit made a 0, then a substring search): a regular
# expression costs several times orjson's whole parse.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def loads(data: bytes, *, reject_constants: bool = True) -> Any:
    """`json.loads(data)`; NaN and Infinity (not JSON) refused unless told otherwise.

    Raises ValueError (as json does: JSONDecodeError, UnicodeDecodeError) on bad input.
    """
    if _LONG_NUMBER not in data.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # json decides: it accepts a few things orjson refuses, or raises
    constant: Callable[[str], Any] | None = _reject_constant if reject_constants else None
    return json.loads(data, parse_constant=constant)


def dumps(content: Any) -> bytes:
    """UTF-8 JSON of content, compact, as Starlette's JSONResponse renders it."""
    try:
        return orjson.dumps(content, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError: json encodes it, or raises its own error
        return _stdlib_dumps(content)


def dumps_text(content: Any) -> str:
    """JSON text of content for another program (PostgreSQL's jsonb), compact.

    What orjson cannot encode goes to ``json.dumps`` with its defaults, which also escapes
    what UTF-8 cannot hold (a lone surrogate) for the reader to judge.
    """
    try:
        return orjson.dumps(content, option=_OPTIONS).decode()
    except TypeError:
        return json.dumps(content)


def _stdlib_dumps(content: Any) -> bytes:
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")
