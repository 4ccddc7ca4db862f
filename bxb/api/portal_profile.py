"""GET/PUT /api/v1/portal/profile: the portal customer's billing details."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from bxb.api.schemas.portal import PortalProfileBody
from bxb.portal.auth import PortalCustomerDep, PortalSessionDep
from bxb.portal.shapes import profile_object

router = APIRouter(prefix="/api/v1/portal", tags=["portal"])


@router.get("/profile")
async def get_profile(portal: PortalCustomerDep) -> dict[str, Any]:
    return {"customer": profile_object(portal.customer, portal.organization)}


@router.put("/profile")
async def update_profile(
    body: PortalProfileBody, portal: PortalCustomerDep, session: PortalSessionDep
) -> dict[str, Any]:
    customer = portal.customer
    for field, value in body.customer.model_dump(exclude_unset=True).items():
        setattr(customer, field, value)
    await session.commit()
    await session.refresh(customer)
    return {"customer": profile_object(customer, portal.organization)}
