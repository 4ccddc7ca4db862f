"""/api/v1/wallets and /api/v1/wallet_transactions: prepaid credits (Lago-compatible).

- A customer has one active wallet at a time (422 `wallet_already_exists`). Its currency
  is the customer's; a customer without one takes the wallet's.
- Deleting a wallet terminates it and voids its remaining credits.
- Expiry is applied whenever a wallet is read, listed, topped up or consumed (see
  bxb.ledger.wallets), in the customer's time (its test clock's, when on one).
- Paid credits are billed by a credit invoice whose collection starts after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.customers import find_customer
from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep
from bxb.api.errors import not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.wallets import WalletCreateBody, WalletTransactionCreateBody, WalletUpdateBody
from bxb.billing.wallets import ZERO, is_expired
from bxb.core.customer_clock import customer_now
from bxb.core.settings import Settings
from bxb.core.temporal import TemporalConnector
from bxb.lago_objects.wallets import wallet_object, wallet_transaction_object
from bxb.ledger import wallet_topups
from bxb.ledger.wallet_topups import TopUp, TopUpRequest, amount_errors, top_up
from bxb.ledger.wallets import (
    balance_of,
    expire_if_due,
    lock_wallet,
    refresh_expiry,
    terminate,
)
from bxb.models import Customer, Wallet, WalletTransaction

router = APIRouter(prefix="/api/v1", tags=["wallets"])


def _uuid(value: str, resource: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found(resource) from None


async def _find(
    session: AsyncSession, organization_id: uuid.UUID, lago_id: str, *, for_update: bool = False
) -> tuple[Wallet, Customer]:
    """The organization's wallet by lago_id (404 wallet_not_found) and its customer."""
    wallet_id = _uuid(lago_id, "wallet")
    found = await session.get(Wallet, wallet_id)
    if found is None or found.organization_id != organization_id:
        raise not_found("wallet")
    wallet = await lock_wallet(session, wallet_id) if for_update else found
    customer = await session.get(Customer, wallet.customer_id)
    assert customer is not None
    return wallet, customer


async def _current(session: AsyncSession, organization_id: uuid.UUID, lago_id: str) -> Wallet:
    """A wallet as of its customer's now: a due expiry is applied (and committed) first."""
    wallet, customer = await _find(session, organization_id, lago_id)
    if await refresh_expiry(session, wallet, await customer_now(session, customer)):
        await session.commit()
    return wallet


async def _respond(session: AsyncSession, wallet: Wallet) -> dict[str, Any]:
    customer = await session.get(Customer, wallet.customer_id)
    assert customer is not None
    return {"wallet": wallet_object(wallet, customer.external_id)}


async def _after_commit(temporal: TemporalConnector, settings: Settings, result: TopUp) -> None:
    await wallet_topups.after_commit(temporal.client, settings.temporal_task_queue, result)


def _check_expiration(expiration_at: datetime | None, now: datetime) -> None:
    if is_expired(expiration_at, now):
        raise validation_error({"expiration_at": ["invalid_date"]})


