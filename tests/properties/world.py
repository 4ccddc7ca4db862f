"""One organization's billing, driven through the HTTP API on a test clock.

`LedgerWorld` sets a scenario up (catalog, clock, customers, first subscriptions) and runs
steps against the real app, worker and PostgreSQL. It picks each step's target from what
the ledger holds at that moment and says what answer the API must give: 200 for what is
allowed, the exact 4xx for what a limit refuses. Anything else fails the example.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.properties import steps as s
from tests.properties.catalog import (
    COUPONS,
    FIELD,
    METRIC,
    PLANS,
    TaxLevels,
    create_catalog,
)
from tests.support.auth import Tenant


class UnexpectedAnswerError(AssertionError):
    pass


class LedgerWorld:
    def __init__(
        self,
        client: httpx.AsyncClient,
        engine: AsyncEngine,
        tenant: Tenant,
        scenario: s.Scenario,
        report: Callable[[str], object] = print,
    ) -> None:
        self.report = report
        self._handlers: dict[type[Any], Callable[[Any], Awaitable[str]]] = {
            s.Subscribe: self.subscribe,
            s.ChangePlan: self.change_plan,
            s.Terminate: self.terminate,
            s.Pause: self.pause,
            s.Resume: self.resume,
            s.Usage: self.usage,
            s.Advance: self.advance,
            s.ApplyCoupon: self.apply_coupon,
            s.TopUp: self.top_up,
            s.Pay: self.pay,
            s.IssueCreditNote: self.issue_credit_note,
            s.VoidInvoice: self.void_invoice,
            s.VoidCreditNote: self.void_credit_note,
            s.FinalizeDraft: self.finalize_draft,
        }
        self.client = client
        self.engine = engine
        self.tenant = tenant
        self.org = tenant.organization_id
        self.scenario = scenario
        self.customers = [f"cus_{i}" for i in range(len(scenario.customers))]
        self.subscriptions: list[str] = []
        self.clock = ""
        self.now = datetime.fromisoformat(scenario.start)
        self.events = 0
        self.taxes = TaxLevels(
            ("vat",) if scenario.organization_tax else (),
            {
                cus: ("local",)
                for cus, spec in zip(self.customers, scenario.customers, strict=True)
                if spec.local_tax
            },
        )

    # --- HTTP ------------------------------------------------------------------------------

    async def call(
        self, method: str, path: str, body: Any = None, *, expect: int = 200
    ) -> dict[str, Any]:
        response = await self.client.request(
            method, f"/api/v1{path}", json=body, headers=self.tenant.headers
        )
        if response.status_code != expect:
            raise UnexpectedAnswerError(
                f"{method} {path} {body!r}: expected {expect}, got {response.status_code} "
                f"{response.text}"
            )
        answer: dict[str, Any] = response.json()
        return answer

    async def refused(
        self, method: str, path: str, body: Any, status: int, details: dict[str, Any] | None
    ) -> None:
        """The call must be refused with this status (and these error details, if given)."""
        answer = await self.call(method, path, body, expect=status)
        if details is not None and answer.get("error_details") != details:
            raise UnexpectedAnswerError(f"{method} {path}: {answer} has not {details}")

    # --- set-up ----------------------------------------------------------------------------

    async def setup(self) -> None:
        scenario = self.scenario
        billing = {"invoice_grace_period": scenario.grace_period_days}
        await self.call(
            "PUT", "/organizations", {"organization": {"billing_configuration": billing}}
        )
        await create_catalog(self.call, self.taxes.organization)
        clock = {"name": "properties", "frozen_time": scenario.start}
        self.clock = (await self.call("POST", "/test_clocks", {"test_clock": clock}))["test_clock"][
            "lago_id"
        ]
        for external_id, spec in zip(self.customers, scenario.customers, strict=True):
            customer: dict[str, Any] = {
                "external_id": external_id,
                "currency": "USD",
                "test_clock_id": self.clock,
                "timezone": spec.timezone,
            }
            if spec.local_tax:
                customer["tax_codes"] = ["local"]
            await self.call("POST", "/customers", {"customer": customer})
        for customer_index, plan_index, anniversary in scenario.subscriptions:
            await self.run(s.Subscribe(customer_index, plan_index, anniversary))

    # --- reading the ledger to pick targets ---------------------------------------------------

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.engine.connect() as conn:
            result = await conn.execute(text(sql), {"org": self.org, **params})
            return list(result)

    async def pick(self, sql: str, index: int, **params: Any) -> Any | None:
        rows = await self.rows(sql, **params)
        return rows[index % len(rows)] if rows else None

    async def live_subscription(self, index: int, statuses: str = "active,paused") -> str | None:
        row = await self.pick(
            "SELECT DISTINCT external_id FROM subscriptions WHERE organization_id = :org "
            "AND status = ANY(string_to_array(:statuses, ',')) ORDER BY external_id",
            index,
            statuses=statuses,
        )
        return None if row is None else str(row.external_id)

    # --- steps ----------------------------------------------------------------------------

    async def run(self, step: s.Step) -> None:
        outcome = await self._handlers[type(step)](step)
        self.report(f"{step} -> {outcome}")

    async def subscribe(self, step: s.Subscribe) -> str:
        external_id = f"sub_{len(self.subscriptions)}"
        body = {
            "external_customer_id": self.customers[step.customer % len(self.customers)],
            "plan_code": PLANS[step.plan].code,
            "external_id": external_id,
            "billing_time": "anniversary" if step.anniversary else "calendar",
        }
        await self.call("POST", "/subscriptions", {"subscription": body})
        self.subscriptions.append(external_id)
        return external_id

    async def change_plan(self, step: s.ChangePlan) -> str:
        target = await self.live_subscription(step.subscription)
        if target is None:
            return "no live subscription"
        customer = (await self.call("GET", f"/subscriptions/{target}"))["subscription"][
            "external_customer_id"
        ]
        body = {
            "external_customer_id": customer,
            "plan_code": PLANS[step.plan].code,
            "external_id": target,
        }
        await self.call("POST", "/subscriptions", {"subscription": body})
        return target

    async def terminate(self, step: s.Terminate) -> str:
        target = await self.live_subscription(step.subscription)
        if target is None:
            return "no live subscription"
        await self.call("DELETE", f"/subscriptions/{target}")
        return target

    async def pause(self, step: s.Pause) -> str:
        target = await self.live_subscription(step.subscription, "active")
        if target is None:
            return "no active subscription"
        pause: dict[str, Any] = {"pause_at": "end_of_period" if step.at_period_end else "now"}
        if step.resume_after_days is not None:
            resume_at = self.now + timedelta(days=step.resume_after_days)
            pause["resume_at"] = resume_at.isoformat().replace("+00:00", "Z")
        response = await self.client.request(
            "POST",
            f"/api/v1/subscriptions/{target}/pause",
            json={"subscription": pause},
            headers=self.tenant.headers,
        )
        if response.status_code == 422:  # a pause already scheduled, a resume before it
            refused = response.json()["error_details"]
            allowed = (
                {"subscription": ["subscription_already_paused"]},
                {"resume_at": ["invalid_date"]},
            )
            if refused not in allowed:
                raise UnexpectedAnswerError(f"pause {target}: {response.text}")
            return f"{target} refused {refused}"
        if response.status_code != 200:
            raise UnexpectedAnswerError(f"pause {target}: {response.status_code} {response.text}")
        return target

    async def resume(self, step: s.Resume) -> str:
        target = await self.live_subscription(step.subscription, "paused")
        if target is None:
            return "no paused subscription"
        await self.call("POST", f"/subscriptions/{target}/resume", {})
        return target

    async def usage(self, step: s.Usage) -> str:
        # Any subscription, ended ones too: their events take the customer's clock time.
        if not self.subscriptions:
            return "no subscription"
        target = self.subscriptions[step.subscription % len(self.subscriptions)]
        self.events += 1
        event = {
            "transaction_id": f"tx_{self.events}",
            "external_subscription_id": target,
            "code": METRIC,
            "properties": {FIELD: step.units},
        }
        await self.call("POST", "/events", {"event": event})
        return target

    async def advance(self, step: s.Advance) -> str:
        self.now += timedelta(days=step.days, hours=step.hours)
        to = self.now.isoformat().replace("+00:00", "Z")
        await self.call(
            "POST", f"/test_clocks/{self.clock}/advance", {"test_clock": {"frozen_time": to}}
        )
        return to

    async def apply_coupon(self, step: s.ApplyCoupon) -> str:
        customer = self.customers[step.customer % len(self.customers)]
        body = {"external_customer_id": customer, "coupon_code": COUPONS[step.coupon].code}
        await self.call("POST", "/applied_coupons", {"applied_coupon": body})
        return customer

    async def top_up(self, step: s.TopUp) -> str:
        customer = self.customers[step.customer % len(self.customers)]
        wallet = await self.pick(
            "SELECT w.id FROM wallets w JOIN customers c ON c.id = w.customer_id "
            "WHERE w.organization_id = :org AND c.external_id = :cus AND w.status = 'active'",
            0,
            cus=customer,
        )
        credits = {
            "granted_credits": str(step.granted_credits),
            "paid_credits": str(step.paid_credits),
        }
        if wallet is None:
            body = {"external_customer_id": customer, "rate_amount": "1", "currency": "USD"}
            await self.call("POST", "/wallets", {"wallet": body | credits})
            return f"new wallet of {customer}"
        if not step.granted_credits and not step.paid_credits:
            return "nothing to add"
        body = {"wallet_id": str(wallet.id)} | credits
        await self.call("POST", "/wallet_transactions", {"wallet_transaction": body})
        return f"wallet {wallet.id}"

    async def pay(self, step: s.Pay) -> str:
        invoice = await self.pick(
            "SELECT id, total_amount_cents - total_paid_amount_cents AS due FROM invoices "
            "WHERE organization_id = :org AND status = 'finalized' "
            "AND total_amount_cents > total_paid_amount_cents ORDER BY sequential_id",
            step.invoice,
        )
        if invoice is None:
            return "nothing due"
        amount = max(1, invoice.due * step.percent // 100)
        body = {"invoice_id": str(invoice.id), "amount_cents": amount, "reference": "wire"}
        await self.call("POST", "/payments", {"payment": body})
        over = body | {"amount_cents": invoice.due - amount + 1}
        await self.refused(
            "POST", "/payments", {"payment": over}, 422, {"amount_cents": ["invalid_amount"]}
        )
        return f"{amount} of {invoice.due} on {invoice.id}"

    async def issue_credit_note(self, step: s.IssueCreditNote) -> str:
        invoice = await self.pick(
            "SELECT id, total_paid_amount_cents AS paid, "
            "(SELECT coalesce(sum(refund_amount_cents), 0)::bigint FROM credit_notes n "
            " WHERE n.invoice_id = i.id) AS refunded "
            "FROM invoices i WHERE organization_id = :org AND status = 'finalized' "
            "AND invoice_type <> 'credit' ORDER BY total_paid_amount_cents > 0 DESC, sequential_id",
            step.invoice,
        )
        if invoice is None:
            return "no invoice"
        # What remains of a fee: less its credit notes' items, and for a base fee less the
        # unused-days credit lines of finalized invoices within its period. A credit line
        # billed nothing: nothing of it remains to credit.
        fees = await self.rows(
            "SELECT f.id, (CASE WHEN f.fee_type = 'credit' THEN 0 ELSE f.amount_cents END"
            " - (SELECT coalesce(sum(i.amount_cents), 0) FROM credit_note_items i"
            "    WHERE i.fee_id = f.id)"
            " - (SELECT coalesce(sum(l.amount_cents), 0) FROM fees l"
            "    JOIN invoices li ON li.id = l.invoice_id"
            "    WHERE f.fee_type = 'subscription' AND l.fee_type = 'credit'"
            "    AND li.status = 'finalized' AND li.invoice_type = 'subscription'"
            "    AND l.subscription_id = f.subscription_id"
            "    AND l.from_datetime >= f.from_datetime AND l.to_datetime <= f.to_datetime)"
            ")::bigint AS remaining FROM fees f WHERE f.invoice_id = :invoice ORDER BY f.position",
            invoice=invoice.id,
        )
        items = [
            {"fee_id": str(fee.id), "amount_cents": max(1, fee.remaining * step.percent // 100)}
            for fee in fees
            if fee.remaining > 0
        ]
        if not fees:
            return "no fee"
        base = {"invoice_id": str(invoice.id), "reason": "other"}
        if step.excess == "fee":
            # One cent over what remains of the last fee (a credit line, when there is one).
            last = {"fee_id": str(fees[-1].id), "amount_cents": fees[-1].remaining + 1}
            over = [*(item for item in items if item["fee_id"] != last["fee_id"]), last]
            await self.refused(
                "POST",
                "/credit_notes/estimate",
                {"credit_note": base | {"items": over}},
                422,
                {"amount_cents": ["higher_than_remaining_fee_amount"]},
            )
            return "over a fee: refused"
        if not items:
            return "nothing left to credit"
        estimate = (
            await self.call(
                "POST", "/credit_notes/estimate", {"credit_note": base | {"items": items}}
            )
        )["estimated_credit_note"]
        total = estimate["sub_total_excluding_taxes_amount_cents"] + estimate["taxes_amount_cents"]
        refundable = min(total, max(invoice.paid - invoice.refunded, 0))
        note_body = base | {"items": items}
        if total == 0:
            body = note_body | {"credit_amount_cents": 0, "refund_amount_cents": 0}
            await self.refused(
                "POST", "/credit_notes", {"credit_note": body}, 422, {"base": ["invalid_amount"]}
            )
            return "worth nothing: refused"
        if step.excess == "refund" and refundable < total:
            refund = refundable + 1
            body = note_body | {
                "credit_amount_cents": total - refund,
                "refund_amount_cents": refund,
            }
            await self.refused(
                "POST",
                "/credit_notes",
                {"credit_note": body},
                422,
                {"refund_amount_cents": ["higher_than_remaining_invoice_amount"]},
            )
            return "refund over what was paid: refused"
        refund = refundable * step.refund_percent // 100
        body = note_body | {"credit_amount_cents": total - refund, "refund_amount_cents": refund}
        note_id = (await self.call("POST", "/credit_notes", {"credit_note": body}))["credit_note"][
            "lago_id"
        ]
        return f"{note_id}: credit {total - refund}, refund {refund}"

    async def void_invoice(self, step: s.VoidInvoice) -> str:
        invoice = await self.pick(
            "SELECT i.id, i.payment_status, i.total_paid_amount_cents AS paid, "
            "i.total_paid_amount_cents + i.prepaid_credit_amount_cents AS received, "
            "(SELECT coalesce(sum(CASE WHEN n.credit_status = 'voided' THEN n.refund_amount_cents"
            "  + (SELECT coalesce(sum(a.amount_cents), 0) FROM credit_note_applications a"
            "     WHERE a.credit_note_id = n.id) ELSE n.total_amount_cents END), 0)::bigint"
            " FROM credit_notes n WHERE n.invoice_id = i.id) AS given_back "
            "FROM invoices i WHERE organization_id = :org AND status = 'finalized' "
            "ORDER BY sequential_id",
            step.invoice,
        )
        if invoice is None:
            return "no invoice"
        body = {"generate_credit_note": step.generate_credit_note}
        path = f"/invoices/{invoice.id}/void"
        paid = invoice.payment_status == "succeeded" or invoice.paid > 0
        if paid and not step.generate_credit_note:
            await self.refused("POST", path, body, 405, None)
            return "paid: refused"
        if invoice.given_back > invoice.received:
            # Credit notes gave back more than was paid: that credit cannot be undone.
            await self.refused("POST", path, body, 405, None)
            return "credited beyond what was paid: refused"
        await self.call("POST", path, body)
        return str(invoice.id)

    async def void_credit_note(self, step: s.VoidCreditNote) -> str:
        note_row = await self.pick(
            "SELECT id, credit_status, balance_amount_cents FROM credit_notes "
            "WHERE organization_id = :org ORDER BY created_at, id",
            step.note,
        )
        if note_row is None:
            return "no credit note"
        path = f"/credit_notes/{note_row.id}/void"
        if note_row.credit_status != "available" or note_row.balance_amount_cents <= 0:
            await self.refused("PUT", path, None, 405, None)
            return "nothing to void: refused"
        await self.call("PUT", path)
        return str(note_row.id)

    async def finalize_draft(self, step: s.FinalizeDraft) -> str:
        invoice = await self.pick(
            "SELECT id FROM invoices WHERE organization_id = :org AND status = 'draft' "
            "ORDER BY created_at, id",
            step.invoice,
        )
        if invoice is None:
            return "no draft"
        await self.call("PUT", f"/invoices/{invoice.id}/finalize")
        return str(invoice.id)


def new_tenant_name() -> str:
    return f"Properties {uuid.uuid4().hex[:8]}"
