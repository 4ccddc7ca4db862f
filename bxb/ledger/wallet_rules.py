"""Recurring top-up rules of a wallet (Lago's recurring_transaction_rules): storing them,
and how much a rule tops up.

A rule triggers on an `interval` (weekly, monthly, quarterly, semiannual, yearly from its
`started_at`, else the wallet's creation) or on a `threshold` (the balance fell to
`threshold_credits` or below). Its `method` is `fixed` (its paid and granted credits) or
`target` (what brings the balance back to `target_ongoing_balance`). Lago allows one rule
per wallet.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.wallets import parse_credits
from bxb.models import RecurringTransactionRule, Wallet

_INSTANT = TypeAdapter(AwareDatetime)


def parse_datetime(value: object) -> datetime:
    return _INSTANT.validate_python(value)


INTERVALS = ("weekly", "monthly", "quarterly", "semiannual", "yearly")


@dataclass(frozen=True)
class RuleSpec:
    lago_id: uuid.UUID | None
    trigger: str
    method: str
    interval: str | None
    threshold_credits: Decimal | None
    paid_credits: Decimal
    granted_credits: Decimal
    target_ongoing_balance: Decimal | None
    grants_target_top_up: bool | None
    started_at: datetime | None
    expiration_at: datetime | None
    invoice_requires_successful_payment: bool
    ignore_paid_top_up_limits: bool
    transaction_name: str | None
    transaction_metadata: list[dict[str, Any]] = field(default_factory=list)


def _credits(value: object) -> Decimal | None:
    if value is None:
        return None
    return parse_credits(value)


def _rule(raw: dict[str, Any]) -> RuleSpec | None:
    """Lago's RecurringTransactionRules::ValidateService: None when invalid."""
    trigger, method = raw.get("trigger"), raw.get("method") or "fixed"
    threshold = _credits(raw.get("threshold_credits"))
    if trigger == "interval":
        if raw.get("interval") not in INTERVALS:
            return None
    elif trigger != "threshold" or threshold is None:
        return None
    if method not in ("fixed", "target"):
        return None
    target = _credits(raw.get("target_ongoing_balance"))
    if method == "target" and target is None:
        return None
    if method == "target" and trigger == "threshold" and target is not None:
        assert threshold is not None
        if target < threshold:
            return None
    paid, granted = (
        _credits(raw.get("paid_credits") or "0"),
        _credits(raw.get("granted_credits") or "0"),
    )
    if paid is None or granted is None:
        return None
    if method == "fixed" and paid == 0 and granted == 0:
        return None
    grants = raw.get("grants_target_top_up")
    if method == "target":
        grants = bool(grants) if grants is not None else False
    elif grants is not None:
        return None
    metadata = raw.get("transaction_metadata") or []
    if not isinstance(metadata, list) or not all(
        isinstance(m, dict) and isinstance(m.get("key"), str) and isinstance(m.get("value"), str)
        for m in metadata
    ):
        return None
    started_at = expiration_at = None
    try:
        if raw.get("started_at") is not None:
            started_at = parse_datetime(raw["started_at"])
        if raw.get("expiration_at") is not None:
            expiration_at = parse_datetime(raw["expiration_at"])
        lago_id = uuid.UUID(raw["lago_id"]) if raw.get("lago_id") else None
    except (ValueError, TypeError):
        return None
    flags = ("invoice_requires_successful_payment", "ignore_paid_top_up_limits")
    if any(raw.get(flag) is not None and not isinstance(raw.get(flag), bool) for flag in flags):
        return None
    name = raw.get("transaction_name")
    if name is not None and (not isinstance(name, str) or len(name) > 255):
        return None
    return RuleSpec(
        lago_id=lago_id,
        trigger=trigger,
        method=method,
        interval=raw.get("interval") if trigger == "interval" else None,
        threshold_credits=threshold if trigger == "threshold" else None,
        paid_credits=paid,
        granted_credits=granted,
        target_ongoing_balance=target,
        grants_target_top_up=grants,
        started_at=started_at,
        expiration_at=expiration_at,
        invoice_requires_successful_payment=bool(raw.get("invoice_requires_successful_payment")),
        ignore_paid_top_up_limits=bool(raw.get("ignore_paid_top_up_limits")),
        transaction_name=name,
        transaction_metadata=[{"key": m["key"], "value": m["value"]} for m in metadata],
    )


def parse(raw: list[dict[str, Any]] | None, errors: dict[str, list[str]]) -> list[RuleSpec] | None:
    """The rules asked for (None: not given), adding Lago's errors to `errors`."""
    if raw is None:
        return None
    if len(raw) > 1:
        errors["recurring_transaction_rules"] = ["invalid_number_of_recurring_rules"]
        return None
    specs = [_rule(item) if isinstance(item, dict) else None for item in raw]
    if any(spec is None for spec in specs):
        errors["recurring_transaction_rules"] = ["invalid_recurring_rule"]
        return None
    return [spec for spec in specs if spec is not None]


def replace(
    session: AsyncSession,
    wallet: Wallet,
    specs: list[RuleSpec] | None,
    now: datetime,
    existing: list[RecurringTransactionRule] | None = None,
) -> None:
    """The wallet's rules become `specs` (None: unchanged). Lago's update: a rule named by
    its lago_id is changed, the others are terminated, new ones created."""
    if specs is None:
        return
    current = {rule.id: rule for rule in existing or []}
    kept: set[uuid.UUID] = set()
    for spec in specs:
        rule = current.get(spec.lago_id) if spec.lago_id else None
        if rule is None:
            rule = RecurringTransactionRule(
                id=uuid.uuid4(),
                organization_id=wallet.organization_id,
                wallet_id=wallet.id,
                status="active",
                created_at=now,
            )
            session.add(rule)
        kept.add(rule.id)
        for name in (
            "trigger",
            "method",
            "interval",
            "threshold_credits",
            "paid_credits",
            "granted_credits",
            "target_ongoing_balance",
            "grants_target_top_up",
            "started_at",
            "expiration_at",
            "invoice_requires_successful_payment",
            "ignore_paid_top_up_limits",
            "transaction_name",
            "transaction_metadata",
        ):
            setattr(rule, name, getattr(spec, name))
    for rule in current.values():
        if rule.id not in kept:
            rule.status = "terminated"
