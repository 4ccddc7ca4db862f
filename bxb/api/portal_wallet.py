"""/api/v1/portal/wallet: the portal customer's active wallet, its transactions, and
buying credits (a paid-credits transaction billed by a credit invoice, as
POST /api/v1/wallet_transactions does; the balance grows when that invoice is paid; an
`Idempotency-Key` header makes a repeated purchase buy once)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Header
from sqlalchemy import select

from bxb.api.deps import SettingsDep, TemporalDep
from bxb.api.errors import not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.portal import PortalTopUpBody
from bxb.core.customer_clock import customer_now
from bxb.ledger import wallet_topups
from bxb.ledger.wallet_topups import TopUpRequest, amount_errors, top_up
from bxb.ledger.wallets import balance_of, expire_if_due, lock_wallet, refresh_expiry
from bxb.models import PortalTopUp, Wallet, WalletTransaction
from bxb.portal.auth import PortalCustomer, PortalCustomerDep, PortalSessionDep
from bxb.portal.shapes import wallet_object, wallet_transaction_object

router = APIRouter(prefix="/api/v1/portal", tags=["portal"])


async def _active_wallet(session: PortalSessionDep, portal: PortalCustomer) -> Wallet:
    """The customer's first active wallet in Lago's order (priority, then creation) as of
    its now (a due expiry applied), or 404."""
    wallet = await session.scalar(
        select(Wallet)
        .where(
            Wallet.organization_id == portal.organization.id,
            Wallet.customer_id == portal.customer.id,
            Wallet.status == "active",
        )
        .order_by(Wallet.priority, Wallet.created_at, Wallet.id)
        .limit(1)
    )
    if wallet is None:
        raise not_found("wallet")
    if await refresh_expiry(session, wallet, await customer_now(session, portal.customer)):
        await session.commit()
        raise not_found("wallet")
    return wallet


@router.get("/wallet")
async def get_wallet(portal: PortalCustomerDep, session: PortalSessionDep) -> dict[str, Any]:
    return {"wallet": wallet_object(await _active_wallet(session, portal))}


@router.get("/wallet/wallet_transactions")
async def list_wallet_transactions(
    portal: PortalCustomerDep, session: PortalSessionDep, page: PageDep
) -> dict[str, Any]:
    wallet = await _active_wallet(session, portal)
    query = (
        select(WalletTransaction)
        .where(
            WalletTransaction.organization_id == portal.organization.id,
            WalletTransaction.wallet_id == wallet.id,
        )
        .order_by(WalletTransaction.created_at.desc(), WalletTransaction.id.desc())
    )
    rows, meta = await paginate(session, query, page)
    return {
        "wallet_transactions": [wallet_transaction_object(r, wallet.currency) for r in rows],
        "meta": meta.model_dump(),
    }


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


@router.post("/wallet/wallet_transactions")
async def top_up_wallet(
    body: PortalTopUpBody,
    portal: PortalCustomerDep,
    session: PortalSessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Buy credits. With an `Idempotency-Key` header, a repeated request answers with the
    purchase the first one made and buys nothing more (checked under the wallet's lock)."""
    found = await _active_wallet(session, portal)
    wallet = await lock_wallet(session, found.id)
    if idempotency_key is not None:
        earlier = await session.scalar(
            select(WalletTransaction)
            .join(PortalTopUp, PortalTopUp.wallet_transaction_id == WalletTransaction.id)
            .where(
                PortalTopUp.customer_id == portal.customer.id,
                PortalTopUp.idempotency_key == idempotency_key,
            )
        )
        if earlier is not None:
            return {"wallet_transactions": [wallet_transaction_object(earlier, wallet.currency)]}
    now = await customer_now(session, portal.customer)
    if await expire_if_due(session, wallet, now):
        await session.commit()
    if wallet.status != "active":
        raise not_found("wallet")
    request = TopUpRequest(paid_credits=body.wallet_transaction.paid_credits or Decimal(0))
    errors = amount_errors(
        wallet.rate_amount,
        wallet.currency,
        request,
        balance_of(wallet),
        minimum=wallet.paid_top_up_min_amount_cents,
        maximum=wallet.paid_top_up_max_amount_cents,
    )
    if request.paid_credits <= 0:
        errors = {"paid_credits": ["invalid_paid_credits"]}
    if errors:
        raise validation_error(errors)
    result = await top_up(session, wallet, portal.customer, request, now)
    if idempotency_key is not None:
        [purchase] = result.transactions
        session.add(
            PortalTopUp(
                organization_id=portal.organization.id,
                customer_id=portal.customer.id,
                idempotency_key=idempotency_key,
                wallet_transaction_id=purchase.id,
            )
        )
    await session.commit()
    await wallet_topups.after_commit(temporal.client, settings.temporal_task_queue, result)
    return {
        "wallet_transactions": [
            wallet_transaction_object(row, wallet.currency) for row in result.transactions
        ]
    }
