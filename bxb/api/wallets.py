"""/api/v1/wallets and /api/v1/customers/{external_customer_id}/wallets (Lago-compatible).

- A customer may hold several active wallets, each with a `code` unique among its active
  ones (generated from the name when not given, as Lago does) and a `priority` (1 pays
  first, 50 last; Lago's default 50). Its currency is the customer's; a customer without
  one takes the wallet's.
- Deleting a wallet terminates it and voids its remaining credits.
- Expiry is applied whenever a wallet is read, listed, topped up or consumed (see
  bxb.ledger.wallets), in the customer's time (its test clock's, when on one).
- Paid credits are billed by a credit invoice whose collection starts after the commit;
  they must lie within the wallet's paid top-up limits unless
  `ignore_paid_top_up_limits_on_creation` is set.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.customers import find_customer
from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep
from bxb.api.errors import not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.wallets import (
    CustomerWalletCreateBody,
    WalletCreate,
    WalletCreateBody,
    WalletUpdateBody,
)
from bxb.billing.wallets import ZERO, is_expired
from bxb.core.customer_clock import customer_now
from bxb.core.settings import Settings
from bxb.core.temporal import TemporalConnector
from bxb.lago_objects.wallets import wallet_object
from bxb.ledger import wallet_rules, wallet_settings, wallet_topups
from bxb.ledger.wallet_topups import TopUp, TopUpRequest, amount_errors, top_up
from bxb.ledger.wallets import expire_if_due, lock_wallet, refresh_expiry, terminate
from bxb.models import Customer, RecurringTransactionRule, Wallet

router = APIRouter(prefix="/api/v1", tags=["wallets"])


def parse_uuid(value: str, resource: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found(resource) from None


async def find_wallet(
    session: AsyncSession, organization_id: uuid.UUID, lago_id: str, *, for_update: bool = False
) -> tuple[Wallet, Customer]:
    """The organization's wallet by lago_id (404 wallet_not_found) and its customer."""
    wallet_id = parse_uuid(lago_id, "wallet")
    found = await session.get(Wallet, wallet_id)
    if found is None or found.organization_id != organization_id:
        raise not_found("wallet")
    wallet = await lock_wallet(session, wallet_id) if for_update else found
    customer = await session.get(Customer, wallet.customer_id)
    assert customer is not None
    return wallet, customer


async def find_customer_wallet(
    session: AsyncSession,
    organization_id: uuid.UUID,
    external_customer_id: str,
    code: str,
    *,
    for_update: bool = False,
) -> tuple[Wallet, Customer]:
    """A customer's wallet by code: the active one, else the latest terminated one."""
    customer = await find_customer(session, organization_id, external_customer_id)
    wallet = await session.scalar(
        select(Wallet)
        .where(Wallet.customer_id == customer.id, Wallet.code == code)
        .order_by((Wallet.status == "active").desc(), Wallet.created_at.desc())
        .limit(1)
    )
    if wallet is None:
        raise not_found("wallet")
    if for_update:
        wallet = await lock_wallet(session, wallet.id)
    return wallet, customer


async def current(session: AsyncSession, wallet: Wallet, customer: Customer) -> Wallet:
    """A wallet as of its customer's now: a due expiry is applied (and committed) first."""
    if await refresh_expiry(session, wallet, await customer_now(session, customer)):
        await session.commit()
    return wallet


async def rules_of(
    session: AsyncSession, wallet_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[RecurringTransactionRule]]:
    rules: dict[uuid.UUID, list[RecurringTransactionRule]] = {i: [] for i in wallet_ids}
    rows = await session.scalars(
        select(RecurringTransactionRule)
        .where(RecurringTransactionRule.wallet_id.in_(list(wallet_ids)))
        .order_by(RecurringTransactionRule.created_at, RecurringTransactionRule.id)
    )
    for rule in rows:
        rules[rule.wallet_id].append(rule)
    return rules


async def respond(session: AsyncSession, wallet: Wallet) -> dict[str, Any]:
    customer = await session.get(Customer, wallet.customer_id)
    assert customer is not None
    rules = await rules_of(session, [wallet.id])
    return {"wallet": wallet_object(wallet, customer.external_id, rules[wallet.id])}


async def _after_commit(temporal: TemporalConnector, settings: Settings, result: TopUp) -> None:
    await wallet_topups.after_commit(temporal.client, settings.temporal_task_queue, result)


def _check_expiration(expiration_at: datetime | None, now: datetime) -> None:
    if is_expired(expiration_at, now):
        raise validation_error({"expiration_at": ["invalid_date"]})


