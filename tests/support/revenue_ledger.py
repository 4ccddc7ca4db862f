"""Invoices, fees and credit notes written straight to the ledger, for analytics tests.

The revenue rollups are kept by triggers whatever writes the rows, so a test may seed
the ledger directly and still check every figure; plans and metrics come from the API.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.models import CreditNote, Customer, Fee, Invoice
from tests.support.auth import Tenant


@dataclass(frozen=True)
class FeeSpec:
    fee_type: str
    amount_cents: int
    item_code: str
    taxes_amount_cents: int = 0
    coupons_cents: int = 0
    charge_id: uuid.UUID | None = None
    units: Decimal = Decimal(1)
    period: tuple[datetime, datetime] | None = None


@dataclass
class InvoiceSpec:
    customer: str
    issuing_date: date
    fees: list[FeeSpec]
    currency: str = "EUR"
    status: str = "finalized"
    payment_status: str = "pending"
    invoice_type: str = "subscription"
    due_in_days: int = 0
    payment_overdue: bool = False
    paid_cents: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


async def customer(
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    external_id: str,
    currency: str = "EUR",
    **attributes: Any,
) -> uuid.UUID:
    async with transaction(sessions) as session:
        count = await session.scalar(
            select(func.count()).where(Customer.organization_id == tenant.organization_id)
        )
        row = Customer(
            organization_id=tenant.organization_id,
            external_id=external_id,
            sequential_id=int(count or 0) + 1,
            name=external_id.title(),
            currency=currency,
            **attributes,
        )
        session.add(row)
        await session.flush()
        return row.id


async def invoice(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, spec: InvoiceSpec
) -> Invoice:
    async with transaction(sessions) as session:
        customer_id = await session.scalar(
            select(Customer.id).where(
                Customer.organization_id == tenant.organization_id,
                Customer.external_id == spec.customer,
            )
        )
        assert customer_id is not None
        count = await session.scalar(
            select(func.count()).where(Invoice.organization_id == tenant.organization_id)
        )
        sequential_id = int(count or 0) + 1
        fees_amount = sum(f.amount_cents for f in spec.fees)
        coupons = sum(f.coupons_cents for f in spec.fees)
        taxes = sum(f.taxes_amount_cents for f in spec.fees)
        row = Invoice(
            organization_id=tenant.organization_id,
            customer_id=customer_id,
            invoice_type=spec.invoice_type,
            kind=f"test-{sequential_id}",
            status=spec.status,
            payment_status=spec.payment_status,
            currency=spec.currency,
            issuing_date=spec.issuing_date,
            sequential_id=sequential_id if spec.status != "draft" else None,
            number=f"INV-{sequential_id:06d}" if spec.status != "draft" else None,
            fees_amount_cents=fees_amount,
            coupons_amount_cents=coupons,
            taxes_amount_cents=taxes,
            total_amount_cents=fees_amount - coupons + taxes,
            total_paid_amount_cents=spec.paid_cents,
            payment_due_date=spec.issuing_date + timedelta(days=spec.due_in_days),
            payment_overdue=spec.payment_overdue,
            **spec.extra,
        )
        row.fees = [
            Fee(
                organization_id=tenant.organization_id,
                position=position,
                fee_type=f.fee_type,
                description=f.item_code,
                item_code=f.item_code,
                charge_id=f.charge_id,
                amount_cents=f.amount_cents,
                precise_amount_cents=Decimal(f.amount_cents),
                amount_currency=spec.currency,
                coupons_amount_cents=f.coupons_cents,
                precise_coupons_amount_cents=Decimal(f.coupons_cents),
                taxes_amount_cents=f.taxes_amount_cents,
                taxes_rate=(
                    Decimal(f.taxes_amount_cents * 100) / (f.amount_cents - f.coupons_cents)
                    if f.amount_cents > f.coupons_cents
                    else Decimal(0)
                ),
                units=f.units,
                from_datetime=f.period[0] if f.period else None,
                to_datetime=f.period[1] if f.period else None,
            )
            for position, f in enumerate(spec.fees)
        ]
        session.add(row)
        await session.flush()
        return row


async def credit_note(
    sessions: async_sessionmaker[AsyncSession],
    invoice_row: Invoice,
    *,
    issuing_date: date,
    sub_total_cents: int,
    taxes_cents: int,
    refund_cents: int,
) -> uuid.UUID:
    """A note crediting (or refunding) sub_total_cents plus taxes_cents of the invoice."""
    total = sub_total_cents + taxes_cents
    async with transaction(sessions) as session:
        count = await session.scalar(
            select(func.count()).where(CreditNote.invoice_id == invoice_row.id)
        )
        note = CreditNote(
            organization_id=invoice_row.organization_id,
            customer_id=invoice_row.customer_id,
            invoice_id=invoice_row.id,
            sequential_id=int(count or 0) + 1,
            number=f"{invoice_row.number}-CN{int(count or 0) + 1}",
            issuing_date=issuing_date,
            reason="other",
            currency=invoice_row.currency,
            credit_status="available" if total > refund_cents else None,
            refund_status="pending" if refund_cents else None,
            total_amount_cents=total,
            taxes_amount_cents=taxes_cents,
            taxes_rate=Decimal(0),
            precise_taxes_amount_cents=Decimal(taxes_cents),
            sub_total_excluding_taxes_amount_cents=sub_total_cents,
            coupons_adjustment_amount_cents=0,
            precise_coupons_adjustment_amount_cents=Decimal(0),
            credit_amount_cents=total - refund_cents,
            refund_amount_cents=refund_cents,
            balance_amount_cents=total - refund_cents,
        )
        session.add(note)
        await session.flush()
        return note.id


async def catalog(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, uuid.UUID]:
    """A usage metric `api_calls`, a monthly plan `starter` (100.00 EUR) charging it, and
    a yearly plan `pro_yearly` paid in advance; answers the charge's id."""
    headers = tenant.headers
    metric = await client.post(
        "/api/v1/billable_metrics",
        json={
            "billable_metric": {
                "name": "API calls",
                "code": "api_calls",
                "aggregation_type": "count_agg",
            }
        },
        headers=headers,
    )
    assert metric.status_code == 200, metric.text
    metric_id = metric.json()["billable_metric"]["lago_id"]
    starter = await client.post(
        "/api/v1/plans",
        json={
            "plan": {
                "name": "Starter",
                "code": "starter",
                "interval": "monthly",
                "amount_cents": 10_000,
                "amount_currency": "EUR",
                "charges": [
                    {
                        "billable_metric_id": metric_id,
                        "charge_model": "standard",
                        "properties": {"amount": "1"},
                    }
                ],
            }
        },
        headers=headers,
    )
    assert starter.status_code == 200, starter.text
    pro = await client.post(
        "/api/v1/plans",
        json={
            "plan": {
                "name": "Pro yearly",
                "code": "pro_yearly",
                "interval": "yearly",
                "pay_in_advance": True,
                "amount_cents": 120_000,
                "amount_currency": "USD",
            }
        },
        headers=headers,
    )
    assert pro.status_code == 200, pro.text
    return {"charge": uuid.UUID(starter.json()["plan"]["charges"][0]["lago_id"])}


def month_period(first: date) -> tuple[datetime, datetime]:
    """A calendar month as a fee's period: from its first instant to its last second."""
    start = datetime(first.year, first.month, 1, tzinfo=UTC)
    following = datetime(first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=UTC)
    return start, following - timedelta(seconds=1)
