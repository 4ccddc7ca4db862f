"""A wallet's metadata (Lago's key/value object), by lago_id or by customer and code:
POST replaces it, PATCH merges into it, DELETE removes it all or one key. Each answers
`{"metadata": {...}}` (null when none is left)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.deps import OrgDep, SessionDep
from bxb.api.wallets import find_customer_wallet, find_wallet
from bxb.ledger import wallet_settings
from bxb.ledger.metadata import MetadataBody
from bxb.models import Wallet

router = APIRouter(prefix="/api/v1", tags=["wallets"])
BY_ID = "/wallets/{lago_id}/metadata"
BY_CODE = "/customers/{external_customer_id}/wallets/{wallet_code}/metadata"


async def _answer(session: AsyncSession, wallet: Wallet) -> dict[str, Any]:
    await session.commit()
    return {"metadata": wallet.metadata_}


@router.post(BY_ID)
async def replace_wallet_metadata(
    lago_id: str, body: MetadataBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    wallet, _ = await find_wallet(session, org.id, lago_id, for_update=True)
    wallet_settings.replace_metadata(wallet, body.metadata)
    return await _answer(session, wallet)


@router.patch(BY_ID)
async def merge_wallet_metadata(
    lago_id: str, body: MetadataBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    wallet, _ = await find_wallet(session, org.id, lago_id, for_update=True)
    wallet_settings.merge_metadata(wallet, body.metadata)
    return await _answer(session, wallet)


@router.delete(BY_ID)
async def delete_wallet_metadata(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    wallet, _ = await find_wallet(session, org.id, lago_id, for_update=True)
    wallet_settings.delete_metadata(wallet)
    return await _answer(session, wallet)


@router.delete(BY_ID + "/{key}")
async def delete_wallet_metadata_key(
    lago_id: str, key: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    wallet, _ = await find_wallet(session, org.id, lago_id, for_update=True)
    wallet_settings.delete_metadata(wallet, key)
    return await _answer(session, wallet)


@router.post(BY_CODE)
async def replace_customer_wallet_metadata(
    external_customer_id: str,
    wallet_code: str,
    body: MetadataBody,
    org: OrgDep,
    session: SessionDep,
) -> dict[str, Any]:
    wallet, _ = await find_customer_wallet(
        session, org.id, external_customer_id, wallet_code, for_update=True
    )
    wallet_settings.replace_metadata(wallet, body.metadata)
    return await _answer(session, wallet)


@router.patch(BY_CODE)
async def merge_customer_wallet_metadata(
    external_customer_id: str,
    wallet_code: str,
    body: MetadataBody,
    org: OrgDep,
    session: SessionDep,
) -> dict[str, Any]:
    wallet, _ = await find_customer_wallet(
        session, org.id, external_customer_id, wallet_code, for_update=True
    )
    wallet_settings.merge_metadata(wallet, body.metadata)
    return await _answer(session, wallet)


@router.delete(BY_CODE)
async def delete_customer_wallet_metadata(
    external_customer_id: str, wallet_code: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    wallet, _ = await find_customer_wallet(
        session, org.id, external_customer_id, wallet_code, for_update=True
    )
    wallet_settings.delete_metadata(wallet)
    return await _answer(session, wallet)


@router.delete(BY_CODE + "/{key}")
async def delete_customer_wallet_metadata_key(
    external_customer_id: str, wallet_code: str, key: str, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    wallet, _ = await find_customer_wallet(
        session, org.id, external_customer_id, wallet_code, for_update=True
    )
    wallet_settings.delete_metadata(wallet, key)
    return await _answer(session, wallet)
