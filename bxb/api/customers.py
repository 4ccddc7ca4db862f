"""/api/v1/customers (Lago-compatible).

POST creates or updates by external_id (Lago's upsert). Deleting a customer soft-deletes
it, terminates its applied coupons and frees its external_id for a new customer.
`sequential_id` counts every customer the organization ever had, deleted ones included.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.deps import OrgDep, SessionDep, TemporalDep, reads_only
from bxb.api.errors import not_found, validation_error
from bxb.api.list_filters import parse_filters
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.customers import CustomerBody, CustomerIn, merge_metadata
from bxb.api.taxes import replace_applied_taxes, taxes_for_codes
from bxb.lago_objects.customers import customer_object
from bxb.lago_objects.taxes import applied_taxes
from bxb.ledger.billing_entities import entity_ids_for_codes, resolve_entity
from bxb.ledger.dunning_campaigns import assign_dunning_campaign, find_campaign
from bxb.listings.customers import CustomerFilters, customer_query
from bxb.models import (
    AppliedCoupon,
    AppliedTax,
    Customer,
    DunningCampaign,
    Organization,
    TestClock,
)
from bxb.models.base import utcnow
from bxb.payments.customers import needs_sync, start_provider_customer_sync

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["customers"])

_BILLING_FIELDS = {
    "invoice_grace_period",
    "payment_provider",
    "payment_provider_code",
    "provider_customer_id",
    "sync_with_provider",
    "document_locale",
}


async def live_customer(
    session: AsyncSession,
    organization_id: uuid.UUID,
    external_id: str,
    *,
    for_update: bool = False,
) -> Customer | None:
    query = _LIVE_CUSTOMER_FOR_UPDATE if for_update else _LIVE_CUSTOMER
    return await session.scalar(
        query, {"organization_id": organization_id, "external_id": external_id}
    )


_LIVE_CUSTOMER = select(Customer).where(
    Customer.organization_id == bindparam("organization_id"),
    Customer.external_id == bindparam("external_id"),
    Customer.deleted_at.is_(None),
)
_LIVE_CUSTOMER_FOR_UPDATE = _LIVE_CUSTOMER.with_for_update(of=Customer)


async def find_customer(
    session: AsyncSession,
    organization_id: uuid.UUID,
    external_id: str,
    *,
    for_update: bool = False,
) -> Customer:
    """A live customer of the organization by external_id, or 404 customer_not_found."""
    customer = await live_customer(session, organization_id, external_id, for_update=for_update)
    if customer is None:
        raise not_found("customer")
    return customer


async def _lock_customers(session: AsyncSession, organization_id: uuid.UUID) -> None:
    """Serialize customer upserts per organization until commit.

    Two concurrent creates would otherwise read the same max(sequential_id), and two
    upserts of one external_id would both insert.
    """
    key = func.hashtextextended(f"bxb.customers:{organization_id}", 0)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


async def _next_sequential_id(session: AsyncSession, organization_id: uuid.UUID) -> int:
    current = await session.scalar(
        select(func.coalesce(func.max(Customer.sequential_id), 0)).where(
            Customer.organization_id == organization_id
        )
    )
    return int(current or 0) + 1


async def _check_currency_change(session: AsyncSession, customer: Customer, currency: str) -> None:
    """A live fixed-amount coupon is in the customer's currency; it cannot change under it."""
    other = await session.scalar(
        select(AppliedCoupon.id).where(
            AppliedCoupon.customer_id == customer.id,
            AppliedCoupon.status == "active",
            AppliedCoupon.amount_currency.is_not(None),
            AppliedCoupon.amount_currency != currency,
        )
    )
    if other is not None:
        raise validation_error({"currency": ["currencies_does_not_match"]})


def _apply(customer: Customer, data: CustomerIn) -> None:
    changes = data.model_dump(
        exclude_unset=True,
        exclude={
            "external_id",
            "metadata",
            "billing_configuration",
            "tax_codes",
            "billing_entity_code",
            "applied_dunning_campaign_code",
        },
    )
    if data.billing_configuration is not None:
        changes |= data.billing_configuration.model_dump(exclude_unset=True)
    for key, value in changes.items():
        setattr(customer, key, value)
    if data.metadata is not None:
        customer.metadata_ = merge_metadata(customer.metadata_, data.metadata, utcnow())


async def _render(
    session: AsyncSession, organization: Organization, customers: Sequence[Customer]
) -> list[dict[str, Any]]:
    taxes = await applied_taxes(session, AppliedTax.customer_id, [c.id for c in customers])
    return [customer_object(c, organization, taxes[c.id]) for c in customers]


async def _check_test_clock_exists(
    session: SessionDep, org_id: uuid.UUID, data: CustomerIn
) -> None:
    """A customer joins a test clock of its organization at creation..."""
    if "test_clock_id" not in data.model_fields_set or data.test_clock_id is None:
        return
    clock = await session.get(TestClock, data.test_clock_id)
    if clock is None or clock.organization_id != org_id:
        raise validation_error({"test_clock_id": ["test_clock_not_found"]})


def _check_test_clock_kept(customer: Customer | None, data: CustomerIn) -> None:
    """...and stays on it."""
    if "test_clock_id" not in data.model_fields_set:
        return
    if customer is not None and data.test_clock_id != customer.test_clock_id:
        raise validation_error({"test_clock_id": ["cannot_change_test_clock"]})


async def _dunning_campaign(
    session: SessionDep, org_id: uuid.UUID, data: CustomerIn
) -> DunningCampaign | None:
    if data.applied_dunning_campaign_code is None:
        return None
    return await find_campaign(session, org_id, data.applied_dunning_campaign_code)


