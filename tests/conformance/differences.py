"""Where Lago's own server answers differently from its reference, bxb follows the server.

Each named difference says which schema errors it explains: the operations (None: all), the
last name of the property's path, and a fragment of the validator's message. The same cases
are listed for users in docs/lago_differences.md. A difference that explains nothing any
more fails the test, so the list stays honest.
"""

from __future__ import annotations

from dataclasses import dataclass

NULL = "null is not"


@dataclass(frozen=True)
class Difference:
    reason: str
    properties: frozenset[str]
    fragment: str = NULL
    operations: frozenset[str] | None = None
    # Lago's server wraps the object the reference declares under this key: the object
    # inside is what gets validated.
    root_key: str | None = None

    def explains(self, operation: str, path: list[str | int], message: str) -> bool:
        if self.operations is not None and operation not in self.operations:
            return False
        name = str(path[-1]) if path else ""
        return name in self.properties and self.fragment in message


def _ops(*names: str) -> frozenset[str]:
    return frozenset(names)


ALERTS = _ops(
    "createSubscriptionAlert",
    "getSubscriptionAlerts",
    "getSubscriptionAlert",
    "updateSubscriptionAlert",
    "deleteSubscriptionAlert",
    "createCustomerWalletAlert",
    "getCustomerWalletAlerts",
    "getCustomerWalletAlert",
    "updateCustomerWalletAlert",
    "deleteCustomerWalletAlert",
)

DIFFERENCES: dict[str, Difference] = {
    "unset_values_are_null": Difference(
        "Lago's serializers (app/serializers/v1) write a nullable column as it is: an unset "
        "description, display name, trial period, expression, grace period, document locale, "
        "payment provider, dispute date, file URL or termination behaviour is null, where the "
        "reference declares the bare type.",
        frozenset(
            {
                "description",
                "invoice_display_name",
                "trial_period",
                "expression",
                "invoice_grace_period",
                "payment_provider",
                "payment_provider_code",
                "provider_customer_id",
                "document_locale",
                "payment_dispute_lost_at",
                "file_url",
                "on_termination_credit_note",
                "payment_method_id",
            }
        ),
    ),
    "manual_payment_has_no_provider": Difference(
        "Lago's PaymentSerializer: a manual payment has no provider, so "
        "`payment_provider&.code` / `&.type` and the provider customer id are null (also in "
        "the payment a payment receipt embeds).",
        frozenset({"payment_provider_code", "payment_provider_type", "provider_customer_id"}),
        operations=_ops(
            "createPayment",
            "findAllPayments",
            "findPayment",
            "findAllCustomerPayments",
            "findAllPaymentReceipts",
            "findPaymentReceipt",
        ),
    ),
    "payment_has_a_root_key": Difference(
        "The reference declares the bare object for GET /payments/{id}; Lago's controller "
        "renders it under its root key like every other show route, and Lago's client "
        "reads that key. The object inside is validated.",
        frozenset(),
        operations=_ops("findPayment"),
        root_key="payment",
    ),
    "payment_request_has_a_root_key": Difference(
        "The reference declares the bare object for GET /payment_requests/{id}; Lago's "
        "controller renders it under `payment_request` (render_payment_request, as create "
        "does), and Lago's client reads that key. The object inside is validated.",
        frozenset(),
        operations=_ops("findPaymentRequest"),
        root_key="payment_request",
    ),
    "wallet_transaction_has_a_root_key": Difference(
        "The reference declares the bare object for GET /wallet_transactions/{id}; Lago's "
        "controller renders it under `wallet_transaction`. The object inside is validated.",
        frozenset(),
        operations=_ops("findWalletTransaction"),
        root_key="wallet_transaction",
    ),
    "alert_previous_value_is_a_decimal_string": Difference(
        "Lago's AlertSerializer writes previous_value, a decimal column, which Rails renders "
        'as a string ("0.0"); the reference says number. An alert without a metric has '
        "billable_metric null (`model.billable_metric_id ? ... : nil`).",
        frozenset({"previous_value", "billable_metric"}),
        fragment="",
        operations=ALERTS,
    ),
    "alert_create_answers_one_alert": Difference(
        'Creating one alert answers {"alert": ...}, one branch of the reference\'s oneOf '
        "(one alert or a list); with previous_value a string (above) neither branch "
        "validates, so the error is reported at the root.",
        frozenset({""}),
        fragment="is not valid under any of the schemas listed in the 'oneOf' keyword",
        operations=_ops("createSubscriptionAlert", "createCustomerWalletAlert"),
    ),
    "usage_default_filter": Difference(
        "Lago's usage serializers list the events matching no filter as a filter whose "
        "`charge_filter` is nil: its invoice_display_name and values are null.",
        frozenset({"invoice_display_name", "values"}),
        operations=_ops("findCustomerCurrentUsage", "findCustomerProjectedUsage"),
    ),
    "projected_usage_has_no_groups": Difference(
        "Lago's ProjectedChargeUsageSerializer has no `groups` (removed with charge groups); "
        "the reference still requires it.",
        frozenset({"0", "1", "2"}),
        fragment='"groups" is a required property',
        operations=_ops("findCustomerProjectedUsage"),
    ),
    "analytics_months_without_data": Difference(
        "Lago's MRR and invoice collection queries list every month of the range "
        "(generate_series) left-joined to the data; a month without any has amount_cents, "
        "currency and payment_status null (the serializers write the row as it is).",
        frozenset({"amount_cents", "currency", "payment_status"}),
        operations=_ops("findAllMrrs", "findAllInvoiceCollections"),
    ),
    "preview_is_not_stored": Difference(
        "Lago's PreviewService builds an unsaved Invoice: it has no sequential_id (null).",
        frozenset({"sequential_id"}),
        operations=_ops("invoicePreview"),
    ),
    "billing_entity_has_a_root_key": Difference(
        "The reference declares the bare object for POST /billing_entities and PUT "
        "/billing_entities/{code}; Lago's controller renders it under `billing_entity` (as "
        "its show route does), and Lago's client reads that key. The object inside is "
        "validated.",
        frozenset(),
        operations=_ops("createBillingEntity", "updateBillingEntity"),
        root_key="billing_entity",
    ),
    "billing_entity_country_unset": Difference(
        "Lago's BillingEntitySerializer writes `country` as it is stored: a billing entity "
        "created without a country has `country` null; the reference declares a country "
        "code (a string enum).",
        frozenset({"country"}),
        operations=_ops(
            "createBillingEntity",
            "listBillingEntities",
            "getBillingEntity",
            "updateBillingEntity",
        ),
    ),
}
