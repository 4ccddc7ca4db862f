"""What a generated scenario does: its set-up, then a list of steps, and their strategies.

Steps name their targets by position (`subscription=3`), taken modulo what exists when
the step runs, so any list of steps is meaningful and Hypothesis can shrink it freely.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from tests.properties.catalog import COUPONS, PLANS

START_TIMES = ("2026-01-01T00:00:00Z", "2026-01-17T09:30:00Z", "2026-02-28T23:00:00Z")
TIMEZONES = (None, "America/Los_Angeles", "Asia/Tokyo")


@dataclass(frozen=True)
class Customer:
    timezone: str | None
    local_tax: bool  # the customer's own tax level ("local")


@dataclass(frozen=True)
class Scenario:
    start: str
    grace_period_days: int  # > 0: invoices stay drafts that long
    organization_tax: bool  # "vat" applied to the organization
    customers: tuple[Customer, ...]
    subscriptions: tuple[tuple[int, int, bool], ...]  # (customer, plan, anniversary)


@dataclass(frozen=True)
class Subscribe:
    customer: int
    plan: int
    anniversary: bool


@dataclass(frozen=True)
class ChangePlan:
    subscription: int
    plan: int


@dataclass(frozen=True)
class Terminate:
    subscription: int


@dataclass(frozen=True)
class Pause:
    subscription: int
    resume_after_days: int | None  # None: until a Resume step
    at_period_end: bool


@dataclass(frozen=True)
class Resume:
    subscription: int


@dataclass(frozen=True)
class Usage:
    subscription: int
    units: int


@dataclass(frozen=True)
class Advance:
    days: int
    hours: int = 0


@dataclass(frozen=True)
class ApplyCoupon:
    customer: int
    coupon: int


@dataclass(frozen=True)
class TopUp:
    customer: int
    granted_credits: int
    paid_credits: int


@dataclass(frozen=True)
class Pay:
    invoice: int
    percent: int  # of what is due; 100 pays it off


@dataclass(frozen=True)
class IssueCreditNote:
    invoice: int
    percent: int  # of what remains of each fee; 100 is at the limit
    refund_percent: int  # of what may still be refunded
    excess: str | None  # "fee" or "refund": one cent over that limit, which must be refused


@dataclass(frozen=True)
class VoidInvoice:
    invoice: int
    generate_credit_note: bool


@dataclass(frozen=True)
class VoidCreditNote:
    note: int


@dataclass(frozen=True)
class FinalizeDraft:
    invoice: int


Step = (
    Subscribe
    | ChangePlan
    | Terminate
    | Pause
    | Resume
    | Usage
    | Advance
    | ApplyCoupon
    | TopUp
    | Pay
    | IssueCreditNote
    | VoidInvoice
    | VoidCreditNote
    | FinalizeDraft
)

_index = st.integers(min_value=0, max_value=7)
_plan = st.integers(min_value=0, max_value=len(PLANS) - 1)
_percent = st.sampled_from([1, 33, 50, 99, 100])

customers = st.builds(Customer, st.sampled_from(TIMEZONES), st.booleans())

scenarios = st.builds(
    Scenario,
    start=st.sampled_from(START_TIMES),
    grace_period_days=st.sampled_from([0, 0, 3]),
    organization_tax=st.booleans(),
    customers=st.lists(customers, min_size=1, max_size=2).map(tuple),
    subscriptions=st.lists(st.tuples(_index, _plan, st.booleans()), min_size=1, max_size=2).map(
        tuple
    ),
)

_advance = st.builds(
    Advance, st.sampled_from([1, 3, 9, 16, 31, 45, 92, 200]), st.sampled_from([0, 13])
)
_usage = st.builds(Usage, _index, st.integers(min_value=1, max_value=3_000))
_credit_note = st.builds(
    IssueCreditNote,
    _index,
    _percent,
    st.sampled_from([0, 50, 100]),
    st.sampled_from([None, None, "fee", "refund"]),
)
_pay = st.builds(Pay, _index, _percent)
# (weight, step): time, usage, payments and credit notes make most of the ledger.
_WEIGHTED: list[tuple[int, st.SearchStrategy[Step]]] = [
    (4, _advance),
    (3, _usage),
    (2, st.builds(ChangePlan, _index, _plan)),
    (3, _credit_note),
    (3, _pay),
    (2, st.builds(TopUp, _index, st.sampled_from([0, 5, 40, 300]), st.sampled_from([0, 0, 25]))),
    (2, st.builds(ApplyCoupon, _index, st.integers(min_value=0, max_value=len(COUPONS) - 1))),
    (1, st.builds(Terminate, _index)),
    (
        1,
        st.builds(Pause, _index, st.sampled_from([None, 4, 10, 40]), st.booleans()),
    ),
    (1, st.builds(Resume, _index)),
    (1, st.builds(VoidInvoice, _index, st.booleans())),
    (1, st.builds(VoidCreditNote, _index)),
    (1, st.builds(FinalizeDraft, _index)),
    (1, st.builds(Subscribe, _index, _plan, st.booleans())),
]
steps: st.SearchStrategy[Step] = st.one_of(
    [strategy for weight, strategy in _WEIGHTED for _ in range(weight)]
)
