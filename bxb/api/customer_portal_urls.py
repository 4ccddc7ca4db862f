"""GET /api/v1/customers/{external_customer_id}/portal_url (Lago): a link to the customer
portal carrying a signed, short-lived token for this customer (see bxb.portal)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bxb.api.customers import find_customer
from bxb.api.deps import OrgDep, SessionDep, SettingsDep
from bxb.portal.urls import issue_portal_token, portal_url

router = APIRouter(prefix="/api/v1", tags=["customers"])


@router.get("/customers/{external_customer_id}/portal_url")
async def get_portal_url(
    external_customer_id: str, org: OrgDep, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    customer = await find_customer(session, org.id, external_customer_id)
    token = await issue_portal_token(session, settings, customer)
    await session.commit()
    return {"customer": {"portal_url": portal_url(settings, token)}}
