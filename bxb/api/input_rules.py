"""The input rule every request meets before any route sees it (one place, see middleware).

- **Characters.** No NUL and no lone UTF-16 surrogate in any string: JSON bodies at any
  depth (keys and values: names, metadata, event properties), path parameters, query
  strings. PostgreSQL stores neither in text or JSONB, and a lone surrogate cannot even be
  encoded to UTF-8. Answer: 422 `validation_errors`, `invalid_characters`, keyed by the
  field's path inside the root object (as pydantic errors are), or by the parameter's name.
- **Nesting.** A JSON body nests at most MAX_JSON_DEPTH arrays and objects. Answer: 400
  `json_too_deep`, before anything parses it (a deep document exhausts Python's recursion
  in the parser, the validators and the JSON encoders).

Lengths, numbers and dates are bounded by the request schemas' types (bxb.inputs.bounds).

The checks read raw bytes and cost a few substring searches in the common case; only a
request that may break a rule is parsed here, to name the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from fastapi.routing import iter_route_contexts
from starlette.types import Scope

from bxb.api.errors import ApiError, field_path, validation_error
from bxb.core.storable import storable

# Lago's deepest bodies (plan → charges → filters → properties → ranges) nest about ten
# levels; event properties and metadata get generous room on top.
MAX_JSON_DEPTH = 32
INVALID_CHARACTERS = "invalid_characters"

# A NUL or a surrogate can enter a JSON string only as a \u escape, or (json.loads reads
# bytes with "surrogatepass") as the UTF-8 form of a surrogate, ED A0..BF xx. These find
# candidates; a paired surrogate (an escaped emoji) is sorted out by parsing.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_ENCODED_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")
_ESCAPE_PAIR = re.compile(rb"\\.", re.DOTALL)
_BRACKETS_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'{}[]"\\')


def refusal(scope: Scope, body: bytes) -> ApiError | None:
    """Why this request breaks the input rule, or None when it does not."""
    return _path_refusal(scope) or _query_refusal(scope["query_string"]) or _body_refusal(body)


def _body_refusal(body: bytes) -> ApiError | None:
    if not body:
        return None
    if _too_deep(body):
        return ApiError(400, error="Bad Request", code="json_too_deep")
    suspect = (b"\\" in body and _SUSPECT_ESCAPE.search(body)) or (
        b"\xed" in body and _ENCODED_SURROGATE.search(body)
    )
    if not suspect:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None  # not JSON: the route answers 400 invalid_json
    fields = sorted({field_path(path) for path in _unstorable_strings(document)})
    if not fields:
        return None
    return validation_error({field: [INVALID_CHARACTERS] for field in fields})


def _too_deep(body: bytes) -> bool:
    """Whether the JSON document nests more than MAX_JSON_DEPTH levels.

    Only brackets (objects and arrays alike), quotes and backslashes matter. Fewer brackets
    than the limit cannot nest deeper (the usual single event). Else strings are cut out,
    leaving the structure, whose innermost empty pairs are removed once per level.
    """
    reduced = body.translate(_BRACKETS_AS_SQUARE, _NOT_STRUCTURE)
    if reduced.count(b"[") <= MAX_JSON_DEPTH:
        return False
    # A string holding no bracket or escape is now "", and goes; any other leaves a quote
    # behind (the first such string's opening quote has no partner), so the slow way.
    structure = reduced.replace(b'""', b"") if b"\\" not in reduced else b'"'
    if b'"' in structure:
        unescaped = _ESCAPE_PAIR.sub(b"", body)
        outside = b"".join(unescaped.split(b'"')[::2])
        structure = outside.translate(_BRACKETS_AS_SQUARE, _NOT_STRUCTURE)
    for _ in range(MAX_JSON_DEPTH):
        # One scan removes one level: a pair formed by a removal waits for the next scan.
        shallower = structure.replace(b"[]", b"")
        if len(shallower) == len(structure):
            return False
        structure = shallower
    return b"[]" in structure


def _unstorable_strings(document: Any) -> Iterator[tuple[int | str, ...]]:
    """The paths of strings PostgreSQL cannot hold; a bad key names itself, escaped."""
    stack: list[tuple[tuple[int | str, ...], Any]] = [((), document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if not storable(value):
                yield path
        elif isinstance(value, dict):
            for key, item in value.items():
                if storable(key):
                    stack.append(((*path, key), item))
                else:
                    yield (*path, _escaped(key))
        elif isinstance(value, list):
            stack.extend(((*path, index), item) for index, item in enumerate(value))


def _escaped(text: str) -> str:
    return text.encode("unicode_escape", "backslashreplace").decode("ascii")


def _query_refusal(query_string: bytes) -> ApiError | None:
    # Percent-decoding replaces invalid UTF-8, so a query can carry a NUL but no surrogate.
    if b"%00" not in query_string and b"\x00" not in query_string:
        return None
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    names = sorted({_escaped(name) for name, value in pairs if "\x00" in name + value})
    if not names:
        return None
    return validation_error({name: [INVALID_CHARACTERS] for name in names})


def _path_refusal(scope: Scope) -> ApiError | None:
    # The server percent-decodes the path the same way: a NUL is the one thing to refuse.
    if "\x00" not in scope["path"]:
        return None
    app = scope.get("app")
    path, root = scope["path"], scope.get("root_path", "")
    path = path.removeprefix(root) if root else path
    for route in iter_route_contexts(app.routes if app is not None else []):
        regex = getattr(route, "path_regex", None)
        match = regex.match(path) if regex is not None else None
        if match is not None:
            names = sorted(name for name, value in match.groupdict().items() if "\x00" in value)
            return validation_error({name: [INVALID_CHARACTERS] for name in names or ["base"]})
    return None  # no route: 404 as usual
