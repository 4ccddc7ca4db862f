"""When a dunning campaign asks for payment (Lago's CustomerDunningEvaluator)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bxb.billing.dunning import CampaignTerms, DunningStanding, decide_attempt

CAMPAIGN = CampaignTerms("std", 3, 2, {"EUR": 10_000, "USD": 5_000})
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_first_attempt_for_each_currency_reaching_its_threshold() -> None:
    attempt = decide_attempt(
        CAMPAIGN, DunningStanding(), {"EUR": 10_000, "USD": 4_999, "GBP": 99_999}, NOW
    )
    assert attempt is not None
    # USD is below its threshold; GBP has none.
    assert attempt.currencies == ("EUR",)
    assert attempt.standing == DunningStanding({"EUR": 1}, NOW)
    assert not attempt.finished


def test_waits_days_between_attempts() -> None:
    standing = DunningStanding({"EUR": 1}, NOW)
    balances = {"EUR": 20_000}
    assert decide_attempt(CAMPAIGN, standing, balances, NOW + timedelta(days=3)) is None
    later = NOW + timedelta(days=3, seconds=1)
    attempt = decide_attempt(CAMPAIGN, standing, balances, later)
    assert attempt is not None
    assert attempt.standing == DunningStanding({"EUR": 2}, later)
    # Every currency tried has had its two attempts: the campaign is over.
    assert attempt.finished


def test_no_more_than_max_attempts_per_currency() -> None:
    standing = DunningStanding({"EUR": 2}, NOW)
    later = NOW + timedelta(days=30)
    assert decide_attempt(CAMPAIGN, standing, {"EUR": 20_000}, later) is None
    # Another currency still gets its own attempts.
    attempt = decide_attempt(CAMPAIGN, standing, {"EUR": 20_000, "USD": 5_000}, later)
    assert attempt is not None
    assert attempt.currencies == ("USD",)
    assert attempt.standing.attempts == {"EUR": 2, "USD": 1}
    assert not attempt.finished


def test_nothing_overdue_nothing_asked() -> None:
    assert decide_attempt(CAMPAIGN, DunningStanding(), {}, NOW) is None
    assert (
        decide_attempt(CampaignTerms("z", 1, 1, {"EUR": 0}), DunningStanding(), {"EUR": 0}, NOW)
        is None
    )
