"""Dunning campaign requests (Lago's GraphQL inputs, as a REST body)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bxb.api.schemas.billable_metrics import INT32_MAX, Name, Text
from bxb.api.schemas.taxes import reject_null
from bxb.inputs.validation import Currency, Email

MAX_BCC_EMAILS = 10
# Amounts are integer minor units held in BIGINT.
MAX_AMOUNT_CENTS = 2**63 - 1


class ThresholdIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    amount_cents: int = Field(ge=0, le=MAX_AMOUNT_CENTS)
    currency: Currency


class DunningCampaignFields(BaseModel):
    """Every field optional: the body of a PUT (absent fields keep their value)."""

    model_config = ConfigDict(extra="ignore")

    code: Name | None = None
    name: Name | None = None
    description: Text | None = None
    applied_to_organization: bool | None = None
    days_between_attempts: int | None = Field(default=None, gt=0, le=INT32_MAX)
    max_attempts: int | None = Field(default=None, gt=0, le=INT32_MAX)
    bcc_emails: list[Email] | None = Field(default=None, max_length=MAX_BCC_EMAILS)
    thresholds: list[ThresholdIn] | None = Field(default=None, min_length=1)

    _required = field_validator(
        "code",
        "name",
        "applied_to_organization",
        "days_between_attempts",
        "max_attempts",
        "thresholds",
        mode="before",
    )(reject_null)


class DunningCampaignCreate(DunningCampaignFields):
    code: Name
    name: Name
    days_between_attempts: int = Field(gt=0, le=INT32_MAX)
    max_attempts: int = Field(gt=0, le=INT32_MAX)
    thresholds: list[ThresholdIn] = Field(min_length=1)


class DunningCampaignCreateBody(BaseModel):
    dunning_campaign: DunningCampaignCreate


class DunningCampaignUpdateBody(BaseModel):
    dunning_campaign: DunningCampaignFields


def thresholds_errors(thresholds: list[ThresholdIn]) -> dict[str, list[str]]:
    """One threshold per currency (Lago's unique index)."""
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for index, item in enumerate(thresholds):
        if item.currency in seen:
            errors[f"thresholds.{index}.currency"] = ["value_already_exist"]
        seen.add(item.currency)
    return errors
