"""Summaries of a subscription's activities and timers, in billing words.

`temporal workflow show` (and the Temporal UI) list each step of a subscription with its
summary: "close period 2026-01 of sub_123", "finalize invoice ORG-0001-001 of sub_123",
"trial ends for sub_123". Pure functions of the workflow's state (deterministic).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bxb.billing.subscription_fees import zone
from bxb.workflows.state import Collection, Segment, SubscriptionState


def period(start: datetime, end: datetime, timezone: str) -> str:
    """2026-01 for a calendar month, 2026 for a calendar year, else the local days."""
    tz = zone(timezone)
    lo, hi = start.astimezone(tz), end.astimezone(tz)
    last = (hi - timedelta(microseconds=1)) if hi > lo else hi
    midnight = lo.time() == hi.time() == datetime.min.time()
    if midnight and lo.day == 1 and hi.day == 1:
        if (lo.year, lo.month) == (last.year, last.month):
            return f"{lo:%Y-%m}"
        if lo.month == 1 and hi.month == 1 and hi.year == lo.year + 1:
            return f"{lo:%Y}"
    if lo.date() == last.date():
        return f"{lo:%Y-%m-%d}"
    return f"{lo:%Y-%m-%d}..{last:%Y-%m-%d}"


def transition(
    kind: str, s: SubscriptionState, at: datetime, period_start: datetime, invoiced: Segment
) -> str:
    """What one recording activity does: the subscription, the plan, the period."""
    sub = s.external_id
    day = at.astimezone(zone(s.timezone)).strftime("%Y-%m-%d")
    plan = s.segment.plan.code
    if kind == "start":
        return f"start {sub} on {plan} ({day})"
    if kind == "trial_end":
        return f"trial ends for {sub} ({day})"
    if kind == "period_end":
        return f"close period {period(period_start, at, s.timezone)} of {sub}"
    if kind == "usage":
        return f"bill usage {period(period_start, at, s.timezone)} of {sub}"
    if kind == "plan_change":
        return f"upgrade {sub} from {invoiced.plan.code} to {plan} ({day})"
    if kind == "downgrade" and s.downgrade is not None:
        when = s.downgrade.at.astimezone(zone(s.timezone)).strftime("%Y-%m-%d")
        return f"downgrade {sub} to {s.downgrade.plan.code} on {when}"
    if kind == "termination":
        return f"terminate {sub} ({day})"
    if kind == "cancel":
        return f"cancel {sub} ({day})"
    if kind == "pause":
        return f"pause {sub} ({day})"
    if kind == "resume":
        return f"resume {sub} ({day})"
    return f"record {sub} ({kind}, {day})"


def usage(s: SubscriptionState, now: datetime) -> str:
    day = now.astimezone(zone(s.timezone)).strftime("%Y-%m-%d")
    return f"react to usage of {s.external_id} ({day})"


def invoice(action: str, collection: Collection, s: SubscriptionState) -> str:
    """`finalize invoice ORG-0001-001 of sub_123`, or the invoice's id while it has no
    number (a draft)."""
    name = collection.number or str(collection.invoice_id)
    return f"{action} invoice {name} of {s.external_id}"


def waiting(kind: str | None, at: datetime | None, s: SubscriptionState) -> str:
    """The timer the subscription waits on: what happens when it fires."""
    sub = s.external_id
    if kind is None or at is None:
        return f"{sub} waits for a request"
    day = at.astimezone(zone(s.timezone)).strftime("%Y-%m-%d")
    if kind == "close_period" and s.period_start is not None:
        return f"period {period(s.period_start, at, s.timezone)} of {sub} closes"
    words = {
        "activate": "starts",
        "end_trial": "trial ends",
        "terminate": "ends",
        "close_usage": "usage period closes",
        "pause": "pauses",
        "resume": "resumes",
        "react_to_usage": "usage is checked",
        "finalize_invoice": "grace period of an invoice ends",
        "collect_payment": "payment retry",
    }
    return f"{sub} {words.get(kind, kind)} on {day}"
