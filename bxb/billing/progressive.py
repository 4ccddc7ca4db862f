"""Progressive billing: which usage thresholds a subscription's lifetime usage crossed.

Lago counts thresholds against the subscription's *lifetime* usage: the usage billed
before it came to bxb (historical), the usage its period invoices billed (invoiced), and
the usage of the current period so far (current). A fixed threshold is crossed once in
the subscription's life; the recurring one (at most one per plan) steps every
`amount_cents` beyond the largest fixed threshold: with fixed 10000 and recurring 5000,
at 15000, 20000, 25000, ...

A crossing is billed when the lifetime usage reaches a level above what is already
billed (historical + invoiced + what the period's progressive invoices billed), so each
level is billed at most once. All amounts are integer minor units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Threshold:
    id: str
    amount_cents: int
    recurring: bool = False
    display_name: str | None = None


@dataclass(frozen=True)
class Crossing:
    """A threshold crossed, and the lifetime amount the crossing is at."""

    threshold: Threshold
    level_cents: int


def _split(thresholds: Sequence[Threshold]) -> tuple[list[Threshold], Threshold | None]:
    fixed = sorted((t for t in thresholds if not t.recurring), key=lambda t: t.amount_cents)
    recurring = next((t for t in thresholds if t.recurring), None)
    return fixed, recurring


def _recurring_base(fixed: Sequence[Threshold]) -> int:
    return fixed[-1].amount_cents if fixed else 0


def crossed(
    thresholds: Sequence[Threshold], billed_cents: int, lifetime_cents: int
) -> list[Crossing]:
    """The thresholds crossed between what is billed and the lifetime usage, in order.

    A recurring threshold crossed several times at once counts once, at its highest step.
    """
    if lifetime_cents <= billed_cents:
        return []
    fixed, recurring = _split(thresholds)
    found = [
        Crossing(t, t.amount_cents)
        for t in fixed
        if billed_cents < t.amount_cents <= lifetime_cents
    ]
    if recurring is not None and recurring.amount_cents > 0:
        base = _recurring_base(fixed)
        steps = (lifetime_cents - base) // recurring.amount_cents
        level = base + steps * recurring.amount_cents
        if steps >= 1 and level > billed_cents:
            found.append(Crossing(recurring, level))
    return found


MAX_RECURRING_LINES = 100


@dataclass(frozen=True)
class Completion:
    """One line of Lago's lifetime usage `usage_thresholds`."""

    threshold: Threshold
    amount_cents: int
    completion_ratio: float
    reached_at: datetime | None


def completions(
    thresholds: Sequence[Threshold],
    lifetime_cents: int,
    reached: Mapping[int, datetime],
    now: datetime,
) -> list[Completion]:
    """How far the lifetime usage is along each threshold (Lago's completion service).

    `reached` maps the lifetime levels billed so far to when; a level reached but not
    billed yet is reached `now`.
    """
    fixed, recurring = _split(thresholds)

    def reached_at(level: int) -> datetime:
        later = sorted(at_level for at_level in reached if at_level >= level)
        return reached[later[0]] if later else now

    passed = [t for t in fixed if t.amount_cents <= lifetime_cents]
    pending = [t for t in fixed if t.amount_cents > lifetime_cents]
    lines = [Completion(t, t.amount_cents, 1.0, reached_at(t.amount_cents)) for t in passed]
    last = passed[-1].amount_cents if passed else 0
    if pending:
        first, *rest = pending
        ratio = (lifetime_cents - last) / (first.amount_cents - last)
        lines.append(Completion(first, first.amount_cents, ratio, None))
        lines += [Completion(t, t.amount_cents, 0.0, None) for t in rest]
        if recurring is not None:
            level = _recurring_base(fixed) + recurring.amount_cents
            lines.append(Completion(recurring, level, 0.0, None))
        return lines
    if recurring is None or recurring.amount_cents <= 0:
        return lines
    steps = max(0, lifetime_cents - last) // recurring.amount_cents
    # The latest steps only: a small recurring amount must not make an endless answer.
    for step in range(max(1, steps - MAX_RECURRING_LINES + 1), steps + 1):
        level = last + step * recurring.amount_cents
        lines.append(Completion(recurring, level, 1.0, reached_at(level)))
    done = last + steps * recurring.amount_cents
    ratio = (lifetime_cents - done) / recurring.amount_cents
    lines.append(Completion(recurring, done + recurring.amount_cents, ratio, None))
    return lines


def deductions(current: Mapping[str, int], already_billed: Mapping[str, int]) -> dict[str, int]:
    """What each fee deducts for the usage earlier invoices of the period billed.

    Keys name a fee (its charge and filter); a fee never deducts more than it is.
    """
    return {
        key: min(amount, already_billed.get(key, 0)) if amount > 0 else 0
        for key, amount in current.items()
    }
