"""The permission matrix: which role may read or change which family of /api/v1 routes.

One table, enforced in one place (bxb.api.deps, on every request that authenticates with
an API key or a member session). A rule names a route family by its path template (a
trailing `*` covers the path and everything below it); the most specific rule matching a
route wins. GET and HEAD read; every other method writes, except on rules marked
`reads_only` (a POST that only computes an answer, e.g. an invoice preview). `admin` may do
everything, routes unknown to the matrix included; every other role is denied what the
matrix does not grant. docs/roles.md shows this table (`python -m
bxb.governance.permissions` prints it; a test fails when the two drift apart).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from bxb.governance.actor import Role

A, B, S, F = Role.ADMIN, Role.BILLING_ADMIN, Role.SUPPORT, Role.FINANCE_VIEWER
ALL = frozenset(Role)
NONE: frozenset[Role] = frozenset()
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Rule:
    pattern: str
    read: frozenset[Role]
    write: frozenset[Role]
    # Every method of the family reads (POSTs that compute an answer and store nothing).
    reads_only: bool = False
    note: str = ""


def _rule(pattern: str, read: Iterable[Role], write: Iterable[Role] = (), note: str = "") -> Rule:
    # Admin may always; whoever may write may also read.
    writers = frozenset(write) | {A}
    return Rule(pattern, frozenset(read) | writers, writers, note=note)


def _reading(pattern: str, read: Iterable[Role], note: str = "") -> Rule:
    return Rule(pattern, frozenset(read) | {A}, frozenset({A}), reads_only=True, note=note)


RULES: tuple[Rule, ...] = (
    # Identity check (GET) for every key; billing settings (PUT) for billing admins.
    _rule("/api/v1/organizations", ALL, {B}),
    # Legal entities (address, numbering, taxes): billing settings, as the organization's.
    _rule("/api/v1/billing_entities*", {S, F}, {B}),
    # Catalog: billing admins shape it, support reads it.
    _rule("/api/v1/billable_metrics*", {S}, {B}),
    _reading("/api/v1/billable_metrics/evaluate_expression", {B, S}),
    _rule("/api/v1/plans*", {S}, {B}),
    _rule("/api/v1/add_ons*", {S}, {B}),
    _rule("/api/v1/coupons*", {S}, {B}),
    _rule("/api/v1/taxes*", {S}, {B}),
    _rule("/api/v1/features*", {S}, {B}),
    # Customers: support edits customer details; finance reads them.
    _rule("/api/v1/customers*", {S, F}, {B, S}),
    _rule("DELETE /api/v1/customers/{external_customer_id}", {S, F}, {B}),
    _rule("/api/v1/customers/{external_customer_id}/applied_coupons*", {S, F}, {B, S}),
    _rule("/api/v1/customers/{external_customer_id}/wallets*", {S, F}, {B}),
    _rule("/api/v1/customers/{external_customer_id}/payment_methods*", {S, F}, {B, S}),
    _rule("/api/v1/applied_coupons*", {S, F}, {B, S}, note="support applies coupons"),
    _rule("/api/v1/subscriptions*", {S}, {B}),
    _rule("/api/v1/test_clocks*", {S}, {B}),
    _rule("/api/v1/events*", {S}, {B}),
    _reading("/api/v1/events/estimate_fees", {B, S}),
    _reading("/api/v1/events/estimate_instant_fees", {B, S}),
    _reading("/api/v1/events/batch_estimate_instant_fees", {B, S}),
    # Money: finance reads all of it; support reads it and retries payments.
    _rule("/api/v1/invoices*", {S, F}, {B}),
    _reading("/api/v1/invoices/preview", {B, S, F}),
    _reading("/api/v1/invoices/{lago_id}/download", {B, S, F}),
    _rule("/api/v1/invoices/{lago_id}/retry_payment", {S, F}, {B, S}),
    _rule("/api/v1/invoices/{lago_id}/payment_url", {S, F}, {B, S}),
    _rule("/api/v1/credit_notes*", {S, F}, {B}),
    _reading("/api/v1/credit_notes/estimate", {B, S, F}),
    _reading("/api/v1/credit_notes/{lago_id}/download", {B, S, F}),
    _rule("/api/v1/fees*", {S, F}, {B}),
    _rule("/api/v1/payments*", {S, F}, {B}),
    _rule("/api/v1/payment_requests*", {S, F}, {B, S}, note="support asks customers to pay"),
    _rule("/api/v1/payment_receipts*", {S, F}),
    _rule("/api/v1/dunning_campaigns*", {S, F}, {B}),
    _rule("/api/v1/wallets*", {S, F}, {B}),
    _rule("/api/v1/wallet_transactions*", {S, F}, {B}),
    _rule("/api/v1/analytics*", {B, F}),
    _rule("/api/v1/dashboard*", {B, F}),
    # Integrations.
    _rule("/api/v1/webhook_endpoints*", {B}, {B}),
    _rule(
        "/api/v1/webhook_endpoints/signing_secret",
        NONE,
        note="a secret: organization security setting",
    ),
    _rule("/api/v1/webhooks*", {B}, {B}),
    # Governance.
    _rule("/api/v1/api_keys*", NONE),
    _rule("/api/v1/members*", NONE),
    _rule("/api/v1/invites*", NONE),
    _rule("/api/v1/rate_limits*", NONE),
    _rule("/api/v1/activity_logs*", {B, F}),
    _rule("/api/v1/api_logs*", {B}),
    _rule("/api/v1/data_exports*", ALL, ALL, note="an export only reads"),
    _rule("/api/v1/search", ALL),
)


# /api/v1 routes that authenticate neither by API key nor by member session, so the matrix
# does not cover them: each checks its own credential (a test fails for any other route
# that authenticates with nothing). Customer-portal routes are recognised by their
# dependency on the portal token (bxb.portal.auth) and need no entry here.
OUTSIDE_MATRIX: tuple[str, ...] = (
    "/api/v1/webhooks/stripe/*",  # Stripe's signature over the body
    "/api/v1/auth/*",  # sign-in, sign-out, password reset: before there is a member
    "/api/v1/invitations/*",  # accepting an invitation: its one-time token
)


def outside_matrix(path: str) -> bool:
    return any(_family_matches(pattern, path) for pattern in OUTSIDE_MATRIX)


def _family_matches(pattern: str, path: str) -> bool:
    if pattern.endswith("*"):
        base = pattern[:-1].rstrip("/")
        return path == base or path.startswith(base + "/")
    return path == pattern


def _split(pattern: str) -> tuple[str | None, str]:
    """ "DELETE /api/v1/x" → ("DELETE", "/api/v1/x"); "/api/v1/x*" → (None, "/api/v1/x*")."""
    method, _, path = pattern.rpartition(" ")
    return method or None, path


def _matches(rule: Rule, method: str, path: str) -> bool:
    rule_method, pattern = _split(rule.pattern)
    if rule_method is not None and rule_method != method:
        return False
    return _family_matches(pattern, path)


def _specificity(rule: Rule) -> tuple[int, int, int]:
    # A longer family beats a shorter one; an exact template beats a family of the same
    # length; a rule for one method beats one for all.
    method, pattern = _split(rule.pattern)
    return (len(pattern.rstrip("*")), int(not pattern.endswith("*")), int(method is not None))


def rule_for(method: str, path: str) -> Rule | None:
    """The most specific rule for a route (method and path template), or None."""
    matching = [rule for rule in RULES if _matches(rule, method, path)]
    return max(matching, key=_specificity, default=None)


@lru_cache(maxsize=4096)
def allowed_roles(method: str, path: str) -> frozenset[Role]:
    """The roles that may call `method path` (a route's template); cached per route."""
    rule = rule_for(method, path)
    if rule is None:
        return frozenset({A})
    if rule.reads_only or method in READ_METHODS:
        return rule.read
    return rule.write


def is_allowed(role: Role, method: str, path: str | None) -> bool:
    if role is A:
        return True
    if path is None:
        return False
    return role in allowed_roles(method, path)


def _cell(rule: Rule, role: Role) -> str:
    if rule.reads_only:
        return "read" if role in rule.read else "-"
    if role in rule.write:
        return "read, write"
    return "read" if role in rule.read else "-"


def render_table() -> str:
    """The matrix as the Markdown table of docs/roles.md."""
    header = "| Routes | " + " | ".join(role.value for role in Role) + " |"
    lines = [header, "|" + "---|" * (len(Role) + 1)]
    for rule in sorted(RULES, key=lambda rule: _split(rule.pattern)[::-1]):
        label = f"`{rule.pattern}`" + (" (every method reads)" if rule.reads_only else "")
        cells = " | ".join(_cell(rule, role) for role in Role)
        lines.append(f"| {label} | {cells} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_table(), end="")  # noqa: T201 - regenerates docs/roles.md
