"""Creating, changing and deleting alerts, with Lago's rules and error codes.

An alert belongs to a subscription (by external id) or to a wallet. Lago's checks, in
Lago's order: the alert type (known, and of the right owner), the thresholds (present, at
most 20, no duplicate (value, recurring), values numeric, recurring ones positive), the
billable metric (404 when its code is unknown; required by the billable_metric_* types and
refused by the others), then the code (unique among the owner's alerts) and the type
(one alert per type, and per metric, for each owner).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.alerts import (
    BILLABLE_METRIC_TYPES,
    SUBSCRIPTION_TYPES,
    WALLET_TYPES,
    Threshold,
    direction_of,
    threshold_errors,
)
from bxb.ledger.alert_triggers import wallet_value
from bxb.models import AlertThreshold, BillableMetric, UsageAlert, Wallet
from bxb.models.base import utcnow

MAX_VALUE = Decimal(10) ** 25  # Numeric(30, 5)
MAX_TEXT = 255  # codes and names: VARCHAR(255)


class AlertInvalidError(Exception):
    """422 with Lago's error details."""

    def __init__(self, details: Mapping[str, Sequence[str]]) -> None:
        super().__init__(dict(details))
        self.details = {key: list(codes) for key, codes in details.items()}


class AlertNotFoundError(Exception):
    """404 `<resource>_not_found`."""

    def __init__(self, resource: str) -> None:
        super().__init__(resource)
        self.resource = resource


@dataclass(frozen=True)
class Owner:
    """What an alert watches: a subscription (external id) or a wallet."""

    organization_id: uuid.UUID
    subscription_external_id: str | None = None
    wallet: Wallet | None = None

    @property
    def types(self) -> tuple[str, ...]:
        return WALLET_TYPES if self.wallet is not None else SUBSCRIPTION_TYPES


def parse_thresholds(raw: object) -> list[Threshold]:
    """Lago's threshold inputs ({value, code, recurring}); raises AlertInvalidError."""
    if raw is None or (isinstance(raw, list) and not raw):
        raise AlertInvalidError({"thresholds": ["value_is_mandatory"]})
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise AlertInvalidError({"thresholds": ["value_is_invalid"]})
    if any(item.get("value") is None for item in raw):
        raise AlertInvalidError({"thresholds:value": ["value_is_mandatory"]})
    parsed = []
    for item in raw:
        value = _decimal(item.get("value"))
        code = _text(item, "code", "thresholds:code")
        # Lago casts a missing or null `recurring` to false (its client sends null).
        recurring = item.get("recurring")
        if recurring is None:
            recurring = False
        if value is None:
            raise AlertInvalidError({"thresholds:value": ["value_is_invalid"]})
        if recurring in ("true", "false"):
            recurring = recurring == "true"
        if not isinstance(recurring, bool):
            raise AlertInvalidError({"thresholds:recurring": ["value_is_invalid"]})
        parsed.append(Threshold(value=value, code=code, recurring=recurring))
    errors = threshold_errors(parsed)
    if errors:
        raise AlertInvalidError(errors)
    return parsed


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or abs(number) >= MAX_VALUE:
        return None
    return number.quantize(Decimal("0.00001"))


async def find_metric(
    session: AsyncSession, organization_id: uuid.UUID, code: object
) -> BillableMetric | None:
    """The metric named by billable_metric_code (None when none is named); 404 if unknown."""
    if code is None:
        return None
    if not isinstance(code, str):
        raise AlertNotFoundError("billable_metric")
    metric = await session.scalar(
        select(BillableMetric).where(
            BillableMetric.organization_id == organization_id,
            BillableMetric.code == code,
            BillableMetric.deleted_at.is_(None),
        )
    )
    if metric is None:
        raise AlertNotFoundError("billable_metric")
    return metric


def _check_metric(alert_type: str, metric_id: uuid.UUID | None) -> None:
    if alert_type in BILLABLE_METRIC_TYPES and metric_id is None:
        raise AlertInvalidError({"billable_metric": ["value_is_mandatory"]})
    if alert_type not in BILLABLE_METRIC_TYPES and metric_id is not None:
        raise AlertInvalidError({"billable_metric": ["value_must_be_blank"]})


def _check_type(owner: Owner, alert_type: object) -> str:
    if alert_type is None or alert_type == "":
        raise AlertInvalidError({"alert_type": ["value_is_mandatory", "value_is_invalid"]})
    if not isinstance(alert_type, str) or alert_type not in owner.types:
        raise AlertInvalidError({"alert_type": ["invalid_type"]})
    return alert_type


def _text(params: Mapping[str, Any], key: str, field: str | None = None) -> str | None:
    value = params.get(key)
    if value is not None and not isinstance(value, str):
        raise AlertInvalidError({field or key: ["value_is_invalid"]})
    if value is not None and len(value) > MAX_TEXT:
        raise AlertInvalidError({field or key: ["value_is_too_long"]})
    return value


