"""Every method of the unmodified lago-python-client, called once on a live bxb.

`drive` runs in a thread (the client is synchronous; the server runs on the test's loop).
It calls the methods through a `Recorder`, which notes each method called by its dotted name
(`customers.wallets.alerts.find`), so the test can compare what ran with the enumeration.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import cached_property
from typing import Any

import pytest
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.add_on import AddOn
from lago_python_client.models.alert import Alert, AlertsList, AlertThreshold, AlertThresholdList
from lago_python_client.models.applied_coupon import AppliedCoupon
from lago_python_client.models.billable_metric import (
    BillableMetric,
    BillableMetricEvaluateExpression,
    BillableMetricEvaluateExpressionEvent,
    BillableMetricFilter,
    BillableMetricFilters,
)
from lago_python_client.models.billing_entity import BillingEntity, BillingEntityUpdate
from lago_python_client.models.charge import Charge, ChargeFilter, Charges
from lago_python_client.models.coupon import Coupon
from lago_python_client.models.credit_note import (
    CreditNote,
    CreditNoteEstimate,
    CreditNoteUpdate,
    Item,
    Items,
)
from lago_python_client.models.customer import Customer
from lago_python_client.models.event import BatchEvent, Event
from lago_python_client.models.fee import Fee
from lago_python_client.models.fixed_charge import FixedCharge, FixedChargeProperties
from lago_python_client.models.invoice import Invoice as InvoiceUpdate
from lago_python_client.models.invoice import (
    InvoiceFee,
    InvoiceFeesList,
    InvoiceMetadata,
    InvoiceMetadataList,
    InvoicePreview,
    OneOffInvoice,
)
from lago_python_client.models.organization import Organization
from lago_python_client.models.payment import Payment
from lago_python_client.models.payment_request import PaymentRequest
from lago_python_client.models.plan import Plan
from lago_python_client.models.subscription import Subscription
from lago_python_client.models.tax import Tax
from lago_python_client.models.wallet import Wallet
from lago_python_client.models.wallet_transaction import WalletTransaction
from lago_python_client.models.webhook_endpoint import WebhookEndpoint

# Helpers of the client's nested clients, not operations.
HELPERS = {"api_resource"}


def client_methods(client: Any, prefix: str = "") -> list[str]:
    """Every public method of the client and its nested clients, by dotted name."""
    found: list[str] = []
    for name in sorted(dir(type(client))):
        if name.startswith("_") or name.isupper() or name in HELPERS:
            continue
        attr = inspect.getattr_static(type(client), name)
        if isinstance(attr, cached_property):  # a nested client (callable_cached_property)
            found += client_methods(getattr(client, name)._obj, f"{prefix}{name}.")
        elif inspect.isfunction(attr):
            found.append(prefix + name)
    return found


class Recorder:
    """The client, noting the dotted name of every method called through it."""

    def __init__(self, target: Any, seen: set[str], prefix: str = "") -> None:
        self._target, self._seen, self._prefix = target, seen, prefix

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if hasattr(attr, "_obj"):  # a nested client
            return Recorder(attr._obj, self._seen, f"{self._prefix}{name}.")
        if callable(attr):
            dotted = self._prefix + name

            def record(*args: Any, **kwargs: Any) -> Any:
                self._seen.add(dotted)
                return attr(*args, **kwargs)

            return record
        return attr


def refused(function: Callable[..., Any], *args: Any) -> int:
    """The status of the LagoApiError the call raises."""
    with pytest.raises(LagoApiError) as error:
        function(*args)
    status: int = error.value.status_code
    return status


def drive(lago: Any, awaiting: set[str], overdue: Callable[[str], None]) -> None:
    """One call of each method, checking what comes back; methods in `awaiting` are left.
    `overdue` marks an invoice overdue in the database (database_steps.mark_overdue)."""

    def can(name: str) -> bool:
        return name not in awaiting

    # The organization and the catalog.
    org = lago.organizations.update(Organization(email="billing@acme.test", default_currency="USD"))
    assert org.email == "billing@acme.test"
    assert lago.taxes.create(Tax(name="VAT", code="vat", rate=20.0)).rate == 20.0
    assert lago.taxes.update(Tax(description="Value added tax"), "vat").description
    assert lago.taxes.find("vat").code == "vat"
    assert [t.code for t in lago.taxes.find_all()["taxes"]] == ["vat"]
    metric = lago.billable_metrics.create(
        BillableMetric(
            name="Calls",
            code="calls",
            aggregation_type="sum_agg",
            field_name="amount",
            filters=BillableMetricFilters(
                __root__=[BillableMetricFilter(key="region", values=["eu", "us"])]
            ),
        )
    )
    assert lago.billable_metrics.update(BillableMetric(name="API calls"), "calls").name == (
        "API calls"
    )
    assert lago.billable_metrics.find("calls").field_name == "amount"
    assert len(lago.billable_metrics.find_all()["billable_metrics"]) == 1
    if can("billable_metrics.evaluate_expression"):
        # The client posts without its input (send_post_request gets no content), so any
        # Lago server answers 422 expression: value_is_mandatory.
        asked = BillableMetricEvaluateExpression(
            expression="event.properties.value * 2",
            event=BillableMetricEvaluateExpressionEvent(
                code="calls", timestamp=1700000000, properties={"value": "2.5"}
            ),
        )
        assert refused(lago.billable_metrics.evaluate_expression, asked) == 422
    # Uploads are billed in advance, per event: what events.estimate_fees asks about.
    uploads = lago.billable_metrics.create(
        BillableMetric(name="Uploads", code="uploads", aggregation_type="count_agg")
    )
    lago.add_ons.create(AddOn(name="Setup", code="setup", amount_cents=5000, amount_currency="USD"))
    assert lago.add_ons.update(AddOn(description="Once"), "setup").description == "Once"
    assert lago.add_ons.find("setup").amount_cents == 5000
    assert len(lago.add_ons.find_all()["add_ons"]) == 1
    lago.coupons.create(
        Coupon(
            name="Welcome",
            code="welcome",
            coupon_type="fixed_amount",
            amount_cents=500,
            amount_currency="USD",
            frequency="once",
            expiration="no_expiration",
        )
    )
    assert lago.coupons.update(Coupon(name="Hello"), "welcome").name == "Hello"
    assert lago.coupons.find("welcome").amount_cents == 500
    assert len(lago.coupons.find_all()["coupons"]) == 1
    endpoint = lago.webhook_endpoints.create(
        WebhookEndpoint(webhook_url="http://127.0.0.1:9/a", signature_algo="hmac")
    )
    moved = WebhookEndpoint(webhook_url="http://127.0.0.1:9/b")
    assert lago.webhook_endpoints.update(moved, endpoint.lago_id).webhook_url.endswith("/b")
    assert lago.webhook_endpoints.find(endpoint.lago_id).lago_id == endpoint.lago_id
    assert len(lago.webhook_endpoints.find_all()["webhook_endpoints"]) == 1
    if can("webhooks.public_key"):
        assert lago.webhooks.public_key()
    if can("billing_entities.create"):
        lago.billing_entities.create(BillingEntity(code="eu", name="Acme EU"))
        assert lago.billing_entities.update(BillingEntityUpdate(name="Acme"), "eu").name == "Acme"
        assert lago.billing_entities.find("eu").code == "eu"
        assert lago.billing_entities.find_all()["billing_entities"]

    # The plan with a charge, its filters and fixed charges, and metadata.
    plan = Plan(
        name="Startup",
        code="startup",
        interval="monthly",
        amount_cents=10000,
        amount_currency="USD",
        charges=Charges(
            __root__=[
                Charge(
                    billable_metric_id=metric.lago_id,
                    code="calls",
                    charge_model="standard",
                    properties={"amount": "0.5"},
                ),
                Charge(
                    billable_metric_id=uploads.lago_id,
                    code="uploads",
                    charge_model="standard",
                    pay_in_advance=True,
                    invoiceable=True,
                    properties={"amount": "2"},
                ),
            ]
        ),
    )
    assert lago.plans.create(plan).amount_cents == 10000
    assert lago.plans.update(Plan(description="For startups"), "startup").description
    assert lago.plans.find("startup").code == "startup"
    assert len(lago.plans.find_all()["plans"]) == 1
    if can("plans.replace_metadata"):
        assert lago.plans.replace_metadata("startup", {"a": "1", "b": "2"}) == {"a": "1", "b": "2"}
        assert lago.plans.merge_metadata("startup", {"c": "3"})["c"] == "3"
        assert "a" not in (lago.plans.delete_metadata_key("startup", "a") or {})
        assert not lago.plans.delete_all_metadata("startup")
    eu = lago.plans.create_charge_filter(
        "startup", "calls", ChargeFilter(properties={"amount": "0.4"}, values={"region": ["eu"]})
    )
    assert eu.values == {"region": ["eu"]}
    assert [
        f.lago_id for f in lago.plans.find_all_charge_filters("startup", "calls")["filters"]
    ] == [eu.lago_id]
    assert lago.plans.find_charge_filter("startup", "calls", eu.lago_id).lago_id == eu.lago_id
    renamed = ChargeFilter(invoice_display_name="Europe")
    assert lago.plans.update_charge_filter(
        "startup", "calls", eu.lago_id, renamed
    ).invoice_display_name
    lago.plan_charges.create(
        "startup",
        Charge(
            billable_metric_id=metric.lago_id,
            code="calls_2",
            charge_model="standard",
            properties={"amount": "1"},
        ),
    )
    assert lago.plan_charges.find("startup", "calls_2").code == "calls_2"
    changed = lago.plan_charges.update("startup", "calls_2", Charge(properties={"amount": "2"}))
    assert changed.properties == {"amount": "2"}
    # The client's find_all of child resources sends no API key: Lago's 401.
    assert refused(lago.plan_charges.find_all, "startup") == 401
    lago.plan_fixed_charges.create(
        "startup",
        FixedCharge(
            add_on_code="setup",
            charge_model="standard",
            units=2,
            properties=FixedChargeProperties(amount="3"),
        ),
    )
    assert lago.plan_fixed_charges.find("startup", "setup").units == 2.0
    assert lago.plan_fixed_charges.update("startup", "setup", FixedCharge(units=3)).units == 3.0
    assert refused(lago.plan_fixed_charges.find_all, "startup") == 401

    # The customer, its subscription, and what hangs on it.
    lago.customers.create(Customer(external_id="cus_1", name="Acme", currency="USD"))
    assert lago.customers.find("cus_1").name == "Acme"
    assert len(lago.customers.find_all()["customers"]) == 1
    assert lago.customers.portal_url("cus_1").startswith("http")
    assert refused(lago.customers.checkout_url, "cus_1") == 422  # no payment provider
    subscription = Subscription(
        external_customer_id="cus_1", plan_code="startup", external_id="sub_1", name="Main"
    )
    assert lago.subscriptions.create(subscription).status == "active"
    assert lago.subscriptions.update(Subscription(name="Main sub"), "sub_1").name == "Main sub"
    assert lago.subscriptions.find("sub_1").plan_code == "startup"
    assert len(lago.subscriptions.find_all({"external_customer_id": "cus_1"})["subscriptions"]) == 1
    assert lago.subscription_charges.find("sub_1", "calls").code == "calls"
    overridden = lago.subscription_charges.update(
        "sub_1", "calls", Charge(properties={"amount": "0.45"})
    )
    assert overridden.properties == {"amount": "0.45"}
    assert refused(lago.subscription_charges.find_all, "sub_1") == 401
    assert lago.subscription_fixed_charges.find("sub_1", "setup").units == 3.0
    fixed = lago.subscription_fixed_charges.update("sub_1", "setup", FixedCharge(units=4))
    assert fixed.units == 4.0
    assert refused(lago.subscription_fixed_charges.find_all, "sub_1") == 401
    filters = lago.subscriptions.find_all_charge_filters("sub_1", "calls")["filters"]
    assert [f.values for f in filters] == [{"region": ["eu"]}]
    assert lago.subscriptions.find_charge_filter("sub_1", "calls", filters[0].lago_id).lago_id
    if can("subscriptions.create_charge_filter"):
        us = lago.subscriptions.create_charge_filter(
            "sub_1", "calls", ChargeFilter(properties={"amount": "0.3"}, values={"region": ["us"]})
        )
        renamed = ChargeFilter(invoice_display_name="US")
        assert lago.subscriptions.update_charge_filter("sub_1", "calls", us.lago_id, renamed)
        lago.subscriptions.destroy_charge_filter("sub_1", "calls", us.lago_id)
    assert lago.subscriptions.lifetime_usage("sub_1").external_subscription_id == "sub_1"
    usage = lago.subscriptions.update_lifetime_usage("sub_1", 100)
    assert usage.external_historical_usage_amount_cents == 100
    spend = Alert(
        alert_type="current_usage_amount",
        code="spend",
        thresholds=AlertThresholdList(__root__=[AlertThreshold(value="1000")]),
    )
    created = lago.subscriptions.create_alerts("sub_1", AlertsList(alerts=[spend]))
    assert [a.code for a in created["alerts"]] == ["spend"]
    lago.subscriptions.delete_alerts("sub_1")

    # Events and usage.
    event = Event(
        transaction_id="tr_1",
        external_subscription_id="sub_1",
        code="calls",
        properties={"amount": "12", "region": "eu"},
    )
    assert lago.events.create(event).transaction_id == "tr_1"
    more = [Event(**{**event.dict(), "transaction_id": f"tr_{n}"}) for n in (2, 3)]
    lago.events.batch_create(BatchEvent(events=more))
    assert lago.events.find("tr_1").code == "calls"
    if can("events.estimate_fees"):
        upload = Event(**{**event.dict(), "transaction_id": "tr_x", "code": "uploads"})
        [estimated] = lago.events.estimate_fees(upload)["fees"]
        assert (estimated.amount_cents, estimated.lago_id) == (200, None)
    current = lago.customers.current_usage("cus_1", "sub_1")
    assert current.amount_cents >= 0
    assert lago.customers.projected_usage("cus_1", "sub_1").amount_cents >= 0
    assert lago.customers.past_usage("cus_1", "sub_1")["usage_periods"] == []

    # Coupons applied.
    applied = lago.applied_coupons.create(
        AppliedCoupon(external_customer_id="cus_1", coupon_code="welcome")
    )
    assert applied.amount_cents == 500
    assert len(lago.applied_coupons.find_all()["applied_coupons"]) == 1
    assert refused(lago.customer_applied_coupons.find_all, "cus_1") == 401

    # Invoices, fees, payments, credit notes.
    one_off = OneOffInvoice(
        external_customer_id="cus_1",
        currency="USD",
        fees=InvoiceFeesList(__root__=[InvoiceFee(add_on_code="setup", units=2)]),
    )
    invoice = lago.invoices.create(one_off)
    assert (invoice.total_amount_cents, invoice.status) == (10000, "finalized")
    other = lago.invoices.create(one_off)
    tagged = InvoiceUpdate(
        metadata=InvoiceMetadataList(__root__=[InvoiceMetadata(key="po", value="1")])
    )
    assert lago.invoices.update(tagged, invoice.lago_id).metadata
    assert lago.invoices.find(invoice.lago_id).number == invoice.number
    assert len(lago.invoices.find_all({"external_customer_id": "cus_1"})["invoices"]) == 2
    assert lago.invoices.download(invoice.lago_id) is not None
    assert lago.invoices.refresh(invoice.lago_id).lago_id == invoice.lago_id
    assert refused(lago.invoices.finalize, invoice.lago_id) in (404, 405)
    assert refused(lago.invoices.payment_url, invoice.lago_id) == 422
    lago.invoices.retry_payment(invoice.lago_id)
    preview = lago.invoices.preview(
        InvoicePreview(
            customer=Customer(external_id="cus_1"), plan_code="startup", billing_time="anniversary"
        )
    )
    assert preview.fees_amount_cents == 10000
    if can("invoices.retry"):
        assert refused(lago.invoices.retry, invoice.lago_id) == 405
    fee = invoice.fees.__root__[0]
    assert lago.fees.find(fee.lago_id).amount_cents == 10000
    assert len(lago.fees.find_all({"external_customer_id": "cus_1"})["fees"]) == 2
    assert refused(lago.fees.update, Fee(payment_status="succeeded"), fee.lago_id) == 405
    if can("fees.destroy"):
        assert refused(lago.fees.destroy, fee.lago_id) == 405
    paid = lago.payments.create(
        Payment(invoice_id=invoice.lago_id, amount_cents=10000, reference="wire-1")
    )
    assert paid.amount_cents == 10000
    assert lago.invoices.find(invoice.lago_id).payment_status == "succeeded"
    assert lago.payments.find(paid.lago_id).lago_id == paid.lago_id
    assert len(lago.payments.find_all()["payments"]) == 1
    if can("payment_receipts.find_all"):
        receipts = lago.payment_receipts.find_all()["payment_receipts"]
        assert lago.payment_receipts.find(receipts[0].lago_id).lago_id == receipts[0].lago_id
    if can("payment_requests.create"):
        overdue(other.lago_id)  # a payment request asks for overdue invoices only
        request = lago.payment_requests.create(
            PaymentRequest(
                email="ap@acme.test", external_customer_id="cus_1", lago_invoice_ids=[other.lago_id]
            )
        )
        assert lago.payment_requests.find(request.lago_id).lago_id == request.lago_id
        assert lago.payment_requests.find_all()["payment_requests"]
    # The client's find_all of a customer's children sends no API key: Lago's 401.
    for name in (
        "customer_invoices",
        "customer_payments",
        "customer_payment_requests",
        "customer_subscriptions",
        "customer_credit_notes",
        "customer_wallets",
        "customer_payment_methods",
    ):
        if can(f"{name}.find_all"):
            assert refused(getattr(lago, name).find_all, "cus_1") == 401
    if can("customer_payment_methods.set_as_default"):
        unknown = "00000000-0000-0000-0000-000000000000"
        assert refused(lago.customer_payment_methods.set_as_default, "cus_1", unknown) == 404
        assert refused(lago.customer_payment_methods.destroy, "cus_1", unknown) == 404
    items = Items(__root__=[Item(fee_id=fee.lago_id, amount_cents=1000)])
    estimate = lago.credit_notes.estimate(
        CreditNoteEstimate(invoice_id=invoice.lago_id, items=items)
    )
    assert estimate.max_creditable_amount_cents == 1000
    note = lago.credit_notes.create(
        CreditNote(
            invoice_id=invoice.lago_id,
            reason="other",
            credit_amount_cents=500,
            refund_amount_cents=500,
            items=items,
        )
    )
    assert note.total_amount_cents == 1000
    # The item carries Lago's whole fee (it used to lack these).
    credited = note.items.__root__[0].fee
    assert (credited.lago_id, credited.invoiceable, credited.pay_in_advance) == (
        fee.lago_id,
        True,
        False,
    )
    assert (credited.item.item_type, credited.item.code) == ("AddOn", "setup")
    assert float(credited.precise_unit_amount) == 50.0
    assert lago.credit_notes.find(note.lago_id).lago_id == note.lago_id
    assert len(lago.credit_notes.find_all()["credit_notes"]) == 1
    refunded = lago.credit_notes.update(CreditNoteUpdate(refund_status="succeeded"), note.lago_id)
    assert refunded.refund_status == "succeeded"
    if can("credit_notes.download"):
        lago.credit_notes.download(note.lago_id)
    if can("credit_notes.replace_metadata"):
        assert lago.credit_notes.replace_metadata(note.lago_id, {"a": "1"}) == {"a": "1"}
        assert lago.credit_notes.merge_metadata(note.lago_id, {"b": "2"}) == {"a": "1", "b": "2"}
        assert lago.credit_notes.delete_metadata_key(note.lago_id, "a") == {"b": "2"}
        assert not lago.credit_notes.delete_all_metadata(note.lago_id)
    assert lago.credit_notes.void(note.lago_id).credit_status == "voided"
    if can("invoices.lose_dispute"):
        # Lago lets a finalized invoice's dispute be lost (whatever its payment status).
        assert lago.invoices.lose_dispute(invoice.lago_id).payment_dispute_lost_at
    assert lago.invoices.void(other.lago_id).status == "voided"
    third = lago.invoices.create(one_off)
    assert lago.invoices.void_invoice(third.lago_id).status == "voided"
    if can("invoices.destroy"):
        assert refused(lago.invoices.destroy, invoice.lago_id) == 405

    # Wallets.
    wallet = lago.wallets.create(
        Wallet(
            external_customer_id="cus_1",
            name="Main",
            code="main",
            rate_amount="1",
            currency="USD",
            granted_credits="10",
        )
    )
    assert float(wallet.credits_balance) == 10.0
    assert lago.wallets.update(Wallet(name="Main wallet"), wallet.lago_id).name == "Main wallet"
    assert lago.wallets.find(wallet.lago_id).lago_id == wallet.lago_id
    assert len(lago.wallets.find_all({"external_customer_id": "cus_1"})["wallets"]) == 1
    if can("wallets.replace_metadata"):
        assert lago.wallets.replace_metadata(wallet.lago_id, {"a": "1"}) == {"a": "1"}
        assert lago.wallets.merge_metadata(wallet.lago_id, {"b": "2"}) == {"a": "1", "b": "2"}
        assert lago.wallets.delete_metadata_key(wallet.lago_id, "a") == {"b": "2"}
        assert not lago.wallets.delete_all_metadata(wallet.lago_id)
    topped = lago.wallet_transactions.create(
        WalletTransaction(wallet_id=wallet.lago_id, granted_credits="2")
    )
    granted = topped["wallet_transactions"][0]
    assert float(granted.credit_amount) == 2.0
    assert len(lago.wallet_transactions.find_all(wallet.lago_id)["wallet_transactions"]) == 2
    if can("wallet_transactions.consumptions"):
        lago.wallet_transactions.consumptions(granted.lago_id)
        # Fundings are those of an outbound transaction: a credit voided.
        voided = lago.wallet_transactions.create(
            WalletTransaction(wallet_id=wallet.lago_id, voided_credits="1")
        )["wallet_transactions"][0]
        assert voided.transaction_type == "outbound"
        fundings = lago.wallet_transactions.fundings(voided.lago_id)
        assert fundings["wallet_transaction_fundings"]
        assert refused(lago.wallet_transactions.payment_url, granted.lago_id) == 422
    nested = lago.customers.wallets
    if can("customers.wallets.create"):
        promo = Wallet(name="Promo", code="promo", rate_amount="1", currency="USD")
        assert nested.create("cus_1", promo).code == "promo"
        assert nested.update("cus_1", "promo", Wallet(name="Promo credits")).name
        assert nested.find("cus_1", "promo").code == "promo"
        assert len(nested.find_all("cus_1")["wallets"]) == 2
        assert nested.metadata.replace("cus_1", "promo", {"a": "1"}) == {"a": "1"}
        assert nested.metadata.merge("cus_1", "promo", {"b": "2"}) == {"a": "1", "b": "2"}
        assert nested.metadata.delete_key("cus_1", "promo", "a") == {"b": "2"}
        assert not nested.metadata.delete_all("cus_1", "promo")
    code = wallet.code
    low = Alert(
        alert_type="wallet_balance_amount",
        code="low",
        thresholds=AlertThresholdList(__root__=[AlertThreshold(value="100")]),
    )
    assert nested.alerts.create("cus_1", code, low).code == "low"
    assert nested.alerts.update("cus_1", code, "low", Alert(name="Low")).name == "Low"
    assert nested.alerts.find("cus_1", code, "low").code == "low"
    assert len(nested.alerts.find_all("cus_1", code)["alerts"]) == 1
    nested.alerts.destroy("cus_1", code, "low")
    empty = Alert(
        alert_type="wallet_balance_amount",
        code="empty",
        thresholds=AlertThresholdList(__root__=[AlertThreshold(value="0")]),
    )
    nested.alerts.create_batch("cus_1", code, AlertsList(alerts=[empty]))
    nested.alerts.destroy_all("cus_1", code)

    # Analytics and logs.
    assert "gross_revenues" in lago.gross_revenues.find_all()
    assert "invoice_collections" in lago.invoice_collections.find_all()
    assert "invoiced_usages" in lago.invoiced_usages.find_all()
    assert "mrrs" in lago.mrrs.find_all()
    assert "overdue_balances" in lago.overdue_balances.find_all()
    assert "usages" in lago.usages.find_all()
    activity = lago.activity_logs.find_all()["activity_logs"][0]
    assert lago.activity_logs.find(activity.activity_id).activity_id == activity.activity_id
    api_log = lago.api_logs.find_all()["api_logs"][0]
    assert lago.api_logs.find(api_log.request_id).request_id == api_log.request_id

    # Deletions.
    assert lago.wallets.destroy(wallet.lago_id).status == "terminated"
    if can("customers.wallets.destroy"):
        assert nested.destroy("cus_1", "promo").status == "terminated"
    lago.applied_coupons.destroy("cus_1", applied.lago_id)
    assert lago.subscriptions.destroy("sub_1").status == "terminated"
    lago.plans.destroy_charge_filter("startup", "calls", eu.lago_id)
    assert lago.plan_charges.destroy("startup", "calls_2").code == "calls_2"
    assert lago.plan_fixed_charges.destroy("startup", "setup").code == "setup"
    assert lago.plans.destroy("startup").code == "startup"
    assert lago.billable_metrics.destroy("calls").code == "calls"
    assert lago.coupons.destroy("welcome").code == "welcome"
    assert lago.add_ons.destroy("setup").code == "setup"
    assert lago.taxes.destroy("vat").code == "vat"
    assert lago.webhook_endpoints.destroy(endpoint.lago_id).lago_id == endpoint.lago_id
    assert lago.customers.destroy("cus_1").external_id == "cus_1"
