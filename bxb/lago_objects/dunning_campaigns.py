"""Dunning campaigns in Lago's shape (Lago's GraphQL DunningCampaign, as REST JSON), and the
`dunning_campaign.finished` webhook object (Lago's DunningCampaignFinishedSerializer)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bxb.lago_objects.formats import iso
from bxb.models import Customer, DunningCampaign


def dunning_campaign_object(campaign: DunningCampaign, customers_count: int) -> dict[str, Any]:
    return {
        "lago_id": str(campaign.id),
        "code": campaign.code,
        "name": campaign.name,
        "description": campaign.description,
        "applied_to_organization": campaign.applied_to_organization,
        "days_between_attempts": campaign.days_between_attempts,
        "max_attempts": campaign.max_attempts,
        "bcc_emails": list(campaign.bcc_emails),
        "thresholds": [
            {"lago_id": str(t.id), "amount_cents": t.amount_cents, "currency": t.currency}
            for t in campaign.thresholds
        ],
        "customers_count": customers_count,
        "created_at": iso(campaign.created_at),
        "updated_at": iso(campaign.updated_at),
    }


def dunning_campaign_finished_object(
    customer: Customer, campaign_code: str, overdue_balances: Mapping[str, int]
) -> dict[str, Any]:
    """The customer's overdue balance when the campaign gave up; the single balance is the
    one in the customer's currency (else the first currency), as Lago reports it."""
    currencies = sorted(overdue_balances)
    currency = customer.currency if customer.currency in overdue_balances else None
    currency = currency or (currencies[0] if currencies else customer.currency or "USD")
    return {
        "external_customer_id": customer.external_id,
        "dunning_campaign_code": campaign_code,
        "overdue_balance_cents": overdue_balances.get(currency, 0),
        "overdue_balance_currency": currency,
        "overdue_balances": [
            {"currency": c, "amount_cents": overdue_balances[c]} for c in currencies
        ],
        "customer_external_id": customer.external_id,  # Lago: deprecated twin
    }
