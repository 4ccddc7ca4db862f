"""A search hit as the answer shows it: small, with what a UI needs to link to the object.

Every hit: `lago_id`, `type` (singular), `label` and `description` (what a result list
shows), `matched_fields`, `exact` (its id or number is the query) and `score` (trigram
word similarity, 0 to 1); then the ids and a few fields of its type (e.g. a customer's
`external_id`, an invoice's `external_customer_id` and `lago_customer_id`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from bxb.search.service import Found

SINGULAR = {
    "customers": "customer",
    "subscriptions": "subscription",
    "invoices": "invoice",
    "plans": "plan",
    "credit_notes": "credit_note",
    "payments": "payment",
}


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _first(*values: Any) -> str:
    return next((str(v) for v in values if v), "")


def _customer(r: Mapping[str, Any]) -> dict[str, Any]:
    person = " ".join(p for p in (r["firstname"], r["lastname"]) if p)
    return {
        "label": _first(r["name"], person, r["legal_name"], r["external_id"]),
        "description": _first(r["email"], r["external_id"]),
        "external_id": r["external_id"],
        "external_customer_id": r["external_id"],
        "name": r["name"],
        "email": r["email"],
    }


def _subscription(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "label": _first(r["name"], r["external_id"]),
        "description": f"{r['external_customer_id']} · {r['plan_code']}",
        "external_id": r["external_id"],
        "external_customer_id": r["external_customer_id"],
        "lago_customer_id": r["customer_id"],
        "plan_code": r["plan_code"],
        "status": r["status"],
    }


def _invoice(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "label": _first(r["number"], "Draft invoice"),
        "description": _first(r["customer_name"], r["external_customer_id"]),
        "number": r["number"],
        "status": r["status"],
        "payment_status": r["payment_status"],
        "currency": r["currency"],
        "total_amount_cents": r["total_amount_cents"],
        "issuing_date": r["issuing_date"],
        "lago_customer_id": r["customer_id"],
        "external_customer_id": r["external_customer_id"],
    }


def _plan(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "label": _first(r["name"], r["code"]),
        "description": r["code"],
        "code": r["code"],
        "name": r["name"],
        "interval": r["interval"],
        "amount_cents": r["amount_cents"],
        "amount_currency": r["amount_currency"],
    }


def _credit_note(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "label": r["number"],
        "description": _first(r["invoice_number"], r["external_customer_id"]),
        "number": r["number"],
        "credit_status": r["credit_status"],
        "refund_status": r["refund_status"],
        "total_amount_cents": r["total_amount_cents"],
        "currency": r["currency"],
        "lago_invoice_id": r["invoice_id"],
        "invoice_number": r["invoice_number"],
        "lago_customer_id": r["customer_id"],
        "external_customer_id": r["external_customer_id"],
    }


def _payment(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "label": _first(r["provider_payment_id"], r["reference"], "Payment"),
        "description": _first(r["invoice_number"], r["external_customer_id"]),
        "provider_payment_id": r["provider_payment_id"],
        "reference": r["reference"],
        "status": r["status"],
        "amount_cents": r["amount_cents"],
        "currency": r["currency"],
        "lago_invoice_id": r["invoice_id"],
        "invoice_number": r["invoice_number"],
        "lago_customer_id": r["customer_id"],
        "external_customer_id": r["external_customer_id"],
    }


_FIELDS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "customers": _customer,
    "subscriptions": _subscription,
    "invoices": _invoice,
    "plans": _plan,
    "credit_notes": _credit_note,
    "payments": _payment,
}


def hit(found: Found) -> dict[str, Any]:
    fields = _FIELDS[found.type](found.row)
    head = {
        "lago_id": str(found.row["id"]),
        "type": SINGULAR[found.type],
        "label": fields.pop("label"),
        "description": fields.pop("description"),
        "matched_fields": list(found.matched),
        "exact": found.tier == 3,
        "score": round(found.score, 3),
    }
    return head | {k: _plain(v) for k, v in fields.items()}