async def _create(
    session: AsyncSession,
    organization_id: uuid.UUID,
    external_customer_id: str,
    data: WalletCreate,
) -> tuple[Wallet, TopUp]:
    # The customer's lock serializes wallet creation (codes) and its currency.
    customer = await find_customer(session, organization_id, external_customer_id, for_update=True)
    now = await customer_now(session, customer)
    _check_expiration(data.expiration_at, now)
    given = data.model_dump(exclude_unset=True, include=set(wallet_settings.SETTINGS))
    errors = await wallet_settings.check(session, organization_id, None, given)
    request = TopUpRequest(
        paid_credits=data.paid_credits or Decimal(0),
        granted_credits=data.granted_credits or Decimal(0),
        name=data.transaction_name,
        metadata=[entry.model_dump() for entry in data.transaction_metadata or []],
        ignore_paid_top_up_limits=bool(data.ignore_paid_top_up_limits_on_creation),
    )
    errors |= amount_errors(
        data.rate_amount,
        data.currency,
        request,
        ZERO,
        minimum=data.paid_top_up_min_amount_cents,
        maximum=data.paid_top_up_max_amount_cents,
    )
    rules = wallet_rules.parse(data.recurring_transaction_rules, errors)
    if data.code is not None and await wallet_settings.code_taken(session, customer.id, data.code):
        errors["code"] = ["value_already_exist"]
    if errors:
        raise validation_error(errors)
    if customer.currency is None:
        customer.currency = data.currency
    elif customer.currency != data.currency:
        raise validation_error({"currency": ["currencies_does_not_match"]})
    # An expired wallet is terminated (and frees its code) before the new one exists.
    actives = await session.scalars(
        select(Wallet).where(Wallet.customer_id == customer.id, Wallet.status == "active")
    )
    for active in list(actives):
        await refresh_expiry(session, active, now)
    await session.flush()
    code = data.code or await wallet_settings.generated_code(session, customer.id, data.name, now)
    if data.code is not None and await wallet_settings.code_taken(session, customer.id, code):
        raise validation_error({"code": ["value_already_exist"]})
    wallet = Wallet(
        id=uuid.uuid4(),
        organization_id=organization_id,
        customer_id=customer.id,
        status="active",
        name=data.name,
        code=code,
        currency=data.currency,
        rate_amount=data.rate_amount,
        credits_balance=Decimal(0),
        balance_cents=0,
        consumed_credits=Decimal(0),
        consumed_amount_cents=0,
        expiration_at=data.expiration_at,
        created_at=now,
        priority=50,
        allowed_fee_types=[],
        billable_metric_codes=[],
        traceable=True,
    )
    wallet_settings.apply(wallet, given)
    session.add(wallet)
    await session.flush()
    wallet_rules.replace(session, wallet, rules, now)
    request_with_flag = TopUpRequest(
        paid_credits=request.paid_credits,
        granted_credits=request.granted_credits,
        name=request.name,
        metadata=request.metadata,
        ignore_paid_top_up_limits=True,  # checked above
        invoice_requires_successful_payment=data.invoice_requires_successful_payment,
    )
    result = await top_up(session, wallet, customer, request_with_flag, now)
    return wallet, result


async def _update(
    session: AsyncSession, wallet: Wallet, customer: Customer, body: WalletUpdateBody
) -> Wallet:
    now = await customer_now(session, customer)
    data = body.wallet
    changes = data.model_dump(exclude_unset=True, include={"name", "code", "expiration_at"})
    given = data.model_dump(exclude_unset=True, include=set(wallet_settings.SETTINGS))
    if await expire_if_due(session, wallet, now):
        await session.commit()
    if wallet.status != "active":
        raise validation_error({"wallet": ["wallet_is_terminated"]})
    if "expiration_at" in changes:
        _check_expiration(changes["expiration_at"], now)
    errors = await wallet_settings.check(session, wallet.organization_id, wallet, given)
    rules = None
    if "recurring_transaction_rules" in data.model_fields_set:
        rules = wallet_rules.parse(data.recurring_transaction_rules, errors)
    code = changes.get("code")
    if code is not None and await wallet_settings.code_taken(
        session, wallet.customer_id, code, besides=wallet.id
    ):
        errors["code"] = ["value_already_exist"]
    if errors:
        raise validation_error(errors)
    if "code" in changes and changes["code"] is None:
        del changes["code"]  # Lago keeps the code when none is given
    for key, value in changes.items():
        setattr(wallet, key, value)
    wallet_settings.apply(wallet, given)
    if rules is not None:
        existing = (await rules_of(session, [wallet.id]))[wallet.id]
        wallet_rules.replace(session, wallet, rules, now, existing)
    await session.commit()
    return wallet


