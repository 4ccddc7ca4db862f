"""The catalog every generated scenario bills from, and which taxes it says apply.

Plans cover the charge models and intervals bxb bills (monthly and yearly, in advance and in
arrears, a trial, charges billed monthly on a yearly plan), with taxes at each of Lago's
levels, and coupons of each type and frequency. The tax rates a fee must carry are derived
here from this catalog, independently of bxb's tax book.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

METRIC = "calls"
FIELD = "units"


@dataclass(frozen=True)
class PlanSpec:
    code: str
    interval: str
    amount_cents: int
    pay_in_advance: bool
    charge_model: str
    properties: dict[str, Any]
    trial_days: int = 0
    tax_codes: tuple[str, ...] = ()
    charge_tax_codes: tuple[str, ...] = ()
    bill_charges_monthly: bool = False

    def body(self) -> dict[str, Any]:
        charge: dict[str, Any] = {
            "billable_metric_id": "",  # filled with the metric's lago_id
            "charge_model": self.charge_model,
            "properties": self.properties,
        }
        if self.charge_tax_codes:
            charge["tax_codes"] = list(self.charge_tax_codes)
        plan: dict[str, Any] = {
            "name": self.code.replace("_", " ").title(),
            "code": self.code,
            "interval": self.interval,
            "amount_cents": self.amount_cents,
            "amount_currency": "USD",
            "pay_in_advance": self.pay_in_advance,
            "charges": [charge],
        }
        if self.trial_days:
            plan["trial_period"] = self.trial_days
        if self.tax_codes:
            plan["tax_codes"] = list(self.tax_codes)
        if self.bill_charges_monthly:
            plan["bill_charges_monthly"] = True
        return plan


PLANS: tuple[PlanSpec, ...] = (
    PlanSpec("starter_m", "monthly", 1_000, False, "standard", {"amount": "0.013"}),
    PlanSpec(
        "pro_m",
        "monthly",
        4_900,
        True,
        "graduated",
        {
            "graduated_ranges": [
                {"from_value": 0, "to_value": 100, "per_unit_amount": "0.1", "flat_amount": "1"},
                {
                    "from_value": 101,
                    "to_value": None,
                    "per_unit_amount": "0.025",
                    "flat_amount": "0",
                },
            ]
        },
        charge_tax_codes=("reduced",),
    ),
    PlanSpec(
        "trial_m",
        "monthly",
        2_900,
        True,  # in advance: the days after the trial are billed once, when it ends
        "package",
        {"amount": "5", "package_size": 100, "free_units": 50},
        trial_days=10,
    ),
    PlanSpec(
        "team_y",
        "yearly",
        69_000,  # more a year than pro_m: an upgrade from it
        True,
        "volume",
        {
            "volume_ranges": [
                {"from_value": 0, "to_value": 500, "per_unit_amount": "0.04", "flat_amount": "0"},
                {
                    "from_value": 501,
                    "to_value": None,
                    "per_unit_amount": "0.03",
                    "flat_amount": "2",
                },
            ]
        },
        tax_codes=("reduced",),
        bill_charges_monthly=True,
    ),
    PlanSpec("basic_y", "yearly", 12_000, False, "percentage", {"rate": "1.5"}),
)
PLAN_BY_CODE = {plan.code: plan for plan in PLANS}

# code: rate in percent
TAXES: dict[str, Decimal] = {
    "vat": Decimal("20"),
    "reduced": Decimal("5.5"),
    "local": Decimal("8.875"),
}


@dataclass(frozen=True)
class CouponSpec:
    code: str
    body: dict[str, Any] = field(hash=False)


COUPONS: tuple[CouponSpec, ...] = (
    CouponSpec(
        "fixed_once",
        {
            "coupon_type": "fixed_amount",
            "amount_cents": 1_500,
            "amount_currency": "USD",
            "frequency": "once",
        },
    ),
    CouponSpec(
        "fixed_recurring",
        {
            "coupon_type": "fixed_amount",
            "amount_cents": 700,
            "amount_currency": "USD",
            "frequency": "recurring",
            "frequency_duration": 3,
        },
    ),
    CouponSpec(
        "percent_once",
        {"coupon_type": "percentage", "percentage_rate": "12.5", "frequency": "once"},
    ),
    CouponSpec(
        "percent_forever",
        {"coupon_type": "percentage", "percentage_rate": "10", "frequency": "forever"},
    ),
)


async def create_catalog(
    call: Callable[..., Awaitable[dict[str, Any]]], organization_taxes: tuple[str, ...]
) -> None:
    """The metric, taxes, plans and coupons, through the API (`call(method, path, body)`)."""
    metric = {"name": "Calls", "code": METRIC, "aggregation_type": "sum_agg", "field_name": FIELD}
    created = await call("POST", "/billable_metrics", {"billable_metric": metric})
    metric_id = created["billable_metric"]["lago_id"]
    for code, rate in TAXES.items():
        tax = {
            "name": code,
            "code": code,
            "rate": str(rate),
            "applied_to_organization": code in organization_taxes,
        }
        await call("POST", "/taxes", {"tax": tax})
    for plan in PLANS:
        body = plan.body()
        body["charges"][0]["billable_metric_id"] = metric_id
        await call("POST", "/plans", {"plan": body})
    for coupon in COUPONS:
        terms = {"name": coupon.code, "code": coupon.code, "expiration": "no_expiration"}
        await call("POST", "/coupons", {"coupon": terms | coupon.body})


@dataclass(frozen=True)
class TaxLevels:
    """Which taxes the organization and each customer carry in one scenario."""

    organization: tuple[str, ...]
    customers: dict[str, tuple[str, ...]] = field(hash=False)

    def rate(self, customer: str, plan: PlanSpec | None, *, charge: bool) -> Decimal:
        """The rate Lago's precedence gives a fee: charge > plan > customer > organization."""
        levels: list[tuple[str, ...]] = []
        if plan is not None:
            if charge:
                levels.append(plan.charge_tax_codes)
            levels.append(plan.tax_codes)
        levels += [self.customers.get(customer, ()), self.organization]
        for codes in levels:
            if codes:
                return sum((TAXES[code] for code in codes), Decimal(0))
        return Decimal(0)


