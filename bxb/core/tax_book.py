"""Which taxes apply to which fee, by Lago's precedence: charge, plan, customer, and last the
customer's billing entity (the default entity's are the organization's default taxes).

Read once per invoice (or current-usage answer) from the tax tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.billing.invoice import AssembledInvoice
from bxb.billing.taxes import Tax as PureTax
from bxb.billing.taxes import resolve_applicable_taxes
from bxb.models import AppliedTax, BillingEntityTax, Customer, Tax
from bxb.workflows.state import PlanSnapshot


class TaxBook:
    """The taxes that apply to each fee, by Lago's precedence, read once per invoice."""

    def __init__(
        self,
        by_target: dict[uuid.UUID, tuple[PureTax, ...]],
        organization: tuple[PureTax, ...],
        customer: tuple[PureTax, ...],
        names: dict[str, str],
        plan_ids: dict[str, uuid.UUID],
        by_id: dict[uuid.UUID, PureTax] | None = None,
    ) -> None:
        self.by_target = by_target
        self.organization = organization
        self.customer = customer
        self.names = names
        self.plan_ids = plan_ids
        self.by_id = by_id or {}

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        organization_id: uuid.UUID,
        customer_id: uuid.UUID,
        plans: Sequence[PlanSnapshot],
    ) -> TaxBook:
        # Each tax with the rows applying it here, in one statement. Other customers' taxes
        # never apply: left out, so a close reads a few rows whatever the number of
        # customers with taxes of their own.
        rows = (
            await session.execute(
                select(
                    Tax.id,
                    Tax.code,
                    Tax.name,
                    Tax.rate,
                    Tax.applied_to_organization,
                    AppliedTax.customer_id,
                    AppliedTax.plan_id,
                    AppliedTax.charge_id,
                    AppliedTax.add_on_id,
                )
                .outerjoin(
                    AppliedTax,
                    and_(
                        AppliedTax.tax_id == Tax.id,
                        AppliedTax.organization_id == organization_id,
                        or_(
                            AppliedTax.customer_id.is_(None), AppliedTax.customer_id == customer_id
                        ),
                    ),
                )
                .where(Tax.organization_id == organization_id)
            )
        ).all()
        taxes = {row.id: row for row in rows}.values()
        pure = {t.id: PureTax(t.code, t.rate) for t in taxes}
        names = {t.code: t.name for t in taxes}
        defaults = await _entity_tax_ids(session, customer_id)
        by_target: dict[uuid.UUID, list[PureTax]] = {}
        for row in rows:
            target = row.customer_id or row.plan_id or row.charge_id or row.add_on_id
            if target is not None:
                by_target.setdefault(target, []).append(pure[row.id])
        return cls(
            {k: tuple(sorted(v, key=lambda t: t.code)) for k, v in by_target.items()},
            tuple(
                sorted(
                    (
                        pure[t.id]
                        for t in taxes
                        if (t.applied_to_organization if defaults is None else t.id in defaults)
                    ),
                    key=lambda t: t.code,
                )
            ),
            tuple(by_target.get(customer_id, ())),
            names,
            {plan.code: plan.id for plan in plans},
            pure,
        )

    def for_plan(self, plan: PlanSnapshot) -> tuple[PureTax, ...]:
        return resolve_applicable_taxes(
            plan_taxes=self.by_target.get(plan.id, ()),
            customer_taxes=self.customer,
            organization_taxes=self.organization,
        )

    def own(self, charge_id: uuid.UUID) -> tuple[PureTax, ...]:
        """A charge's own taxes (empty when it has none)."""
        return self.by_target.get(charge_id, ())

    def for_charge(self, charge_id: uuid.UUID | None, plan_code: str | None) -> tuple[PureTax, ...]:
        plan_id = self.plan_ids.get(plan_code or "")
        return resolve_applicable_taxes(
            charge_taxes=self.by_target.get(charge_id, ()) if charge_id else (),
            plan_taxes=self.by_target.get(plan_id, ()) if plan_id else (),
            customer_taxes=self.customer,
            organization_taxes=self.organization,
        )

    def for_commitment(
        self, plan_id: uuid.UUID, tax_ids: Sequence[uuid.UUID]
    ) -> tuple[PureTax, ...]:
        """A minimum commitment's taxes: its own, else the plan's, customer's, defaults."""
        return resolve_applicable_taxes(
            charge_taxes=sorted(
                (self.by_id[t] for t in tax_ids if t in self.by_id), key=lambda t: t.code
            ),
            plan_taxes=self.by_target.get(plan_id, ()),
            customer_taxes=self.customer,
            organization_taxes=self.organization,
        )

    def applied(self, assembled: AssembledInvoice) -> list[dict[str, Any]]:
        rates = {t.code: t.rate for fee in assembled.fees for t in fee.tax.applied_taxes}
        return [
            {
                "tax_code": code,
                "tax_name": self.names.get(code, code),
                "tax_rate": float(rates[code]),
                "amount_cents": amount,
            }
            for code, amount in sorted(assembled.taxes_by_code.items())
        ]


async def _entity_tax_ids(session: AsyncSession, customer_id: uuid.UUID) -> set[uuid.UUID] | None:
    """The taxes of the customer's billing entity when it is not the default one (None:
    the organization's default taxes apply)."""
    # By id: the session's customer when it has one (its entity comes with it), no query.
    customer = await session.get(Customer, customer_id)
    entity = customer.billing_entity if customer is not None else None
    if entity is None or entity.is_default:
        return None
    rows = await session.scalars(
        select(BillingEntityTax.tax_id).where(BillingEntityTax.billing_entity_id == entity.id)
    )
    return set(rows)