async def _terminate(session: AsyncSession, wallet: Wallet, customer: Customer) -> Wallet:
    now = await customer_now(session, customer)
    await expire_if_due(session, wallet, now)
    await terminate(session, wallet, now)  # terminating twice changes nothing
    await session.commit()
    return wallet


# --- by lago_id ---------------------------------------------------------------------------


@router.post("/wallets")
async def create_wallet(
    body: WalletCreateBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    wallet, result = await _create(session, org.id, body.wallet.external_customer_id, body.wallet)
    await session.commit()
    await _after_commit(temporal, settings, result)
    return await respond(session, wallet)


async def _list(
    session: AsyncSession, query: Any, page: Any, customers: dict[uuid.UUID, Customer] | None
) -> dict[str, Any]:
    wallets, meta = await paginate(
        session,
        query.order_by(Wallet.created_at.desc(), Wallet.id.desc()),
        page,
    )
    if customers is None:
        customers = await _customers(session, [w.customer_id for w in wallets])
    changed = False
    for wallet in wallets:
        now = await customer_now(session, customers[wallet.customer_id])
        changed |= await refresh_expiry(session, wallet, now)
    if changed:
        await session.commit()
    rules = await rules_of(session, [w.id for w in wallets])
    return {
        "wallets": [
            wallet_object(w, customers[w.customer_id].external_id, rules[w.id]) for w in wallets
        ],
        "meta": meta.model_dump(),
    }


@router.get("/wallets")
async def list_wallets(
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    external_customer_id: str | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    query = select(Wallet).where(Wallet.organization_id == org.id)
    if external_customer_id is not None:
        customer = await find_customer(session, org.id, external_customer_id)
        query = query.where(Wallet.customer_id == customer.id)
    if currency is not None:
        query = query.where(Wallet.currency == currency)
    return await _list(session, query, page, None)


async def _customers(
    session: AsyncSession, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Customer]:
    rows = await session.scalars(select(Customer).where(Customer.id.in_(set(customer_ids))))
    return {customer.id: customer for customer in rows}


@router.get("/wallets/{lago_id}")
async def get_wallet(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    wallet, customer = await find_wallet(session, org.id, lago_id)
    return await respond(session, await current(session, wallet, customer))


@router.put("/wallets/{lago_id}")
async def update_wallet(
    lago_id: str, body: WalletUpdateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    wallet, customer = await find_wallet(session, org.id, lago_id, for_update=True)
    return await respond(session, await _update(session, wallet, customer, body))


@router.delete("/wallets/{lago_id}")
async def terminate_wallet(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    wallet, customer = await find_wallet(session, org.id, lago_id, for_update=True)
    return await respond(session, await _terminate(session, wallet, customer))


# --- by customer and code -----------------------------------------------------------------

CUSTOMER_WALLETS = "/customers/{external_customer_id}/wallets"


@router.post(CUSTOMER_WALLETS)
async def create_customer_wallet(
    external_customer_id: str,
    body: CustomerWalletCreateBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    wallet, result = await _create(session, org.id, external_customer_id, body.wallet)
    await session.commit()
    await _after_commit(temporal, settings, result)
    return await respond(session, wallet)


@router.get(CUSTOMER_WALLETS)
async def list_customer_wallets(
    external_customer_id: str, org: OrgDep, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    customer = await find_customer(session, org.id, external_customer_id)
    query = select(Wallet).where(
        Wallet.organization_id == org.id, Wallet.customer_id == customer.id
    )
    return await _list(session, query, page, {customer.id: customer})


@router.get(CUSTOMER_WALLETS + "/{code}")
async def get_customer_wallet(
    external_customer_id: str, code: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    wallet, customer = await find_customer_wallet(session, org.id, external_customer_id, code)
    return await respond(session, await current(session, wallet, customer))


@router.put(CUSTOMER_WALLETS + "/{code}")
async def update_customer_wallet(
    external_customer_id: str,
    code: str,
    body: WalletUpdateBody,
    org: OrgDep,
    session: SessionDep,
) -> dict[str, Any]:
    wallet, customer = await find_customer_wallet(
        session, org.id, external_customer_id, code, for_update=True
    )
    return await respond(session, await _update(session, wallet, customer, body))


@router.delete(CUSTOMER_WALLETS + "/{code}")
async def terminate_customer_wallet(
    external_customer_id: str, code: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    wallet, customer = await find_customer_wallet(
        session, org.id, external_customer_id, code, for_update=True
    )
    return await respond(session, await _terminate(session, wallet, customer))
