"""Webhook signatures, the canonical body and Lago's envelope."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bxb.webhooks.payloads import envelope, jsonable
from bxb.webhooks.signing import (
    bxb_signature,
    canonical_body,
    lago_signature,
    verify_bxb_signature,
)
from bxb.workflows.webhook_delivery import workflow_id
from tests.support.webhook_receiver import verify_lago_signature, verify_signature

KEY = "s3cret-key"
BODY = b'{"invoice":{"lago_id":"1"},"object_type":"invoice","webhook_type":"invoice.created"}'


def test_bxb_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(KEY.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert bxb_signature(KEY, BODY, 1700000000) == f"t=1700000000,v1={expected}"


def test_lago_signature_is_base64_hmac_of_body() -> None:
    expected = base64.b64encode(hmac.new(KEY.encode(), BODY, hashlib.sha256).digest()).decode()
    assert lago_signature(KEY, BODY) == expected
    assert verify_lago_signature(KEY, BODY, expected)


def test_verification_accepts_a_fresh_signature() -> None:
    header = bxb_signature(KEY, BODY, 1700000000)
    assert verify_bxb_signature(KEY, BODY, header, now=1700000100)


@pytest.mark.parametrize(
    ("key", "body", "now"),
    [
        ("other-key", BODY, 1700000000),  # wrong secret
        (KEY, BODY.replace(b'"1"', b'"2"'), 1700000000),  # tampered body
        (KEY, BODY, 1700000301),  # stale: beyond the 300 s tolerance
        (KEY, BODY, 1699999699),  # from the future
    ],
)
def test_verification_rejects(key: str, body: bytes, now: int) -> None:
    assert not verify_bxb_signature(key, body, bxb_signature(KEY, BODY, 1700000000), now=now)


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=00", "v1=00", "t=1700000000"])
def test_verification_rejects_malformed_headers(header: str) -> None:
    assert not verify_bxb_signature(KEY, BODY, header, now=1700000000)


def test_the_documented_recipe_verifies_what_bxb_signs() -> None:
    now = int(time.time())
    assert verify_signature(KEY, BODY, bxb_signature(KEY, BODY, now))
    assert not verify_signature(KEY, BODY + b" ", bxb_signature(KEY, BODY, now))
    assert not verify_signature(KEY, BODY, bxb_signature(KEY, BODY, now - 301))
    assert not verify_signature(KEY, BODY, "nonsense")


def test_canonical_body_is_stable_whatever_the_key_order() -> None:
    one = canonical_body({"b": 1, "a": {"d": "é", "c": [2, 1]}})
    two = canonical_body({"a": {"c": [2, 1], "d": "é"}, "b": 1})
    assert one == two == '{"a":{"c":[2,1],"d":"é"},"b":1}'.encode()


def test_envelope_adds_lago_fields_around_the_object() -> None:
    org = uuid.UUID(int=7)
    object_type, body = envelope("invoice.created", org, {"invoice": {"lago_id": "x"}})
    assert object_type == "invoice"
    assert body == {
        "webhook_type": "invoice.created",
        "object_type": "invoice",
        "organization_id": str(org),
        "invoice": {"lago_id": "x"},
    }


def test_envelope_keeps_an_explicit_object_type_and_overrides_the_rest() -> None:
    org = uuid.UUID(int=7)
    payload = {
        "webhook_type": "stale",
        "organization_id": "someone-else",
        "object_type": "payment_provider_customer_error",
        "provider_error": {"message": "x"},
    }
    object_type, body = envelope("customer.payment_provider_error", org, payload)
    assert object_type == "payment_provider_customer_error"
    assert body["webhook_type"] == "customer.payment_provider_error"
    assert body["organization_id"] == str(org)
    assert body["provider_error"] == {"message": "x"}


@pytest.mark.parametrize("payload", [{}, {"invoice": {}, "fee": {}}, {"webhook_type": "x"}])
def test_envelope_wants_exactly_one_object(payload: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="exactly one object"):
        envelope("invoice.created", uuid.UUID(int=1), payload)


def test_jsonable_writes_values_as_lago_does() -> None:
    value = {
        "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "naive": datetime(2026, 1, 2),
        "on": date(2026, 1, 31),
        "id": uuid.UUID(int=1),
        "rate": Decimal("10.50"),
        "n": [1, None, True],
    }
    assert jsonable(value) == {
        "at": "2026-01-02T03:04:05Z",
        "naive": "2026-01-02T00:00:00Z",
        "on": "2026-01-31",
        "id": "00000000-0000-0000-0000-000000000001",
        "rate": "10.50",
        "n": [1, None, True],
    }
    json.dumps(jsonable(value))


def test_jsonable_refuses_unknown_types() -> None:
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        jsonable({"x": {1, 2}})


def test_workflow_ids_name_the_row_and_the_manual_retry() -> None:
    row = uuid.UUID(int=5)
    assert workflow_id(row) == f"webhook/{row}"
    assert workflow_id(row, 2) == f"webhook/{row}/retry-2"