def _graduated(units: Decimal, ranges: list[dict[str, Any]]) -> Decimal:
    """Each tier prices the units inside it; its flat amount once usage enters it."""
    total, lower = Decimal(0), Decimal(0)
    for tier in ranges:
        top = tier["to_value"]
        upper = units if top is None else min(units, Decimal(top))
        if upper <= lower:
            break
        total += (upper - lower) * Decimal(tier["per_unit_amount"]) + Decimal(tier["flat_amount"])
        if top is not None:
            lower = Decimal(top)
    return total


def charge_amount(plan: PlanSpec, units: Decimal) -> Decimal:
    """What `units` of usage cost on plan's charge, in exact cents (rounded by the caller)."""
    props = plan.properties
    if units == 0:
        return Decimal(0)
    if plan.charge_model == "standard":
        dollars = units * Decimal(props["amount"])
    elif plan.charge_model == "graduated":
        dollars = _graduated(units, props["graduated_ranges"])
    elif plan.charge_model == "volume":
        tier = next(
            t for t in props["volume_ranges"] if t["to_value"] is None or units <= t["to_value"]
        )
        dollars = units * Decimal(tier["per_unit_amount"]) + Decimal(tier["flat_amount"])
    elif plan.charge_model == "package":
        billable = max(units - props["free_units"], Decimal(0))
        packages = (billable / props["package_size"]).to_integral_value(ROUND_CEILING)
        dollars = packages * Decimal(props["amount"])
    else:  # percentage of the amounts the events carry
        dollars = units * Decimal(props["rate"]) / 100
    return dollars * 100
