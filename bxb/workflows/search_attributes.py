"""Search attributes that let operators filter subscriptions in the Temporal UI."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

ORGANIZATION_ID = SearchAttributeKey.for_keyword("BxbOrganizationId")
CUSTOMER_EXTERNAL_ID = SearchAttributeKey.for_keyword("BxbCustomerExternalId")
PLAN_CODE = SearchAttributeKey.for_keyword("BxbPlanCode")
SUBSCRIPTION_STATUS = SearchAttributeKey.for_keyword("BxbSubscriptionStatus")
# Set while a due transition keeps failing with an error no retry fixes (its message).
BILLING_ERROR = SearchAttributeKey.for_keyword("BxbBillingError")

ALL: tuple[SearchAttributeKey[str], ...] = (
    ORGANIZATION_ID,
    CUSTOMER_EXTERNAL_ID,
    PLAN_CODE,
    SUBSCRIPTION_STATUS,
    BILLING_ERROR,
)