@router.post("/wallets")
async def create_wallet(
    body: WalletCreateBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    data = body.wallet
    # The customer's lock serializes wallet creation (one active wallet) and its currency.
    customer = await find_customer(session, org.id, data.external_customer_id, for_update=True)
    now = await customer_now(session, customer)
    _check_expiration(data.expiration_at, now)
    request = TopUpRequest(
        paid_credits=data.paid_credits or Decimal(0),
        granted_credits=data.granted_credits or Decimal(0),
        name=data.transaction_name,
    )
    errors = amount_errors(data.rate_amount, data.currency, request, ZERO)
    if errors:
        raise validation_error(errors)
    if customer.currency is None:
        customer.currency = data.currency
    elif customer.currency != data.currency:
        raise validation_error({"currency": ["currencies_does_not_match"]})
    active = await session.scalar(
        select(Wallet).where(Wallet.customer_id == customer.id, Wallet.status == "active")
    )
    if active is not None:
        await refresh_expiry(session, active, now)
        if active.status == "active":
            raise validation_error({"customer": ["wallet_already_exists"]})
        await session.flush()  # the expired wallet is terminated before the new one exists
    wallet = Wallet(
        organization_id=org.id,
        customer_id=customer.id,
        status="active",
        name=data.name,
        code=data.code,
        currency=data.currency,
        rate_amount=data.rate_amount,
        credits_balance=Decimal(0),
        balance_cents=0,
        consumed_credits=Decimal(0),
        consumed_amount_cents=0,
        expiration_at=data.expiration_at,
        created_at=now,
    )
    session.add(wallet)
    await session.flush()
    result = await top_up(session, wallet, customer, request, now)
    await session.commit()
    await _after_commit(temporal, settings, result)
    return await _respond(session, wallet)


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
    wallets, meta = await paginate(
        session, query.order_by(Wallet.created_at.desc(), Wallet.id.desc()), page
    )
    customers = await _customers(session, [w.customer_id for w in wallets])
    changed = False
    for wallet in wallets:
        now = await customer_now(session, customers[wallet.customer_id])
        changed |= await refresh_expiry(session, wallet, now)
    if changed:
        await session.commit()
    return {
        "wallets": [wallet_object(w, customers[w.customer_id].external_id) for w in wallets],
        "meta": meta.model_dump(),
    }


async def _customers(
    session: AsyncSession, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Customer]:
    rows = await session.scalars(select(Customer).where(Customer.id.in_(set(customer_ids))))
    return {customer.id: customer for customer in rows}


@router.get("/wallets/{lago_id}")
async def get_wallet(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    return await _respond(session, await _current(session, org.id, lago_id))


@router.put("/wallets/{lago_id}")
async def update_wallet(
    lago_id: str, body: WalletUpdateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    wallet, customer = await _find(session, org.id, lago_id, for_update=True)
    now = await customer_now(session, customer)
    changes = body.wallet.model_dump(exclude_unset=True, include={"name", "code", "expiration_at"})
    if expire_if_due(session, wallet, now):
        await session.commit()
    if wallet.status != "active":
        raise validation_error({"wallet": ["wallet_is_terminated"]})
    if "expiration_at" in changes:
        _check_expiration(changes["expiration_at"], now)
    for key, value in changes.items():
        setattr(wallet, key, value)
    await session.commit()
    return await _respond(session, wallet)


@router.delete("/wallets/{lago_id}")
async def terminate_wallet(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    wallet, customer = await _find(session, org.id, lago_id, for_update=True)
    now = await customer_now(session, customer)
    expire_if_due(session, wallet, now)
    terminate(session, wallet, now)  # terminating twice changes nothing
    await session.commit()
    return await _respond(session, wallet)


# --- transactions ------------------------------------------------------------------------


@router.post("/wallet_transactions")
async def create_wallet_transactions(
    body: WalletTransactionCreateBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    data = body.wallet_transaction
    wallet, customer = await _find(session, org.id, data.wallet_id, for_update=True)
    now = await customer_now(session, customer)
    if expire_if_due(session, wallet, now):
        await session.commit()
    if wallet.status != "active":
        raise validation_error({"wallet_id": ["wallet_is_terminated"]})
    request = TopUpRequest(
        paid_credits=data.paid_credits or Decimal(0),
        granted_credits=data.granted_credits or Decimal(0),
        voided_credits=data.voided_credits or Decimal(0),
        name=data.name,
        metadata=[entry.model_dump() for entry in data.metadata or []],
    )
    errors = amount_errors(wallet.rate_amount, wallet.currency, request, balance_of(wallet))
    if request.voided_credits > wallet.credits_balance:
        errors["voided_credits"] = ["insufficient_credits"]
    if errors:
        raise validation_error(errors)
    result = await top_up(session, wallet, customer, request, now)
    await session.commit()
    await _after_commit(temporal, settings, result)
    return {
        "wallet_transactions": [
            wallet_transaction_object(row, wallet.currency) for row in result.transactions
        ]
    }


TransactionStatus = Literal["purchased", "granted", "voided", "invoiced"]


@router.get("/wallets/{lago_id}/wallet_transactions")
async def list_wallet_transactions(
    lago_id: str,
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    status: Literal["pending", "settled", "failed"] | None = None,
    transaction_status: TransactionStatus | None = None,
    transaction_type: Literal["inbound", "outbound"] | None = None,
) -> dict[str, Any]:
    wallet = await _current(session, org.id, lago_id)
    query = select(WalletTransaction).where(WalletTransaction.wallet_id == wallet.id)
    if status is not None:
        query = query.where(WalletTransaction.status == status)
    if transaction_status is not None:
        query = query.where(WalletTransaction.transaction_status == transaction_status)
    if transaction_type is not None:
        query = query.where(WalletTransaction.transaction_type == transaction_type)
    query = query.order_by(WalletTransaction.created_at.desc(), WalletTransaction.id.desc())
    rows, meta = await paginate(session, query, page)
    return {
        "wallet_transactions": [wallet_transaction_object(r, wallet.currency) for r in rows],
        "meta": meta.model_dump(),
    }


@router.get("/wallet_transactions/{lago_id}")
async def get_wallet_transaction(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    row = await session.get(WalletTransaction, _uuid(lago_id, "wallet_transaction"))
    if row is None or row.organization_id != org.id:
        raise not_found("wallet_transaction")
    wallet = await session.get(Wallet, row.wallet_id)
    assert wallet is not None
    return {"wallet_transaction": wallet_transaction_object(row, wallet.currency)}
