"""/api/v1/dunning_campaigns: Lago's dunning campaigns (served by Lago through GraphQL),
as a REST resource in Lago's style: code as the key, `{"dunning_campaign": ...}` root,
paginated list with `meta`.

One campaign may be the organization's default (`applied_to_organization`); making
another the default takes it from the first. Changing which campaign chases a customer
starts its attempts over (Lago). Thresholds are replaced as a whole, one per currency.
Deleting a campaign soft-deletes it; customers assigned to it fall back to the default.
What the campaigns do: bxb/ledger/dunning_campaigns.py, docs/dunning.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import validation_error
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.dunning_campaigns import (
    DunningCampaignCreateBody,
    DunningCampaignUpdateBody,
    ThresholdIn,
    thresholds_errors,
)
from bxb.lago_objects.dunning_campaigns import dunning_campaign_object
from bxb.ledger.dunning_campaigns import find_campaign
from bxb.models import Customer, DunningCampaign, DunningCampaignThreshold, Organization

router = APIRouter(prefix="/api/v1", tags=["dunning_campaigns"])

_CODE_TAKEN = validation_error({"code": ["value_already_exist"]})


async def _code_taken(
    session: AsyncSession, org: Organization, code: str, campaign: DunningCampaign | None = None
) -> bool:
    query = select(DunningCampaign.id).where(
        DunningCampaign.organization_id == org.id,
        DunningCampaign.code == code,
        DunningCampaign.deleted_at.is_(None),
    )
    if campaign is not None:
        query = query.where(DunningCampaign.id != campaign.id)
    return (await session.scalar(query.limit(1))) is not None


def _chased_by(campaign: DunningCampaign) -> Any:
    """Customers this campaign chases: assigned to it, or falling back to it (default)."""
    assigned = Customer.applied_dunning_campaign_id == campaign.id
    if campaign.applied_to_organization:
        assigned = or_(assigned, Customer.applied_dunning_campaign_id.is_(None))
    return (
        (Customer.organization_id == campaign.organization_id)
        & Customer.deleted_at.is_(None)
        & Customer.exclude_from_dunning_campaign.is_(False)
        & assigned
    )


async def _render(session: AsyncSession, campaign: DunningCampaign) -> dict[str, Any]:
    count = await session.scalar(
        select(func.count()).select_from(Customer).where(_chased_by(campaign))
    )
    return dunning_campaign_object(campaign, int(count or 0))


async def _reset_fallback_customers(session: AsyncSession, org: Organization) -> None:
    """The default campaign changed: customers following it start over (Lago)."""
    await session.execute(
        update(Customer)
        .where(
            Customer.organization_id == org.id,
            Customer.applied_dunning_campaign_id.is_(None),
        )
        .values(
            dunning_currency_attempts={},
            last_dunning_campaign_attempt=0,
            last_dunning_campaign_attempt_at=None,
        )
    )


async def _make_default(
    session: AsyncSession, org: Organization, campaign: DunningCampaign, applied: bool
) -> None:
    if applied == campaign.applied_to_organization:
        return
    if applied:
        await session.execute(
            update(DunningCampaign)
            .where(
                DunningCampaign.organization_id == org.id,
                DunningCampaign.applied_to_organization.is_(True),
                DunningCampaign.deleted_at.is_(None),
            )
            .values(applied_to_organization=False)
        )
    campaign.applied_to_organization = applied
    await _reset_fallback_customers(session, org)


def _replace_thresholds(campaign: DunningCampaign, thresholds: list[ThresholdIn]) -> None:
    """Replace-all by currency; a kept currency keeps its row (and id)."""
    wanted = {t.currency: t.amount_cents for t in thresholds}
    kept = [t for t in campaign.thresholds if t.currency in wanted]
    for threshold in kept:
        threshold.amount_cents = wanted.pop(threshold.currency)
    new = [DunningCampaignThreshold(currency=c, amount_cents=a) for c, a in wanted.items()]
    campaign.thresholds = sorted([*kept, *new], key=lambda t: t.currency)


async def _commit(session: AsyncSession) -> None:
    try:
        await session.commit()
    except IntegrityError:  # pragma: no cover - two requests racing for one code
        await session.rollback()
        raise _CODE_TAKEN from None


@router.post("/dunning_campaigns")
async def create_dunning_campaign(
    body: DunningCampaignCreateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    data = body.dunning_campaign
    errors = thresholds_errors(data.thresholds)
    if errors:
        raise validation_error(errors)
    if await _code_taken(session, org, data.code):
        raise _CODE_TAKEN
    campaign = DunningCampaign(
        organization_id=org.id,
        code=data.code,
        name=data.name,
        description=data.description,
        applied_to_organization=False,
        days_between_attempts=data.days_between_attempts,
        max_attempts=data.max_attempts,
        bcc_emails=list(data.bcc_emails or []),
        thresholds=[],
    )
    _replace_thresholds(campaign, data.thresholds)
    if data.applied_to_organization:
        await _make_default(session, org, campaign, True)
    session.add(campaign)
    await _commit(session)
    return {"dunning_campaign": await _render(session, campaign)}


@router.get("/dunning_campaigns")
async def list_dunning_campaigns(org: OrgDep, session: SessionDep, page: PageDep) -> dict[str, Any]:
    query = (
        select(DunningCampaign)
        .where(DunningCampaign.organization_id == org.id, DunningCampaign.deleted_at.is_(None))
        .order_by(DunningCampaign.created_at.desc(), DunningCampaign.id)
    )
    campaigns, meta = await paginate(session, query, page)
    return {
        "dunning_campaigns": [await _render(session, c) for c in campaigns],
        "meta": meta.model_dump(),
    }


@router.get("/dunning_campaigns/{code}")
async def get_dunning_campaign(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    return {"dunning_campaign": await _render(session, await find_campaign(session, org.id, code))}


@router.put("/dunning_campaigns/{code}")
async def update_dunning_campaign(
    code: str, body: DunningCampaignUpdateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    campaign = await find_campaign(session, org.id, code)
    data = body.dunning_campaign
    if data.thresholds is not None and (errors := thresholds_errors(data.thresholds)):
        raise validation_error(errors)
    changes = data.model_dump(exclude_unset=True, exclude={"thresholds", "applied_to_organization"})
    new_code = changes.get("code", code)
    if new_code != code and await _code_taken(session, org, new_code, campaign):
        raise _CODE_TAKEN
    for key, value in changes.items():
        setattr(campaign, key, value)
    if data.thresholds is not None:
        _replace_thresholds(campaign, data.thresholds)
    if data.applied_to_organization is not None:
        await _make_default(session, org, campaign, data.applied_to_organization)
    await _commit(session)
    await session.refresh(campaign)
    return {"dunning_campaign": await _render(session, campaign)}


@router.delete("/dunning_campaigns/{code}")
async def delete_dunning_campaign(code: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    campaign = await find_campaign(session, org.id, code)
    rendered = await _render(session, campaign)
    if campaign.applied_to_organization:
        await _reset_fallback_customers(session, org)
    # Its customers fall back to the default campaign, from their first attempt (Lago).
    await session.execute(
        update(Customer)
        .where(Customer.applied_dunning_campaign_id == campaign.id)
        .values(
            applied_dunning_campaign_id=None,
            dunning_currency_attempts={},
            last_dunning_campaign_attempt=0,
            last_dunning_campaign_attempt_at=None,
        )
    )
    campaign.deleted_at = datetime.now(UTC)
    campaign.applied_to_organization = False
    await session.commit()
    return {"dunning_campaign": rendered | {"applied_to_organization": False}}
