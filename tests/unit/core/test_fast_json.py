"""bxb.core.fast_json: orjson's speed, the standard library's results."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bxb.core import fast_json


@pytest.mark.parametrize(
    "text",
    [
        b'{"events":[{"transaction_id":"t-1","properties":{"gb":0.5,"n":3}}]}',
        b'{"a":1,"a":2}',
        b"123456789012345678901234567890",  # past 64 bits: orjson would make it a float
        b"-9223372036854775809",
        b"18446744073709551616",
        b'{"id":"tx-12345678901234567890"}',  # 19 digits in a string: read by json, same
        b"1e400",  # json reads infinity (validation refuses it), orjson refuses it
        b'"\\ud800"',  # a lone surrogate: the input rule answers it, json reads it
        b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark
        '{"é":"ü"}'.encode("utf-16"),
        b"-0.0",
        b"0.1",
    ],
)
def test_loads_reads_what_json_reads(text: bytes) -> None:
    read = fast_json.loads(text)
    expected = json.loads(text)
    assert read == expected or (read != read and expected != expected)
    assert type(read) is type(expected)


@pytest.mark.parametrize("text", [b"NaN", b"[Infinity]", b"[-Infinity]", b"{", b"\xff", b""])
def test_loads_refuses_what_is_not_json(text: bytes) -> None:
    with pytest.raises(ValueError, match=r".") as refused:
        fast_json.loads(text)
    with pytest.raises(type(refused.value)):  # the very error json raises
        json.loads(text, parse_constant=fast_json._reject_constant)


def test_loads_may_accept_the_constants_when_told() -> None:
    assert fast_json.loads(b"[NaN]", reject_constants=False)[0] != 0


@pytest.mark.parametrize(
    "content",
    [
        {"status": 422, "error": "Unprocessable Entity", "error_details": {"0": {"code": ["x"]}}},
        {"b": 1, "a": [1.5, None, True, "é\u2028"], "z": {}},  # key order kept
        {1: "one", None: "none", False: "no", 2.5: "half"},  # keys made strings as json does
        [2**64, -(2**63) - 1],  # past 64 bits: encoded by json
        {"n": 1e16, "m": 1e-7, "p": 0.30000000000000004},
    ],
)
def test_dumps_writes_what_json_writes(content: Any) -> None:
    written = fast_json.dumps(content)
    expected = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    assert json.loads(written) == json.loads(expected)
    assert written.decode().replace("e-7", "e-07") == expected


@pytest.mark.parametrize(
    "content", [{"at": datetime(2026, 1, 1, tzinfo=UTC)}, [Decimal("1.5")], {uuid.uuid4()}]
)
def test_dumps_refuses_what_json_refuses(content: Any) -> None:
    with pytest.raises(TypeError):
        fast_json.dumps(content)


def test_dumps_text_escapes_what_utf_8_cannot_hold_for_the_reader_to_judge() -> None:
    assert fast_json.dumps_text([{"note": "x\udc00"}]) == '[{"note": "x\\udc00"}]'
    assert fast_json.dumps_text([{"gb": 0.5}, {}]) == '[{"gb":0.5},{}]'
