"""Finalized invoices with fees, written straight to the database, for credit note tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.models import Customer, Fee, Invoice
from tests.support.auth import Tenant

# (amount, coupons, taxes, rate): 10 000 less a 1 000 coupon at 20 %, 333 at 5.5 %.
DEFAULT_FEES = ((10_000, 1_000, 1_800, "20"), (333, 0, 18, "5.5"))
DEFAULT_TOTAL = 10_000 - 1_000 + 1_800 + 333 + 18  # 11 151


@dataclass(frozen=True)
class SeededInvoice:
    id: uuid.UUID
    customer_id: uuid.UUID
    fee_ids: tuple[uuid.UUID, ...]
    number: str


async def seed_customer(
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    external_id: str = "cus_1",
    *,
    test_clock_id: uuid.UUID | None = None,
    timezone: str | None = None,
) -> uuid.UUID:
    async with transaction(sessions) as session:
        existing = await session.scalar(
            select(Customer.id).where(
                Customer.organization_id == tenant.organization_id,
                Customer.external_id == external_id,
            )
        )
        if existing is not None:
            return existing
        count = await session.scalar(
            select(func.count()).where(Customer.organization_id == tenant.organization_id)
        )
        customer = Customer(
            organization_id=tenant.organization_id,
            external_id=external_id,
            sequential_id=int(count or 0) + 1,
            name=external_id,
            currency="EUR",
            test_clock_id=test_clock_id,
            timezone=timezone,
        )
        session.add(customer)
        await session.flush()
        return customer.id


async def seed_invoice(
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    *,
    customer: str = "cus_1",
    status: str = "finalized",
    paid: int = 0,
    fees: tuple[tuple[int, int, int, str], ...] = DEFAULT_FEES,
    currency: str = "EUR",
    number: str | None = None,
    invoice_type: str = "subscription",
    created_at: datetime | None = None,
) -> SeededInvoice:
    customer_id = await seed_customer(sessions, tenant, customer)
    async with transaction(sessions) as session:
        count = await session.scalar(
            select(func.count()).where(Invoice.organization_id == tenant.organization_id)
        )
        sequential_id = int(count or 0) + 1
        total = sum(amount - coupons + taxes for amount, coupons, taxes, _ in fees)
        invoice = Invoice(
            organization_id=tenant.organization_id,
            customer_id=customer_id,
            invoice_type=invoice_type,
            kind=f"test-{sequential_id}",
            status=status,
            payment_status="succeeded" if paid >= total and paid else "pending",
            currency=currency,
            issuing_date=date(2026, 1, 1),
            sequential_id=sequential_id if status != "draft" else None,
            number=number or (f"INV-{sequential_id:06d}" if status != "draft" else None),
            fees_amount_cents=sum(f[0] for f in fees),
            coupons_amount_cents=sum(f[1] for f in fees),
            taxes_amount_cents=sum(f[2] for f in fees),
            total_amount_cents=total,
            total_paid_amount_cents=paid,
            applied_taxes=[
                {
                    "tax_code": f"tax_{rate}",
                    "tax_name": f"Tax {rate}",
                    "tax_rate": float(rate),
                    "amount_cents": taxes,
                }
                for _, _, taxes, rate in fees
                if taxes
            ],
            created_at=created_at or datetime.now(UTC),
        )
        invoice.fees = [
            Fee(
                organization_id=tenant.organization_id,
                position=position,
                fee_type="subscription" if position == 0 else "charge",
                description=f"Fee {position}",
                item_code=f"item_{position}",
                amount_cents=amount,
                precise_amount_cents=Decimal(amount),
                amount_currency=currency,
                coupons_amount_cents=coupons,
                taxes_amount_cents=taxes,
                taxes_rate=Decimal(rate),
                units=Decimal(1),
            )
            for position, (amount, coupons, taxes, rate) in enumerate(fees)
        ]
        session.add(invoice)
        await session.flush()
        return SeededInvoice(
            invoice.id, customer_id, tuple(fee.id for fee in invoice.fees), invoice.number or ""
        )
