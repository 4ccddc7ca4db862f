"""The input rule at the API boundary: what PostgreSQL or the billing code cannot take is
refused with a 4xx in Lago's shape, naming the field, before anything is stored."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bxb.api.input_rules import MAX_JSON_DEPTH, _too_deep
from bxb.api.pagination import MAX_PAGE
from bxb.api.subscriptions import EXTERNAL_ID_MAX_LENGTH
from bxb.models import Customer, Event
from bxb.workflows.subscription import workflow_id
from tests.integration.test_invoice_preview import preview
from tests.integration.test_invoice_preview import setup as preview_setup
from tests.integration.test_invoices import Sessions
from tests.support.auth import Tenant


def refused(details: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "validation_errors",
        "error_details": details,
    }


CHARACTERS = ["invalid_characters"]
TOO_DEEP = {"status": 400, "error": "Bad Request", "code": "json_too_deep"}


def event(**fields: Any) -> dict[str, Any]:
    return {"transaction_id": "t1", "external_subscription_id": "s1", "code": "c"} | fields


async def post_raw(client: httpx.AsyncClient, tenant: Tenant, path: str, body: bytes) -> Any:
    headers = {**tenant.headers, "content-type": "application/json"}
    return await client.post(path, content=body, headers=headers)


async def count(sessions: Sessions, model: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_nul_in_a_path_parameter_names_it(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    response = await client.get("/api/v1/customers/a%00b", headers=tenant_a.headers)
    assert response.json() == refused({"external_customer_id": CHARACTERS})
    response = await client.delete("/api/v1/subscriptions/x%00", headers=tenant_a.headers)
    assert response.json() == refused({"external_id": CHARACTERS})


async def test_nul_in_a_query_parameter_names_it(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    response = await client.get(
        "/api/v1/customers?search_term=a%00b&per_page=5", headers=tenant_a.headers
    )
    assert response.json() == refused({"search_term": CHARACTERS})
    response = await client.get(
        "/api/v1/subscriptions?external_customer_id=%00", headers=tenant_a.headers
    )
    assert response.json() == refused({"external_customer_id": CHARACTERS})


async def test_nul_in_body_fields_and_metadata_is_refused_by_path(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: Sessions
) -> None:
    customer = {
        "external_id": "cus_1",
        "name": "Acme\u0000",
        "metadata": [{"key": "k", "value": "ok"}, {"key": "k2", "value": "v\u0000"}],
    }
    response = await client.post(
        "/api/v1/customers", json={"customer": customer}, headers=tenant_a.headers
    )
    assert response.json() == refused({"name": CHARACTERS, "metadata.1.value": CHARACTERS})
    assert await count(sessions, Customer) == 0


async def test_nul_and_lone_surrogates_in_event_properties_are_refused(
    client: httpx.AsyncClient, tenant_a: Tenant, sessions: Sessions
) -> None:
    for value in ("a\u0000", "\ud800", "x\udfff"):
        body = json.dumps({"event": event(properties={"region": {"name": value}})})
        response = await post_raw(client, tenant_a, "/api/v1/events", body.encode())
        assert response.json() == refused({"properties.region.name": CHARACTERS})
    # A surrogate sent as raw UTF-8 bytes: json.loads would let it through.
    body = '{"event": {"transaction_id": "t\udc80", "external_subscription_id": "s", "code": "c"}}'
    raw = body.encode("utf-8", "surrogatepass")
    response = await post_raw(client, tenant_a, "/api/v1/events", raw)
    assert response.json() == refused({"transaction_id": CHARACTERS})
    # In a batch, the index names the event; a bad key names itself.
    batch = {"events": [event(), event(transaction_id="t2", properties={"k\u0000": 1})]}
    response = await post_raw(client, tenant_a, "/api/v1/events/batch", json.dumps(batch).encode())
    assert response.json() == refused({"1.properties.k\\x00": CHARACTERS})
    assert await count(sessions, Event) == 0


async def test_paired_surrogates_and_text_that_only_looks_like_escapes_pass_the_rule(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    # An emoji escaped as a surrogate pair, and a backslash followed by "u0000".
    customer = {"external_id": "cus_1", "name": "\U0001f600 \\u0000"}
    body = json.dumps({"customer": customer}, ensure_ascii=True).encode()
    assert b"\\ud83d\\ude00" in body
    response = await post_raw(client, tenant_a, "/api/v1/customers", body)
    assert response.status_code == 200, response.text
    assert response.json()["customer"]["name"] == "\U0001f600 \\u0000"


async def test_json_nested_5000_deep_is_400_before_parsing(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    deep = b'{"event": {"transaction_id": "t", "properties": {"a": ' + b"[" * 5000 + b"]" * 5000
    deep += b"}}}"
    for path in ("/api/v1/events", "/api/v1/events/batch", "/api/v1/customers"):
        response = await post_raw(client, tenant_a, path, deep)
        assert (response.status_code, response.json()) == (400, TOO_DEEP)


async def test_json_as_deep_as_the_limit_is_accepted(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    # body → customer → an ignored field nesting the rest: MAX_JSON_DEPTH levels in all.
    nested: Any = "leaf"
    for _ in range(MAX_JSON_DEPTH - 2):
        nested = {"n": nested}
    body = json.dumps({"customer": {"external_id": "cus_1", "extra": nested}}).encode()
    response = await post_raw(client, tenant_a, "/api/v1/customers", body)
    assert response.status_code == 200, response.text
    body = json.dumps({"customer": {"external_id": "cus_1", "extra": {"n": nested}}}).encode()
    response = await post_raw(client, tenant_a, "/api/v1/customers", body)
    assert (response.status_code, response.json()) == (400, TOO_DEEP)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


_TEXT = st.text(alphabet=st.sampled_from('ab{}[]"\\/\u00e9\u0000'), max_size=6)
_JSON = st.recursive(
    st.none() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=60,
)


@settings(max_examples=300, deadline=None)
@given(document=_JSON, padding=st.integers(0, MAX_JSON_DEPTH + 2), ascii_only=st.booleans())
def test_nesting_is_measured_exactly_whatever_the_strings_hold(
    document: Any, padding: int, ascii_only: bool
) -> None:
    for _ in range(padding):
        document = [document]
    text = json.dumps(document, ensure_ascii=ascii_only).encode()
    assert _too_deep(text) == (_depth(document) > MAX_JSON_DEPTH)


async def test_page_numbers_are_bounded_so_the_offset_fits(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    for path in ("/api/v1/customers", "/api/v1/events", "/api/v1/invoices", "/api/v1/plans"):
        huge = await client.get(f"{path}?page=9223372036854775807", headers=tenant_a.headers)
        assert huge.json() == refused({"page": ["value_is_invalid"]}), path
        last = await client.get(f"{path}?page={MAX_PAGE}&per_page=100", headers=tenant_a.headers)
        assert last.status_code == 200, last.text
        assert last.json()["meta"]["current_page"] == MAX_PAGE


async def test_a_preview_in_year_9999_is_out_of_range(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    await preview_setup(client, tenant_a)
    body = {"customer": {"external_id": "cus_1"}, "plan_code": "advance"}
    response = await preview(client, tenant_a, body | {"subscription_at": "9999-12-01T00:00:00Z"})
    assert response.json() == refused({"subscription_at": ["value_is_out_of_range"]})
    latest = await preview(client, tenant_a, body | {"subscription_at": "2199-12-01T00:00:00Z"})
    assert latest.status_code == 200, latest.text
    assert latest.json()["invoice"]["issuing_date"] == "2199-12-01"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("timestamp_from=0001-01-01T00:00:00Z", "timestamp_from"),
        ("timestamp_to=9999-12-31T23:59:59Z", "timestamp_to"),
    ],
)
async def test_dates_in_queries_are_bounded_too(
    client: httpx.AsyncClient, tenant_a: Tenant, query: str, field: str
) -> None:
    response = await client.get(f"/api/v1/events?{query}", headers=tenant_a.headers)
    assert response.json() == refused({field: ["value_is_out_of_range"]})


async def test_amount_filters_fit_bigint(client: httpx.AsyncClient, tenant_a: Tenant) -> None:
    response = await client.get(
        "/api/v1/credit_notes?amount_from=9223372036854775808", headers=tenant_a.headers
    )
    assert response.json() == refused({"amount_from": ["value_is_invalid"]})


async def test_inputs_that_would_wedge_a_subscription_are_refused_and_it_takes_valid_ones(
    temporal_client: httpx.AsyncClient, worker: str, tenant_a: Tenant
) -> None:
    """An external_id whose workflow id outgrows its column, a date no period arithmetic can
    reach, a NUL in a name: each answered at once, and the subscription carries on."""
    client, headers = temporal_client, tenant_a.headers
    plan = {"name": "P", "code": "p", "interval": "monthly", "amount_cents": 100}
    await client.post(
        "/api/v1/plans", json={"plan": plan | {"amount_currency": "USD"}}, headers=headers
    )
    customer = {"external_id": "cus_1", "currency": "USD"}
    await client.post("/api/v1/customers", json={"customer": customer}, headers=headers)
    longest = "s" * EXTERNAL_ID_MAX_LENGTH
    assert len(workflow_id(tenant_a.organization_id, longest)) == 255

    async def subscribe(external_id: str, **extra: Any) -> httpx.Response:
        body = {"external_customer_id": "cus_1", "plan_code": "p", "external_id": external_id}
        return await client.post(
            "/api/v1/subscriptions", json={"subscription": body | extra}, headers=headers
        )

    too_long = await subscribe(longest + "s")
    assert too_long.json() == refused({"external_id": ["value_is_too_long"]})
    year_one = await subscribe("sub_1", subscription_at="0001-01-01T00:00:00Z")
    assert year_one.json() == refused({"subscription_at": ["value_is_out_of_range"]})

    created = await subscribe(longest)
    assert created.status_code == 200, created.text
    assert created.json()["subscription"]["status"] == "active"
    path = f"/api/v1/subscriptions/{longest}"
    nul_name = await client.put(path, json={"subscription": {"name": "\u0000"}}, headers=headers)
    assert nul_name.json() == refused({"name": CHARACTERS})
    renamed = await client.put(path, json={"subscription": {"name": "Main"}}, headers=headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["subscription"]["name"] == "Main"
