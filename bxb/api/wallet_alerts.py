"""/api/v1/customers/{external_customer_id}/wallets/{wallet_code}/alerts: balance alerts.

Lago's wallet alert types (wallet_balance_amount, wallet_credits_balance and their
ongoing variants) fire when the balance falls to or below a threshold; the same six
operations as a subscription's alerts (bxb.api.alerts).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.alerts import (
    CREATE_BODY,
    UPDATE_BODY,
    JsonBody,
    create_alerts,
    delete_alert,
    delete_all,
    get_alert,
    list_alerts,
    update_alert,
)
from bxb.api.customers import find_customer
from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import not_found
from bxb.api.pagination import PageDep
from bxb.ledger.alerts import Owner
from bxb.models import Wallet

router = APIRouter(prefix="/api/v1", tags=["wallets"])
PATH = "/customers/{external_customer_id}/wallets/{wallet_code}/alerts"


async def wallet_owner(
    session: AsyncSession, organization_id: Any, external_customer_id: str, wallet_code: str
) -> Owner:
    customer = await find_customer(session, organization_id, external_customer_id)
    wallet = await session.scalar(
        select(Wallet)
        .where(Wallet.customer_id == customer.id, Wallet.code == wallet_code)
        .order_by((Wallet.status == "active").desc(), Wallet.created_at.desc())
        .limit(1)
    )
    if wallet is None:
        raise not_found("wallet")
    return Owner(organization_id=organization_id, wallet=wallet)


@router.get(PATH)
async def list_wallet_alerts(
    external_customer_id: str, wallet_code: str, org: OrgDep, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    owner = await wallet_owner(session, org.id, external_customer_id, wallet_code)
    return await list_alerts(session, owner, page)


@router.post(PATH, openapi_extra=CREATE_BODY)
async def create_wallet_alerts(
    external_customer_id: str, wallet_code: str, body: JsonBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    owner = await wallet_owner(session, org.id, external_customer_id, wallet_code)
    return await create_alerts(session, owner, body)


@router.delete(PATH)
async def delete_wallet_alerts(
    external_customer_id: str, wallet_code: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    owner = await wallet_owner(session, org.id, external_customer_id, wallet_code)
    return await delete_all(session, owner)


@router.get(PATH + "/{code}")
async def get_wallet_alert(
    external_customer_id: str, wallet_code: str, code: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    owner = await wallet_owner(session, org.id, external_customer_id, wallet_code)
    return await get_alert(session, owner, code)


@router.put(PATH + "/{code}", openapi_extra=UPDATE_BODY)
async def update_wallet_alert(
    external_customer_id: str,
    wallet_code: str,
    code: str,
    body: JsonBody,
    org: OrgDep,
    session: SessionDep,
) -> dict[str, Any]:
    owner = await wallet_owner(session, org.id, external_customer_id, wallet_code)
    return await update_alert(session, owner, code, body)


@router.delete(PATH + "/{code}")
async def delete_wallet_alert(
    external_customer_id: str, wallet_code: str, code: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    owner = await wallet_owner(session, org.id, external_customer_id, wallet_code)
    return await delete_alert(session, owner, code)
