"""/api/v1/wallet_transactions (Lago-compatible): top-ups, reads, a purchase's payment
URL, and the consumptions and fundings of a traceable wallet's transactions.

- Paid credits outside the wallet's paid top-up limits get Lago's 422
  (`amount_below_minimum` / `amount_above_maximum`) unless `ignore_paid_top_up_limits`.
- Voided credits may cross the wallet's threshold rule: its top-up is made in the same
  transaction (the answer lists the request's own transactions only).
- `GET /wallet_transactions/{id}/consumptions` (an inbound transaction: the outbound ones
  that drew from it) and `/fundings` (an outbound one: the inbound ones it drew from), as
  Lago's WalletTransactionConsumptionsQuery: 422 `not_traceable` on wallets made before
  bxb recorded them, 422 `invalid_transaction_type` for the other direction.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.checkout_links import PROVIDER_ERRORS, provider_error
from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep
from bxb.api.errors import not_found, validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.wallets import WalletTransactionCreateBody
from bxb.api.wallets import current, find_wallet, parse_uuid
from bxb.core.customer_clock import customer_now
from bxb.lago_objects.wallets import consumption_object, wallet_transaction_object
from bxb.ledger import wallet_recurring, wallet_topups
from bxb.ledger.wallet_topups import TopUpRequest, amount_errors, top_up
from bxb.ledger.wallets import balance_of, expire_if_due
from bxb.models import Customer, Invoice, Wallet, WalletTransaction, WalletTransactionConsumption
from bxb.payments.checkout import invoice_payment_url

router = APIRouter(prefix="/api/v1", tags=["wallets"])


async def _find_transaction(
    session: AsyncSession, organization_id: Any, lago_id: str
) -> tuple[WalletTransaction, Wallet]:
    row = await session.get(WalletTransaction, parse_uuid(lago_id, "wallet_transaction"))
    if row is None or row.organization_id != organization_id:
        raise not_found("wallet_transaction")
    wallet = await session.get(Wallet, row.wallet_id)
    assert wallet is not None
    return row, wallet


@router.post("/wallet_transactions")
async def create_wallet_transactions(
    body: WalletTransactionCreateBody,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    data = body.wallet_transaction
    wallet, customer = await find_wallet(session, org.id, data.wallet_id, for_update=True)
    now = await customer_now(session, customer)
    if await expire_if_due(session, wallet, now):
        await session.commit()
    if wallet.status != "active":
        raise validation_error({"wallet_id": ["wallet_is_terminated"]})
    request = TopUpRequest(
        paid_credits=data.paid_credits or Decimal(0),
        granted_credits=data.granted_credits or Decimal(0),
        voided_credits=data.voided_credits or Decimal(0),
        name=data.name,
        metadata=[entry.model_dump() for entry in data.metadata or []],
        ignore_paid_top_up_limits=bool(data.ignore_paid_top_up_limits),
        invoice_requires_successful_payment=data.invoice_requires_successful_payment,
    )
    errors = amount_errors(
        wallet.rate_amount,
        wallet.currency,
        request,
        balance_of(wallet),
        minimum=wallet.paid_top_up_min_amount_cents,
        maximum=wallet.paid_top_up_max_amount_cents,
    )
    if request.voided_credits > wallet.credits_balance:
        errors["voided_credits"] = ["insufficient_credits"]
    if errors:
        raise validation_error(errors)
    result = await top_up(session, wallet, customer, request, now)
    # A void may cross a threshold rule: served in the same transaction (once per crossing).
    automatic = (
        await wallet_recurring.top_up_wallet(session, wallet.id, now)
        if (request.voided_credits > 0)
        else []
    )
    await session.commit()
    for done in (result, *automatic):
        await wallet_topups.after_commit(temporal.client, settings.temporal_task_queue, done)
    return {
        "wallet_transactions": [
            wallet_transaction_object(row, wallet) for row in result.transactions
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
    found, customer = await find_wallet(session, org.id, lago_id)
    wallet = await current(session, found, customer)
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
        "wallet_transactions": [wallet_transaction_object(r, wallet) for r in rows],
        "meta": meta.model_dump(),
    }


@router.get("/wallet_transactions/{lago_id}")
async def get_wallet_transaction(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    row, wallet = await _find_transaction(session, org.id, lago_id)
    return {"wallet_transaction": wallet_transaction_object(row, wallet)}


async def _links(
    session: AsyncSession, organization_id: Any, lago_id: str, page: Any, direction: str
) -> dict[str, Any]:
    row, wallet = await _find_transaction(session, organization_id, lago_id)
    if not wallet.traceable:
        raise validation_error({"wallet": ["not_traceable"]})
    consumptions = direction == "consumptions"
    if row.transaction_type != ("inbound" if consumptions else "outbound"):
        raise validation_error({"transaction_type": ["invalid_transaction_type"]})
    own = (
        WalletTransactionConsumption.inbound_wallet_transaction_id
        if consumptions
        else WalletTransactionConsumption.outbound_wallet_transaction_id
    )
    other = (
        WalletTransactionConsumption.outbound_wallet_transaction_id
        if consumptions
        else WalletTransactionConsumption.inbound_wallet_transaction_id
    )
    query = (
        select(WalletTransactionConsumption)
        .where(own == row.id)
        .order_by(WalletTransactionConsumption.created_at, WalletTransactionConsumption.id)
    )
    links, meta = await paginate(session, query, page)
    ids = [getattr(link, other.key) for link in links]
    others = {
        t.id: t
        for t in await session.scalars(
            select(WalletTransaction).where(WalletTransaction.id.in_(ids))
        )
    }
    key = "wallet_transaction_consumptions" if consumptions else "wallet_transaction_fundings"
    return {
        key: [consumption_object(link, others[getattr(link, other.key)], wallet) for link in links],
        "meta": meta.model_dump(),
    }


@router.get("/wallet_transactions/{lago_id}/consumptions")
async def list_wallet_transaction_consumptions(
    lago_id: str, org: OrgDep, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    return await _links(session, org.id, lago_id, page, "consumptions")


@router.get("/wallet_transactions/{lago_id}/fundings")
async def list_wallet_transaction_fundings(
    lago_id: str, org: OrgDep, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    return await _links(session, org.id, lago_id, page, "fundings")


@router.post("/wallet_transactions/{lago_id}/payment_url")
async def wallet_transaction_payment_url(
    lago_id: str, org: OrgDep, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """A hosted page paying the purchase's top-up invoice (Lago's checks first)."""
    row, wallet = await _find_transaction(session, org.id, lago_id)
    if row.transaction_status != "purchased":
        raise validation_error({"base": ["wallet_transaction_not_purchased"]})
    if row.status == "settled":
        raise validation_error({"base": ["wallet_transaction_already_settled"]})
    invoice = await session.get(Invoice, row.invoice_id) if row.invoice_id else None
    if invoice is None:
        raise validation_error({"base": ["wallet_transaction_has_no_attached_invoice"]})
    customer = await session.get(Customer, wallet.customer_id)
    assert customer is not None
    try:
        url = await invoice_payment_url(settings, customer, invoice)
    except PROVIDER_ERRORS as error:
        raise provider_error(error) from error
    return {
        "wallet_transaction_payment_details": {
            "lago_customer_id": str(customer.id),
            "lago_wallet_transaction_id": str(row.id),
            "external_customer_id": customer.external_id,
            "payment_provider": customer.payment_provider,
            "payment_url": url,
        }
    }
