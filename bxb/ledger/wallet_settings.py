"""A wallet's settings (Lago's): code, priority, applies_to, paid top-up limits,
invoice_requires_successful_payment and metadata; their checks give Lago's error codes."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.ledger import metadata as metadata_rules
from bxb.ledger.metadata import MetadataValue
from bxb.models import BillableMetric, Wallet

# Lago's Fee.fee_types: what applies_to.fee_types may name.
FEE_TYPES = frozenset({"charge", "add_on", "subscription", "credit", "commitment", "fixed_charge"})
SETTINGS = (
    "priority",
    "applies_to",
    "invoice_requires_successful_payment",
    "paid_top_up_min_amount_cents",
    "paid_top_up_max_amount_cents",
    "metadata",
)
Errors = dict[str, list[str]]


async def code_taken(
    session: AsyncSession, customer_id: uuid.UUID, code: str, *, besides: uuid.UUID | None = None
) -> bool:
    query = select(Wallet.id).where(
        Wallet.customer_id == customer_id, Wallet.status == "active", Wallet.code == code
    )
    if besides is not None:
        query = query.where(Wallet.id != besides)
    return (await session.scalar(query.limit(1))) is not None


async def generated_code(
    session: AsyncSession, customer_id: uuid.UUID, name: str | None, now: datetime
) -> str:
    """Lago's: the name parameterized with underscores (else "default"), with the time
    appended when an active wallet of the customer has it already."""
    code = re.sub(r"[^a-z0-9]+", "_", (name or "").lower()).strip("_")[:200] or "default"
    if not await code_taken(session, customer_id, code):
        return code
    stamped = f"{code}_{int(now.timestamp())}"
    candidate, n = stamped, 1
    while await code_taken(session, customer_id, candidate):
        n += 1
        candidate = f"{stamped}_{n}"
    return candidate


async def check(
    session: AsyncSession,
    organization_id: uuid.UUID,
    wallet: Wallet | None,
    data: Mapping[str, Any],
) -> Errors:
    """Lago's errors for the settings in `data` (as sent: only what was given)."""
    errors: Errors = {}
    applies_to = data.get("applies_to") or {}
    fee_types = applies_to.get("fee_types") or []
    if any(fee_type not in FEE_TYPES for fee_type in fee_types):
        errors["allowed_fee_types"] = ["invalid_fee_types"]
    codes = set(applies_to.get("billable_metric_codes") or [])
    if codes:
        found = await session.scalar(
            select(func.count(BillableMetric.id)).where(
                BillableMetric.organization_id == organization_id,
                BillableMetric.code.in_(codes),
                BillableMetric.deleted_at.is_(None),
            )
        )
        if found != len(codes):
            errors["billable_metrics"] = ["invalid_identifier"]
    minimum = data.get(
        "paid_top_up_min_amount_cents", wallet.paid_top_up_min_amount_cents if wallet else None
    )
    maximum = data.get(
        "paid_top_up_max_amount_cents", wallet.paid_top_up_max_amount_cents if wallet else None
    )
    if minimum is not None and maximum is not None and maximum < minimum:
        errors["paid_top_up_max_amount_cents"] = ["must_be_greater_than_or_equal_min"]
    return errors


def apply(wallet: Wallet, data: Mapping[str, Any]) -> None:
    """Set the settings given in `data` (checked already)."""
    if data.get("priority") is not None:  # Lago keeps the priority when none is given
        wallet.priority = data["priority"]
    if "applies_to" in data:
        applies_to = data["applies_to"] or {}
        if applies_to.get("fee_types") is not None or not applies_to:
            wallet.allowed_fee_types = list(dict.fromkeys(applies_to.get("fee_types") or []))
        if applies_to.get("billable_metric_codes") is not None or not applies_to:
            codes = applies_to.get("billable_metric_codes") or []
            wallet.billable_metric_codes = list(dict.fromkeys(codes))
    if "invoice_requires_successful_payment" in data:
        wallet.invoice_requires_successful_payment = bool(
            data["invoice_requires_successful_payment"]
        )
    for limit in ("paid_top_up_min_amount_cents", "paid_top_up_max_amount_cents"):
        if limit in data:
            setattr(wallet, limit, data[limit])
    if "metadata" in data and data["metadata"] is not None:
        replace_metadata(wallet, data["metadata"])


# --- metadata (Lago's key/value object) ---------------------------------------------------


def replace_metadata(wallet: Wallet, metadata: MetadataValue) -> None:
    wallet.metadata_ = metadata_rules.replaced(metadata) or None


def merge_metadata(wallet: Wallet, metadata: MetadataValue) -> None:
    wallet.metadata_ = metadata_rules.merged(wallet.metadata_, metadata) or None


def delete_metadata(wallet: Wallet, key: str | None = None) -> None:
    """Remove one key (absent: nothing changes), or all of them; none left is null."""
    if key is None:
        wallet.metadata_ = None
        return
    wallet.metadata_ = metadata_rules.without_key(wallet.metadata_ or {}, key) or None