# For clients whose Customer model drops fields it does not know (the lago-python-client):
# the test clock of a customer being created, as a header or a query parameter.
TEST_CLOCK_HEADER = "X-Bxb-Test-Clock-Id"


def _with_test_clock(data: CustomerIn, header: str | None, query: str | None) -> CustomerIn:
    """The customer with the test clock given beside its body (header or query), which
    must agree with the body's and with each other."""
    given = {value.strip() for value in (header, query) if value is not None and value.strip()}
    if not given:
        return data
    try:
        ids = {uuid.UUID(value) for value in given}
    except ValueError:
        raise validation_error({"test_clock_id": ["invalid_value"]}) from None
    in_body = data.test_clock_id if "test_clock_id" in data.model_fields_set else None
    if len(ids) > 1 or ("test_clock_id" in data.model_fields_set and {in_body} != ids):
        raise validation_error({"test_clock_id": ["value_conflict"]})
    return data.model_copy(update={"test_clock_id": ids.pop()})


@router.post("/customers")
async def upsert_customer(
    body: CustomerBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    test_clock_id: Annotated[
        str | None,
        Query(
            description="The customer's test clock, for clients that cannot send it in the body."
        ),
    ] = None,
    x_test_clock_id: Annotated[
        str | None,
        Header(
            alias=TEST_CLOCK_HEADER,
            description="The customer's test clock, for clients that cannot send it in the body.",
        ),
    ] = None,
) -> dict[str, Any]:
    data = _with_test_clock(body.customer, x_test_clock_id, test_clock_id)
    # What the customer refers to is read before taking the organization's customer lock,
    # which is held until commit: creates of one organization queue on it, so the fewer
    # round trips under it the more customers a second (bench/README.md, "Scale").
    taxes = (
        None if data.tax_codes is None else await taxes_for_codes(session, org.id, data.tax_codes)
    )
    entity = await resolve_entity(session, org.id, data.billing_entity_code)
    await _check_test_clock_exists(session, org.id, data)
    campaign = await _dunning_campaign(session, org.id, data)
    await _lock_customers(session, org.id)
    customer = await live_customer(session, org.id, data.external_id)
    _check_test_clock_kept(customer, data)
    if customer is None:
        customer = Customer(
            organization_id=org.id,
            external_id=data.external_id,
            sequential_id=await _next_sequential_id(session, org.id),
            metadata_=[],
            billing_entity=entity,
        )
        session.add(customer)
    else:
        if data.currency is not None and data.currency != customer.currency:
            await _check_currency_change(session, customer, data.currency)
        if "billing_entity_code" in data.model_fields_set:
            customer.billing_entity = entity
    _apply(customer, data)
    if "applied_dunning_campaign_code" in data.model_fields_set:
        assign_dunning_campaign(customer, campaign)
    try:
        await session.flush()
        if taxes is not None:
            await replace_applied_taxes(session, org.id, AppliedTax.customer_id, customer.id, taxes)
        await session.commit()
    except IntegrityError:  # pragma: no cover - the advisory lock prevents it
        await session.rollback()
        raise validation_error({"external_id": ["value_already_exist"]}) from None
    if needs_sync(customer):
        await _start_sync(temporal, customer.id)
    return {"customer": (await _render(session, org, [customer]))[0]}


async def _start_sync(temporal: TemporalDep, customer_id: uuid.UUID) -> None:
    """Create the customer at Stripe in the background. The customer is committed: a
    Temporal outage must not answer 500 (a worker starting later resumes the sync)."""
    try:
        await start_provider_customer_sync(await temporal.client(), customer_id)
    except Exception:
        log.exception("customer %s: could not start its payment provider sync", customer_id)


@router.get("/customers")
@reads_only
async def list_customers(
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    search_term: str | None = None,
    countries: Annotated[list[str] | None, Query(alias="countries[]")] = None,
    currencies: Annotated[list[str] | None, Query(alias="currencies[]")] = None,
    states: Annotated[list[str] | None, Query(alias="states[]")] = None,
    zipcodes: Annotated[list[str] | None, Query(alias="zipcodes[]")] = None,
    customer_type: Literal["company", "individual"] | None = None,
    has_customer_type: bool | None = None,
    has_tax_identification_number: bool | None = None,
    billing_entity_codes: Annotated[list[str] | None, Query(alias="billing_entity_codes[]")] = None,
) -> dict[str, Any]:
    entity_ids = await entity_ids_for_codes(session, org.id, billing_entity_codes)
    filters = parse_filters(
        CustomerFilters,
        {
            "search_term": search_term,
            "countries": countries,
            "currencies": currencies,
            "states": states,
            "zipcodes": zipcodes,
            "customer_type": customer_type,
            "has_customer_type": has_customer_type,
            "has_tax_identification_number": has_tax_identification_number,
            "billing_entity_ids": entity_ids,
        },
    )
    query = customer_query(org.id, filters)
    query = query.order_by(Customer.created_at.desc(), Customer.id.desc())
    customers, meta = await paginate(session, query, page)
    return {"customers": await _render(session, org, customers), "meta": meta.model_dump()}


@router.get("/customers/{external_customer_id}")
@reads_only
async def get_customer(
    external_customer_id: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    customer = await find_customer(session, org.id, external_customer_id)
    return {"customer": (await _render(session, org, [customer]))[0]}


@router.delete("/customers/{external_customer_id}")
async def delete_customer(
    external_customer_id: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    customer = await find_customer(session, org.id, external_customer_id, for_update=True)
    now = utcnow()
    customer.deleted_at = now
    await session.execute(
        update(AppliedCoupon)
        .where(AppliedCoupon.customer_id == customer.id, AppliedCoupon.status == "active")
        .values(status="terminated", terminated_at=now)
    )
    await session.commit()
    return {"customer": (await _render(session, org, [customer]))[0]}