async def create_alert(
    session: AsyncSession, owner: Owner, params: Mapping[str, Any], at: datetime
) -> tuple[UsageAlert, BillableMetric | None]:
    """A new alert (flushed); raises AlertInvalidError / AlertNotFoundError."""
    alert_type = _check_type(owner, params.get("alert_type"))
    thresholds = parse_thresholds(params.get("thresholds"))
    metric = None
    if owner.wallet is None:
        metric = await find_metric(
            session, owner.organization_id, params.get("billable_metric_code")
        )
    _check_metric(alert_type, metric.id if metric else None)
    code = _text(params, "code")
    if not code:
        raise AlertInvalidError({"code": ["value_is_mandatory"]})
    direction = direction_of(alert_type)
    alert = UsageAlert(
        id=uuid.uuid4(),
        organization_id=owner.organization_id,
        alert_type=alert_type,
        code=code,
        name=_text(params, "name"),
        direction=direction,
        subscription_external_id=owner.subscription_external_id,
        wallet_id=owner.wallet.id if owner.wallet is not None else None,
        billable_metric_id=metric.id if metric else None,
        previous_value=Decimal(0),
        rearms=0,
        created_at=at,
        thresholds=_threshold_rows(owner.organization_id, thresholds),
    )
    if owner.wallet is not None:
        # A balance alert starts from the balance it watches (Lago): only later falls fire.
        alert.previous_value = wallet_value(alert_type, owner.wallet)
    session.add(alert)
    await _flush_unique(session)
    return alert, metric


async def update_alert(
    session: AsyncSession, alert: UsageAlert, params: Mapping[str, Any]
) -> BillableMetric | None:
    """Change code, name, metric or thresholds (replaced when given); returns the metric."""
    thresholds = None
    raw = params.get("thresholds")
    if isinstance(raw, list) and raw:
        thresholds = parse_thresholds(raw)
    elif raw is not None and not isinstance(raw, list):
        raise AlertInvalidError({"thresholds": ["value_is_invalid"]})
    metric = None
    if alert.wallet_id is None:
        metric = await find_metric(
            session, alert.organization_id, params.get("billable_metric_code")
        )
    if metric is not None:
        _check_metric(alert.alert_type, metric.id)
        alert.billable_metric_id = metric.id
    if "code" in params:
        code = _text(params, "code")
        if not code:
            raise AlertInvalidError({"code": ["value_is_mandatory"]})
        alert.code = code
    if "name" in params:
        alert.name = _text(params, "name")
    if thresholds is not None:
        alert.thresholds.clear()
        await session.flush()
        alert.thresholds.extend(_threshold_rows(alert.organization_id, thresholds))
    await _flush_unique(session)
    if metric is None and alert.billable_metric_id is not None:
        metric = await session.get(BillableMetric, alert.billable_metric_id)
    return metric


def _threshold_rows(
    organization_id: uuid.UUID, thresholds: Sequence[Threshold]
) -> list[AlertThreshold]:
    return [
        AlertThreshold(
            organization_id=organization_id,
            position=position,
            code=t.code,
            value=t.value,
            recurring=t.recurring,
        )
        for position, t in enumerate(thresholds)
    ]


async def _flush_unique(session: AsyncSession) -> None:
    """Flush in a savepoint; a taken code or type becomes Lago's 422."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if "_code_per_" in str(exc.orig):
            raise AlertInvalidError({"code": ["value_already_exist"]}) from exc
        if "_type_per_" in str(exc.orig):
            raise AlertInvalidError({"base": ["alert_already_exists"]}) from exc
        raise


def kept_alerts(owner: Owner) -> Select[UsageAlert]:
    """The owner's alerts that are not deleted (a select to refine)."""
    query = select(UsageAlert).where(
        UsageAlert.organization_id == owner.organization_id, UsageAlert.deleted_at.is_(None)
    )
    if owner.wallet is not None:
        return query.where(UsageAlert.wallet_id == owner.wallet.id)
    return query.where(UsageAlert.subscription_external_id == owner.subscription_external_id)


async def find_alert(session: AsyncSession, owner: Owner, code: str) -> UsageAlert:
    alert: UsageAlert | None = await session.scalar(
        kept_alerts(owner).where(UsageAlert.code == code)
    )
    if alert is None:
        raise AlertNotFoundError("alert")
    return alert


async def delete_all(session: AsyncSession, owner: Owner, at: datetime) -> None:
    query = update(UsageAlert).where(
        UsageAlert.organization_id == owner.organization_id, UsageAlert.deleted_at.is_(None)
    )
    if owner.wallet is not None:
        query = query.where(UsageAlert.wallet_id == owner.wallet.id)
    else:
        query = query.where(UsageAlert.subscription_external_id == owner.subscription_external_id)
    await session.execute(query.values(deleted_at=at, updated_at=utcnow()))
