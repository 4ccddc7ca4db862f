"""One entry per operation of Lago's reference: how the conformance test calls it.

The entries run in this order against one organization; the early ones are the seed (they
create the objects the later ones read, change and finally delete). A value "{name}" in a
path parameter, query or body is taken from what earlier answers saved under that name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    op: str  # the reference's operationId
    params: dict[str, str] = field(default_factory=dict)  # path parameters
    body: Any = None
    query: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    # name -> dotted path in the answer, kept for later entries ("invoice.lago_id").
    save: dict[str, str] = field(default_factory=dict)
    # dotted path in the answer -> the value it must have.
    expect: dict[str, Any] = field(default_factory=dict)


def seed(name: str, method: str, path: str, body: Any, **save: str) -> Call:
    """A step of the seed through a bxb route that is not one of the reference's (test
    clocks): called like the entries, its answer not validated."""
    return Call(f"{SEED}{name} {method} /api/v1{path}", body=body, save=save)


SEED = "seed:"
DATABASE = "database:"


def in_database(step: str, **params: str) -> Call:
    """A step of the seed written in the database: the outcome of something that takes
    time or an outside party in bxb (the test names each step's statement)."""
    return Call(f"{SEED}{DATABASE}{step}", params=params)


# Path parameters the same for every entry unless an entry names them.
DEFAULT_PARAMS = {
    "external_customer_id": "cus_1",
    "external_id": "sub_1",
    "charge_code": "calls_charge",
    "fixed_charge_code": "seats_fee",
    "feature_code": "seats",
    "privilege_code": "max",
    "wallet_code": "main",
}

METRIC = {
    "name": "API calls",
    "code": "calls",
    "aggregation_type": "sum_agg",
    "field_name": "amount",
    "recurring": False,
    "filters": [{"key": "region", "values": ["eu", "us"]}],
}
CHARGE = {
    "billable_metric_id": "{metric}",
    "code": "calls_charge",
    "charge_model": "standard",
    "invoice_display_name": "Calls",
    "pay_in_advance": False,
    "invoiceable": True,
    "properties": {"amount": "0.5"},
}
# A metric billed in advance, per event: the estimate operations ask what its events
# would cost (only its estimates are sent, so it bills nothing in the period).
UPLOADS = {
    "name": "Uploads",
    "code": "uploads",
    "aggregation_type": "count_agg",
    "recurring": False,
}
INSTANT_CHARGE = {
    "billable_metric_id": "{uploads_metric}",
    "code": "uploads_charge",
    "charge_model": "standard",
    "pay_in_advance": True,
    "invoiceable": True,
    "properties": {"amount": "2"},
}
PLAN = {
    "name": "Startup",
    "code": "startup",
    "interval": "monthly",
    "amount_cents": 10000,
    "amount_currency": "USD",
    "pay_in_advance": False,
    "charges": [CHARGE, INSTANT_CHARGE],
}
SEATS = {
    "code": "seats",
    "name": "Seats",
    "description": "Users of the account",
    "privileges": [
        {"code": "max", "name": "Maximum", "value_type": "integer"},
        {"code": "root", "name": "Root user", "value_type": "boolean"},
    ],
}
USAGE_ALERT = {
    "alert_type": "current_usage_amount",
    "code": "spend",
    "name": "Spend",
    "thresholds": [{"value": 1000, "code": "warn"}],
}
WALLET_ALERT = {
    "alert_type": "wallet_balance_amount",
    "code": "low",
    "thresholds": [{"value": 100}],
}
EVENT = {
    "transaction_id": "tr_1",
    "external_subscription_id": "sub_1",
    "code": "calls",
    "timestamp": 1772668800,  # 2026-03-05, in the test clock's first period
    "properties": {"amount": "12", "region": "eu"},
}
# An upload, estimated (never sent): the pay-in-advance charge would bill it $2.
ESTIMATED = {**EVENT, "transaction_id": "tr_est", "code": "uploads", "properties": {}}

CALLS: tuple[Call, ...] = (
    # The organization, taxes, metrics, features, add-ons, coupons.
    Call("updateOrganization", body={"organization": {"email": "billing@acme.test"}}),
    Call(
        "createTax",
        body={"tax": {"name": "VAT", "code": "vat", "rate": "20.0"}},
        save={"tax": "tax.lago_id"},
    ),
    Call("createTax", body={"tax": {"code": "vat", "rate": "x"}}, status=422),
    Call("findTax", {"code": "nothing"}, status=404),
    Call("findAllTaxes"),
    Call("findTax", {"code": "vat"}),
    Call("updateTax", {"code": "vat"}, body={"tax": {"description": "Value added tax"}}),
    Call(
        "createBillableMetric",
        body={"billable_metric": METRIC},
        save={"metric": "billable_metric.lago_id"},
    ),
    Call(
        "createBillableMetric",
        body={"billable_metric": UPLOADS},
        save={"uploads_metric": "billable_metric.lago_id"},
    ),
    Call("findAllBillableMetrics"),
    Call("findBillableMetric", {"code": "calls"}),
    Call("updateBillableMetric", {"code": "calls"}, body={"billable_metric": {"name": "Calls"}}),
    Call(
        "evaluateBillableMetricExpression",
        body={
            "expression": "round(event.properties.value * 2)",
            "event": {"code": "calls", "timestamp": 1700000000, "properties": {"value": "2.4"}},
        },
    ),
    Call("createFeature", body={"feature": SEATS}),
    Call("findAllFeatures"),
    Call("findFeature", {"code": "seats"}),
    Call("updateFeature", {"code": "seats"}, body={"feature": {"name": "Seats (users)"}}),
    Call(
        "createAddOn",
        body={
            "add_on": {
                "name": "Setup",
                "code": "setup",
                "amount_cents": 5000,
                "amount_currency": "USD",
                "tax_codes": ["vat"],
            }
        },
    ),
    Call("findAllAddOns"),
    Call("findAddOn", {"code": "setup"}),
    Call("updateAddOn", {"code": "setup"}, body={"add_on": {"description": "One-time setup"}}),
    Call(
        "createCoupon",
        body={
            "coupon": {
                "name": "Welcome",
                "code": "welcome",
                "coupon_type": "fixed_amount",
                "amount_cents": 500,
                "amount_currency": "USD",
                "frequency": "once",
                "expiration": "no_expiration",
            }
        },
    ),
    Call("findAllCoupons"),
    Call("findCoupon", {"code": "welcome"}),
    Call("updateCoupon", {"code": "welcome"}, body={"coupon": {"name": "Welcome!"}}),
    Call(
        "createWebhookEndpoint",
        body={
            "webhook_endpoint": {
                "webhook_url": "http://127.0.0.1:9/hooks",
                "signature_algo": "hmac",
            }
        },
        save={"endpoint": "webhook_endpoint.lago_id"},
    ),
    Call("findAllWebhookEndpoints"),
    Call("findWebhookEndpoint", {"lago_id": "{endpoint}"}),
    Call(
        "updateWebhookEndpoint",
        {"lago_id": "{endpoint}"},
        body={
            "webhook_endpoint": {
                "webhook_url": "http://127.0.0.1:9/hooks2",
                "signature_algo": "hmac",
            }
        },
    ),
    Call("fetchPublicKey"),
    Call("fetchJsonPublicKey"),
    # Billing entities.
    Call(
        "createBillingEntity",
        body={"billing_entity": {"code": "acme_eu", "name": "Acme EU", "default_currency": "EUR"}},
    ),
    Call("listBillingEntities"),
    Call("getBillingEntity", {"code": "acme_eu"}),
    Call("updateBillingEntity", {"code": "acme_eu"}, body={"billing_entity": {"name": "Acme"}}),
    # The plan, its charges, fixed charges, filters, entitlements, metadata.
    Call("createPlan", body={"plan": PLAN}, save={"plan": "plan.lago_id"}),
    Call("findAllPlans"),
    Call("findPlan", {"code": "startup"}),
    Call("updatePlan", {"code": "startup"}, body={"plan": {"description": "For startups"}}),
    Call("replacePlanMetadata", {"code": "startup"}, body={"metadata": {"tier": "a", "x": "1"}}),
    Call("mergePlanMetadata", {"code": "startup"}, body={"metadata": {"tier": "b"}}),
    Call("deletePlanMetadataKey", {"code": "startup", "key": "x"}),
    Call("findAllPlanCharges", {"code": "startup"}),
    Call("findPlanCharge", {"code": "startup"}),
    Call(
        "updatePlanCharge",
        {"code": "startup"},
        body={"charge": {"invoice_display_name": "API calls"}},
    ),
    Call(
        "createPlanCharge",
        {"code": "startup"},
        body={
            "charge": {
                **CHARGE,
                "code": "calls_tiered",
                "charge_model": "package",
                "properties": {"amount": "10", "package_size": 100, "free_units": 0},
            }
        },
    ),
    Call(
        "createPlanChargeFilter",
        {"code": "startup"},
        body={
            "filter": {
                "invoice_display_name": "EU",
                "properties": {"amount": "0.4"},
                "values": {"region": ["eu"]},
            }
        },
        save={"plan_filter": "filter.lago_id"},
    ),
    Call("findAllPlanChargeFilters", {"code": "startup"}),
    Call("findPlanChargeFilter", {"code": "startup", "filter_id": "{plan_filter}"}),
    Call(
        "updatePlanChargeFilter",
        {"code": "startup", "filter_id": "{plan_filter}"},
        body={"filter": {"invoice_display_name": "Europe"}},
    ),
    Call(
        "createPlanFixedCharge",
        {"code": "startup"},
        body={
            "fixed_charge": {
                "add_on_code": "setup",
                "code": "seats_fee",
                "charge_model": "standard",
                "units": "2",
                "properties": {"amount": "3"},
            }
        },
    ),
    Call("findAllPlanFixedCharges", {"code": "startup"}),
    Call("findPlanFixedCharge", {"code": "startup"}),
    Call(
        "updatePlanFixedCharge",
        {"code": "startup"},
        body={"fixed_charge": {"invoice_display_name": "Seats"}},
    ),
    Call(
        "createEntitlement",
        {"code": "startup"},
        body={"entitlements": {"seats": {"max": 10, "root": True}}},
    ),
    Call(
        "updateEntitlement",
        {"code": "startup"},
        body={"entitlements": {"seats": {"max": 20}}},
    ),
    Call("findAllEntitlements", {"code": "startup"}),
    Call("findEntitlement", {"code": "startup"}),
    # The customer (on a test clock) and its subscription.
    seed(
        "clock",
        "POST",
        "/test_clocks",
        {"test_clock": {"name": "c", "frozen_time": "2026-03-01T00:00:00Z"}},
        clock="test_clock.lago_id",
    ),
    Call(
        "createCustomer",
        body={
            "customer": {
                "test_clock_id": "{clock}",
                "external_id": "cus_1",
                "name": "Acme",
                "currency": "USD",
                "email": "ap@acme.test",
                "tax_codes": ["vat"],
            }
        },
        save={"customer": "customer.lago_id"},
    ),
    Call("findCustomer", {"external_customer_id": "nobody"}, status=404),
    Call("findAllCustomers"),
    Call("findCustomer"),
    Call("getCustomerPortalUrl"),
    Call("generateCustomerCheckoutURL", status=422),
    Call(
        "createSubscription",
        body={
            "subscription": {
                "external_customer_id": "cus_1",
                "plan_code": "startup",
                "external_id": "sub_1",
                "name": "Main",
            }
        },
        save={"subscription": "subscription.lago_id"},
    ),
    Call("findAllSubscriptions"),
    Call("findSubscription"),
    Call("updateSubscription", body={"subscription": {"name": "Main subscription"}}),
    Call("findAllCustomerSubscriptions"),
    Call("findAllSubscriptionCharges"),
    Call("findSubscriptionCharge"),
    Call(
        "overrideSubscriptionCharge",
        body={"charge": {"properties": {"amount": "0.45"}}},
    ),
    Call(
        "createSubscriptionChargeFilter",
        body={
            "filter": {
                "invoice_display_name": "US",
                "properties": {"amount": "0.3"},
                "values": {"region": ["us"]},
            }
        },
        save={"sub_filter": "filter.lago_id"},
    ),
    Call("findAllSubscriptionChargeFilters", save={"sub_filter_any": "filters.0.lago_id"}),
    Call("findSubscriptionChargeFilter", {"filter_id": "{sub_filter}"}),
    Call(
        "updateSubscriptionChargeFilter",
        {"filter_id": "{sub_filter}"},
        body={"filter": {"invoice_display_name": "United States"}},
    ),
    Call("findAllSubscriptionFixedCharges"),
    Call("findSubscriptionFixedCharge"),
    Call(
        "overrideSubscriptionFixedCharge",
        body={"fixed_charge": {"units": "3"}},
    ),
    Call("findAllSubscriptionEntitlements"),
    Call(
        "updateSubscriptionEntitlements",
        body={"entitlements": {"seats": {"max": 30}}},
    ),
    Call("getSubscriptionLifetimeUsage"),
    Call(
        "updateSubscriptionLifetimeUsage",
        body={"lifetime_usage": {"external_historical_usage_amount_cents": 100}},
    ),
    Call("createSubscriptionAlert", body={"alert": USAGE_ALERT}),
    Call("getSubscriptionAlerts"),
    Call("getSubscriptionAlert", {"code": "spend"}),
    Call("updateSubscriptionAlert", {"code": "spend"}, body={"alert": {"name": "Spending"}}),
    # Events and usage.
    Call("createEvent", body={"event": EVENT}),
    Call(
        "createBatchEvents",
        body={"events": [{**EVENT, "transaction_id": "tr_2"}, {**EVENT, "transaction_id": "tr_3"}]},
    ),
    Call("findAllEvents"),
    Call("findEvent", {"transaction_id": "tr_1"}),
    Call("eventEstimateFees", body={"event": ESTIMATED}),
    Call("eventEstimateInstantFees", body={"event": ESTIMATED}),
    Call("eventBatchEstimateInstantFees", body={"events": [ESTIMATED]}),
    Call("findCustomerCurrentUsage", query={"external_subscription_id": "sub_1"}),
    Call("findCustomerProjectedUsage", query={"external_subscription_id": "sub_1"}),
    # The first period ends: its invoice bills the plan and the calls (with filters).
    seed(
        "advance",
        "POST",
        "/test_clocks/{clock}/advance",
        {"test_clock": {"frozen_time": "2026-04-01T01:00:00Z"}},
    ),
    Call("findAllCustomerPastUsage", query={"external_subscription_id": "sub_1"}),
    Call(
        "findAllInvoices",
        query={"invoice_type": "subscription"},
        save={"period_invoice": "invoices.0.lago_id"},
    ),
    # The plan ($100), 3 seats at $3 (the subscription's override), 36 calls in Europe at
    # $0.40 (the filter), none elsewhere, one package of 100 calls at $10; VAT 20 %.
    Call(
        "findInvoice",
        {"lago_id": "{period_invoice}"},
        expect={
            "invoice.fees_amount_cents": 13340,
            "invoice.taxes_amount_cents": 2668,
            "invoice.total_amount_cents": 16008,
            "invoice.fees.0.item.item_type": "Subscription",
            "invoice.fees.1.item.item_type": "AddOn",
            "invoice.fees.2.amount_cents": 1440,
            "invoice.fees.2.item.filter_invoice_display_name": "Europe",
            "invoice.fees.4.amount_cents": 1000,
        },
    ),
    # Coupons applied.
    Call(
        "applyCoupon",
        body={"applied_coupon": {"external_customer_id": "cus_1", "coupon_code": "welcome"}},
        save={"applied_coupon": "applied_coupon.lago_id"},
    ),
    Call("findAllAppliedCoupons"),
    Call("findAllCustomerAppliedCoupons"),
    # Invoices: one-off ones, finalized, paid, voided.
    Call(
        "createInvoice",
        body={
            "invoice": {
                "external_customer_id": "cus_1",
                "currency": "USD",
                "fees": [{"add_on_code": "setup", "units": 2}],
            }
        },
        save={"invoice": "invoice.lago_id", "fee": "invoice.fees.0.lago_id"},
        expect={"invoice.total_amount_cents": 12000, "invoice.fees.0.item.item_type": "AddOn"},
    ),
    Call(
        "createInvoice",
        body={
            "invoice": {
                "external_customer_id": "cus_1",
                "currency": "USD",
                "fees": [{"add_on_code": "setup"}],
            }
        },
        save={"invoice_2": "invoice.lago_id"},
    ),
    Call("findAllInvoices"),
    Call("findInvoice", {"lago_id": "{invoice}"}),
    Call(
        "updateInvoice",
        {"lago_id": "{invoice}"},
        body={"invoice": {"metadata": [{"key": "po", "value": "PO-1"}]}},
    ),
    Call("findAllCustomerInvoices"),
    Call("downloadInvoice", {"lago_id": "{invoice}"}),
    Call("finalizeInvoice", {"lago_id": "{invoice}"}, status=405),
    Call("refreshInvoice", {"lago_id": "{invoice}"}),
    Call("retryInvoice", {"lago_id": "{invoice}"}, status=405),
    Call("invoicePaymentUrl", {"lago_id": "{invoice}"}, status=422),
    Call("retryPayment", {"lago_id": "{invoice}"}),
    Call(
        "invoicePreview",
        body={"customer": {"external_id": "cus_1"}, "plan_code": "startup"},
    ),
    Call("findAllFees"),
    Call("findFee", {"lago_id": "{fee}"}),
    Call(
        "updateFee", {"lago_id": "{fee}"}, body={"fee": {"payment_status": "succeeded"}}, status=405
    ),
    Call(
        "createPayment",
        body={"payment": {"invoice_id": "{invoice}", "amount_cents": 12000, "reference": "wire-1"}},
        save={"payment": "payment.lago_id"},
    ),
    Call("findAllPayments"),
    Call("findPayment", {"lago_id": "{payment}"}),
    Call("findAllCustomerPayments"),
    Call("findAllPaymentReceipts", save={"receipt": "payment_receipts.0.lago_id"}),
    Call("findPaymentReceipt", {"lago_id": "{receipt}"}),
    # The second invoice is overdue: what a dunning campaign ending with keep_past_due
    # makes of an unpaid invoice in bxb, written directly (the seed has no time to wait).
    in_database("mark_overdue", lago_id="{invoice_2}"),
    Call(
        "createPaymentRequest",
        body={
            "payment_request": {
                "external_customer_id": "cus_1",
                "email": "ap@acme.test",
                "lago_invoice_ids": ["{invoice_2}"],
            }
        },
        save={"payment_request": "payment_request.lago_id"},
    ),
    Call("findAllPaymentRequests"),
    Call("findPaymentRequest", {"lago_id": "{payment_request}"}),
    Call("findAllCustomerPaymentRequests"),
    # Credit notes on the paid invoice.
    Call(
        "estimateCreditNote",
        body={
            "credit_note": {
                "invoice_id": "{invoice}",
                "items": [{"fee_id": "{fee}", "amount_cents": 1000}],
            }
        },
    ),
    Call(
        "createCreditNote",
        body={
            "credit_note": {
                "invoice_id": "{invoice}",
                "reason": "other",
                "description": "Goodwill",
                "items": [{"fee_id": "{fee}", "amount_cents": 1000}],
                "credit_amount_cents": 600,
                "refund_amount_cents": 600,
            }
        },
        save={"credit_note": "credit_note.lago_id"},
        expect={
            "credit_note.total_amount_cents": 1200,
            "credit_note.items.0.fee.lago_id": "{fee}",
            "credit_note.items.0.fee.item.item_type": "AddOn",
            "credit_note.items.0.fee.invoiceable": True,
            "credit_note.items.0.fee.pay_in_advance": False,
            "credit_note.items.0.fee.precise_unit_amount": "50",
        },
    ),
    Call("findAllCreditNotes"),
    Call("findCreditNote", {"lago_id": "{credit_note}"}),
    Call(
        "updateCreditNote",
        {"lago_id": "{credit_note}"},
        body={"credit_note": {"refund_status": "succeeded"}},
    ),
    Call("findAllCustomerCreditNotes"),
    Call("downloadCreditNote", {"lago_id": "{credit_note}"}),
    Call(
        "replaceCreditNoteMetadata",
        {"lago_id": "{credit_note}"},
        body={"metadata": {"ticket": "T-1", "x": "1"}},
    ),
    Call("mergeCreditNoteMetadata", {"lago_id": "{credit_note}"}, body={"metadata": {"y": "2"}}),
    Call("deleteCreditNoteMetadataKey", {"lago_id": "{credit_note}", "key": "x"}),
    Call("deleteAllCreditNoteMetadata", {"lago_id": "{credit_note}"}),
    Call("voidCreditNote", {"lago_id": "{credit_note}"}),
    # Lago lets a finalized invoice's dispute be lost (whatever its payment status).
    Call(
        "loseDisputeInvoice",
        {"lago_id": "{invoice}"},
        expect={"invoice.lago_id": "{invoice}"},
    ),
    Call("voidInvoice", {"lago_id": "{invoice_2}"}, body={}),
    # Wallets: prepaid credits.
    Call(
        "createWallet",
        body={
            "wallet": {
                "external_customer_id": "cus_1",
                "name": "Main",
                "code": "main",
                "rate_amount": "1",
                "currency": "USD",
                "granted_credits": "10",
                "priority": 1,
            }
        },
        save={"wallet": "wallet.lago_id"},
    ),
    Call("findAllWallets", query={"external_customer_id": "cus_1"}),
    Call("findWallet", {"lago_id": "{wallet}"}),
    Call("updateWallet", {"lago_id": "{wallet}"}, body={"wallet": {"name": "Main wallet"}}),
    Call("replaceWalletMetadata", {"lago_id": "{wallet}"}, body={"metadata": {"a": "1", "b": "2"}}),
    Call("mergeWalletMetadata", {"lago_id": "{wallet}"}, body={"metadata": {"c": "3"}}),
    Call("deleteWalletMetadataKey", {"lago_id": "{wallet}", "key": "a"}),
    Call("deleteAllWalletMetadata", {"lago_id": "{wallet}"}),
    Call(
        "createWalletTransaction",
        body={
            "wallet_transaction": {
                "wallet_id": "{wallet}",
                "paid_credits": "5",
                "granted_credits": "2",
            }
        },
        save={"transaction": "wallet_transactions.0.lago_id"},
    ),
    Call("findAllWalletTransactions", {"lago_id": "{wallet}"}),
    Call(
        "findAllInvoices", query={"invoice_type": "credit"}, save={"top_up": "invoices.0.lago_id"}
    ),
    Call(
        "findInvoice",
        {"lago_id": "{top_up}"},
        expect={
            "invoice.fees_amount_cents": 500,
            "invoice.fees.0.item.item_type": "WalletTransaction",
            "invoice.fees.0.item.lago_item_id": "{transaction}",
        },
    ),
    Call("findWalletTransaction", {"lago_id": "{transaction}"}),
    Call("findAllWalletTransactionConsumptions", {"lago_id": "{transaction}"}),
    # Fundings are those of an outbound transaction: a credit voided.
    Call(
        "createWalletTransaction",
        body={"wallet_transaction": {"wallet_id": "{wallet}", "voided_credits": "1"}},
        save={"voided": "wallet_transactions.0.lago_id"},
        expect={"wallet_transactions.0.transaction_type": "outbound"},
    ),
    Call("findAllWalletTransactionFundings", {"lago_id": "{voided}"}),
    Call("walletTransactionPaymentUrl", {"lago_id": "{transaction}"}, status=422),
    Call(
        "createCustomerWallet",
        body={
            "wallet": {
                "name": "Promo",
                "code": "promo",
                "rate_amount": "1",
                "currency": "USD",
                "granted_credits": "1",
                "priority": 2,
            }
        },
    ),
    Call("findAllCustomerWallets"),
    Call("findCustomerWallet", {"code": "promo"}),
    Call("updateCustomerWallet", {"code": "promo"}, body={"wallet": {"name": "Promo credits"}}),
    Call(
        "replaceCustomerWalletMetadata",
        {"wallet_code": "promo"},
        body={"metadata": {"a": "1", "b": "2"}},
    ),
    Call("mergeCustomerWalletMetadata", {"wallet_code": "promo"}, body={"metadata": {"c": "3"}}),
    Call("deleteCustomerWalletMetadataKey", {"wallet_code": "promo", "key": "a"}),
    Call("deleteAllCustomerWalletMetadata", {"wallet_code": "promo"}),
    Call("createCustomerWalletAlert", body={"alert": WALLET_ALERT}),
    Call("getCustomerWalletAlerts"),
    Call("getCustomerWalletAlert", {"code": "low"}),
    Call("updateCustomerWalletAlert", {"code": "low"}, body={"alert": {"name": "Low balance"}}),
    Call("deleteCustomerWalletAlert", {"code": "low"}),
    Call("deleteAllCustomerWalletAlerts"),
    # Payment methods (the seeded customer has none: Lago's 404 for an unknown one).
    Call("findAllCustomersPaymentMethods"),
    Call("paymentMethodSetAsDefault", {"lago_id": "{customer}"}, status=404),
    Call("destroyPaymentMethod", {"lago_id": "{customer}"}, status=404),
    # Analytics and logs.
    Call("findAllGrossRevenues"),
    Call("findAllInvoiceCollections"),
    Call("findAllInvoicedUsages"),
    Call("findAllMrrs"),
    Call("findAllOverdueBalances"),
    Call("findAllUsages"),
    Call("findAllActivityLogs", save={"activity": "activity_logs.0.activity_id"}),
    Call("findActivityLog", {"activity_id": "{activity}"}),
    Call("findAllApiLogs", save={"request": "api_logs.0.request_id"}),
    Call("findApiLog", {"request_id": "{request}"}),
    # Deletions, the dependent objects first.
    Call("deleteFee", {"lago_id": "{fee}"}, status=405),
    Call("deleteInvoice", {"lago_id": "{invoice}"}, status=405),
    Call("destroyCustomerWallet", {"code": "promo"}),
    Call("destroyWallet", {"lago_id": "{wallet}"}),
    Call("deleteAppliedCoupon", {"applied_coupon_id": "{applied_coupon}"}),
    Call("deleteSubscriptionAlert", {"code": "spend"}),
    Call("deleteAllSubscriptionAlerts"),
    Call("destroySubscriptionEntitlementPrivilege"),
    Call("destroySubscriptionEntitlement"),
    Call("destroySubscriptionChargeFilter", {"filter_id": "{sub_filter}"}),
    Call("destroySubscription"),
    Call("removeEntitlementPrivilege", {"code": "startup", "privilege_code": "root"}),
    Call("destroyEntitlement", {"code": "startup"}),
    Call("deleteFeaturePrivilege", {"code": "seats", "privilege_code": "root"}),
    Call("destroyFeature", {"code": "seats"}),
    Call("destroyPlanChargeFilter", {"code": "startup", "filter_id": "{plan_filter}"}),
    Call("destroyPlanCharge", {"code": "startup", "charge_code": "calls_tiered"}),
    Call("destroyPlanFixedCharge", {"code": "startup"}),
    Call("deleteAllPlanMetadata", {"code": "startup"}),
    Call("destroyPlan", {"code": "startup"}),
    Call("destroyBillableMetric", {"code": "calls"}),
    Call("destroyCoupon", {"code": "welcome"}),
    Call("destroyAddOn", {"code": "setup"}),
    Call("destroyTax", {"code": "vat"}),
    Call("destroyWebhookEndpoint", {"lago_id": "{endpoint}"}),
    Call("destroyCustomer"),
)

# Operations bxb refuses on purpose, with the reason (none today).
NOT_SUPPORTED: dict[str, str] = {}

# Operations another helper of issue 13 is building; the lead empties this set after merging.
AWAITING_MERGE: frozenset[str] = frozenset()
