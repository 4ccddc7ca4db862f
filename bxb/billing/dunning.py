"""When a dunning campaign asks a customer to pay their overdue balance (pure).

Lago's DunningCampaigns::BulkProcessService, one customer at a time: a campaign asks for
payment of the overdue invoices in a currency when

- at least `days_between_attempts` days have passed since the customer's last attempt
  (or there was none),
- fewer than `max_attempts` attempts were made in that currency, and
- the overdue balance in that currency reaches the campaign's threshold for it (a currency
  without a threshold is never chased).

Every currency chased counts one attempt; when, after an attempt, every currency tried has
used all its attempts, the campaign is finished for the customer (`dunning_campaign.finished`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class CampaignTerms:
    code: str
    days_between_attempts: int
    max_attempts: int
    thresholds: Mapping[str, int]  # currency → amount_cents


@dataclass(frozen=True)
class DunningStanding:
    """Where the customer stands in the campaign."""

    attempts: Mapping[str, int] = field(default_factory=dict)  # currency → attempts made
    last_attempt_at: datetime | None = None


@dataclass(frozen=True)
class DunningAttempt:
    """Ask for payment of the overdue invoices in `currencies`; then the new standing."""

    currencies: tuple[str, ...]
    standing: DunningStanding
    finished: bool


def next_attempt_at(campaign: CampaignTerms, standing: DunningStanding) -> datetime | None:
    """The earliest instant of the next attempt (None: any time)."""
    if standing.last_attempt_at is None:
        return None
    return standing.last_attempt_at + timedelta(days=campaign.days_between_attempts)


def decide_attempt(
    campaign: CampaignTerms,
    standing: DunningStanding,
    overdue_balances: Mapping[str, int],
    now: datetime,
) -> DunningAttempt | None:
    """The attempt to make now, or None (too early, nothing reaches a threshold, or every
    currency has had its attempts)."""
    earliest = next_attempt_at(campaign, standing)
    if earliest is not None and now <= earliest:
        return None
    currencies = tuple(
        sorted(
            currency
            for currency, balance in overdue_balances.items()
            if standing.attempts.get(currency, 0) < campaign.max_attempts
            and currency in campaign.thresholds
            and balance > 0
            and balance >= campaign.thresholds[currency]
        )
    )
    if not currencies:
        return None
    attempts = dict(standing.attempts)
    for currency in currencies:
        attempts[currency] = attempts.get(currency, 0) + 1
    finished = all(count >= campaign.max_attempts for count in attempts.values())
    return DunningAttempt(currencies, DunningStanding(attempts, now), finished)
