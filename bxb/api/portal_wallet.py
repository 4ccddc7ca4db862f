"""/api/v1/portal/wallet: the portal customer's active wallet, its transactions, and
buying credits (a paid-credits transaction billed by a credit invoice, as
POST /api/v1/wallet_transactions does; the balance grows when that invoice is paid)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from bxb.api.deps import SettingsDep, TemporalDep
from bxb.api.errors import not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.portal import PortalTopUpBody
from bxb.core.customer_clock import customer_now
from bxb.ledger import wallet_topups
from bxb.ledger.wallet_topups import TopUpRequest, amount_errors, top_up
from bxb.ledger.wallets import balance_of, expire_if_due, lock_wallet, refresh_expiry
from bxb.models import Wallet, WalletTransaction
from bxb.portal.auth import PortalCustomer, PortalCustomerDep, PortalSessionDep
from bxb.portal.shapes import wallet_object, wallet_transaction_object

router = APIRouter(prefix="/api/v1/portal", tags=["portal"])


async def _active_wallet(session: PortalSessionDep, portal: PortalCustomer) -> Wallet:
    """The customer's active wallet as of its now (a due expiry applied), or 404."""
    wallet = await session.scalar(
        select(Wallet).where(
            Wallet.organization_id == portal.organization.id,
            Wallet.customer_id == portal.customer.id,
            Wallet.status == "active",
        )
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


@router.post("/wallet/wallet_transactions")
async def top_up_wallet(
    body: PortalTopUpBody,
    portal: PortalCustomerDep,
    session: PortalSessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    found = await _active_wallet(session, portal)
    wallet = await lock_wallet(session, found.id)
    now = await customer_now(session, portal.customer)
    if expire_if_due(session, wallet, now):
        await session.commit()
    if wallet.status != "active":
        raise not_found("wallet")
    request = TopUpRequest(paid_credits=body.wallet_transaction.paid_credits or Decimal(0))
    errors = amount_errors(wallet.rate_amount, wallet.currency, request, balance_of(wallet))
    if request.paid_credits <= 0:
        errors = {"paid_credits": ["invalid_paid_credits"]}
    if errors:
        raise validation_error(errors)
    result = await top_up(session, wallet, portal.customer, request, now)
    await session.commit()
    await wallet_topups.after_commit(temporal.client, settings.temporal_task_queue, result)
    return {
        "wallet_transactions": [
            wallet_transaction_object(row, wallet.currency) for row in result.transactions
        ]
    }
