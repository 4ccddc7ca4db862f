"""Credit notes: what an invoice can still credit or refund, and what a note amounts to.

An item is Lago's: an amount of one fee before coupons, excluding taxes. Its coupon
adjustment and taxes follow that fee's own figures (its coupons over its amount, its tax
rate). A note's taxes are, as in Lago, its items' precise taxes rounded once per tax rate
(see _round_taxes_per_note); underneath, rounding happens once per fee on the *cumulative*
credit of the fee: after crediting
X of a fee of amount A, the fee's credited coupons are round(X × coupons / A) and its
credited taxes round((X − credited coupons) × rate / 100), each item taking the difference
from what earlier notes recorded. So, whatever the sequence of notes:

- a fee's items never exceed its amount, nor its credited coupons and taxes its own;
- crediting a fee in full credits exactly its amount, coupons and taxes, and crediting a
  whole invoice gives exactly its total (fees − coupons + taxes), never a cent more;
- a refund never exceeds what was paid minus earlier refunds (nor what is creditable).

No I/O here: the ledger reads the invoice's state, these functions decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from bxb.billing.money import round_minor

_ZERO = Decimal(0)


class CreditNoteError(ValueError):
    """A credit note that breaks a limit; `errors` maps Lago's field names to codes."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class CreditableFee:
    """A fee of the invoice and what earlier credit notes already took from it."""

    fee_id: str
    amount_cents: int
    coupons_amount_cents: int
    taxes_amount_cents: int
    taxes_rate: Decimal
    credited_amount_cents: int = 0
    credited_coupons_cents: int = 0
    credited_taxes_cents: int = 0

    @property
    def remaining_amount_cents(self) -> int:
        return max(self.amount_cents - self.credited_amount_cents, 0)

    @property
    def remaining_total_cents(self) -> int:
        """What crediting the rest of the fee would give (after coupons, with taxes)."""
        coupons = self.coupons_amount_cents - self.credited_coupons_cents
        taxes = self.taxes_amount_cents - self.credited_taxes_cents
        return max(self.remaining_amount_cents - coupons + taxes, 0)


@dataclass(frozen=True)
class CreditableInvoice:
    fees: tuple[CreditableFee, ...]
    total_paid_amount_cents: int
    refunded_amount_cents: int = 0  # refunds of earlier credit notes

    def fee(self, fee_id: str) -> CreditableFee:
        for fee in self.fees:
            if fee.fee_id == fee_id:
                return fee
        raise KeyError(fee_id)

    @property
    def remaining_creditable_cents(self) -> int:
        return sum(fee.remaining_total_cents for fee in self.fees)

    @property
    def remaining_refundable_cents(self) -> int:
        paid_back = max(self.total_paid_amount_cents - self.refunded_amount_cents, 0)
        return min(paid_back, self.remaining_creditable_cents)


@dataclass(frozen=True)
class CreditItem:
    fee_id: str
    amount_cents: int


@dataclass(frozen=True)
class ItemCredit:
    """One item of a note, with its share of the fee's coupons and taxes."""

    fee_id: str
    amount_cents: int
    coupons_adjustment_cents: int
    taxes_amount_cents: int
    taxes_rate: Decimal
    precise_coupons_adjustment: Decimal
    precise_taxes: Decimal

    @property
    def sub_total_cents(self) -> int:
        return self.amount_cents - self.coupons_adjustment_cents

    @property
    def total_cents(self) -> int:
        return self.sub_total_cents + self.taxes_amount_cents


@dataclass(frozen=True)
class CreditAmounts:
    items: tuple[ItemCredit, ...]

    @property
    def items_amount_cents(self) -> int:
        return sum(item.amount_cents for item in self.items)

    @property
    def coupons_adjustment_amount_cents(self) -> int:
        return sum(item.coupons_adjustment_cents for item in self.items)

    @property
    def precise_coupons_adjustment_amount_cents(self) -> Decimal:
        return sum((item.precise_coupons_adjustment for item in self.items), _ZERO)

    @property
    def taxes_amount_cents(self) -> int:
        return sum(item.taxes_amount_cents for item in self.items)

    @property
    def precise_taxes_amount_cents(self) -> Decimal:
        return sum((item.precise_taxes for item in self.items), _ZERO)

    @property
    def sub_total_excluding_taxes_amount_cents(self) -> int:
        return self.items_amount_cents - self.coupons_adjustment_amount_cents

    @property
    def total_amount_cents(self) -> int:
        return self.sub_total_excluding_taxes_amount_cents + self.taxes_amount_cents

    @property
    def taxes_rate(self) -> Decimal:
        """The items' common rate, else the effective rate (taxes over sub total)."""
        rates = {item.taxes_rate for item in self.items if item.amount_cents}
        if len(rates) <= 1:
            return next(iter(rates), _ZERO)
        sub_total = self.sub_total_excluding_taxes_amount_cents
        if sub_total == 0:
            return _ZERO
        return (Decimal(self.taxes_amount_cents) * 100 / sub_total).quantize(Decimal("0.01"))


def credit_item(fee: CreditableFee, amount_cents: int) -> ItemCredit:
    """Credit `amount_cents` of `fee` (at most what remains of it)."""
    if amount_cents < 0 or amount_cents > fee.remaining_amount_cents:
        raise ValueError(f"fee {fee.fee_id}: cannot credit {amount_cents}")
    credited = fee.credited_amount_cents + amount_cents
    coupons_left = fee.coupons_amount_cents - fee.credited_coupons_cents
    taxes_left = fee.taxes_amount_cents - fee.credited_taxes_cents
    if credited == fee.amount_cents:  # the rest of the fee: exactly what remains
        coupons, taxes = _clamp(coupons_left, amount_cents), _clamp(taxes_left, taxes_left)
    else:
        exact_coupons = Decimal(credited * fee.coupons_amount_cents) / fee.amount_cents
        coupons = _clamp(
            round_minor(exact_coupons) - fee.credited_coupons_cents,
            min(amount_cents, coupons_left),
        )
        base = credited - fee.credited_coupons_cents - coupons
        taxes = _clamp(
            round_minor(base * fee.taxes_rate / 100) - fee.credited_taxes_cents, taxes_left
        )
    precise_coupons = (
        Decimal(amount_cents * fee.coupons_amount_cents) / fee.amount_cents
        if fee.amount_cents
        else _ZERO
    )
    precise_taxes = (amount_cents - precise_coupons) * fee.taxes_rate / 100
    return ItemCredit(
        fee.fee_id, amount_cents, coupons, taxes, fee.taxes_rate, precise_coupons, precise_taxes
    )


def _clamp(value: int, upper: int) -> int:
    return max(0, min(value, upper))


def merge_items(items: Iterable[CreditItem]) -> list[CreditItem]:
    """One item per fee (amounts of repeated fees added), in first-seen order."""
    merged: dict[str, int] = {}
    for item in items:
        merged[item.fee_id] = merged.get(item.fee_id, 0) + item.amount_cents
    return [CreditItem(fee_id, amount) for fee_id, amount in merged.items()]


def compute_credit(invoice: CreditableInvoice, items: Sequence[CreditItem]) -> CreditAmounts:
    """The note these items make; CreditNoteError when an item exceeds its fee."""
    merged = merge_items(items)
    if not merged:
        raise CreditNoteError({"items": ["value_is_mandatory"]})
    if any(item.amount_cents < 0 for item in merged):
        raise CreditNoteError({"amount_cents": ["value_is_invalid"]})
    pairs = [(item, invoice.fee(item.fee_id)) for item in merged]
    if any(item.amount_cents > fee.remaining_amount_cents for item, fee in pairs):
        raise CreditNoteError({"amount_cents": ["higher_than_remaining_fee_amount"]})
    credits = [credit_item(fee, item.amount_cents) for item, fee in pairs]
    return CreditAmounts(tuple(_round_taxes_per_note(credits, [fee for _, fee in pairs])))


def _round_taxes_per_note(credits: list[ItemCredit], fees: list[CreditableFee]) -> list[ItemCredit]:
    """Lago rounds a note's taxes once per tax over its items (``CreditNotes::
    ApplyTaxesService``): the items of each rate are adjusted, a cent at a time by largest
    remainder, so that their taxes sum to their precise taxes rounded once. An item that
    credits the rest of its fee keeps exactly the fee's remaining taxes, and no item goes
    beyond its fee's, so whatever the notes, a fee is never credited more tax than it had
    (later notes start again from the cumulative rounding of credit_item)."""
    adjusted = list(credits)
    for rate in {credit.taxes_rate for credit in credits}:
        group = [i for i, credit in enumerate(credits) if credit.taxes_rate == rate]
        target = round_minor(sum((credits[i].precise_taxes for i in group), _ZERO))
        diff = target - sum(credits[i].taxes_amount_cents for i in group)
        movable = [
            i
            for i in group
            if fees[i].credited_amount_cents + credits[i].amount_cents < fees[i].amount_cents
        ]
        step = 1 if diff > 0 else -1
        # Largest remainder first: the items whose rounded tax is furthest from precise.
        movable.sort(
            key=lambda i: -step * (credits[i].precise_taxes - credits[i].taxes_amount_cents)
        )
        for i in movable:
            if diff == 0:
                break
            room = fees[i].taxes_amount_cents - fees[i].credited_taxes_cents
            taxes = adjusted[i].taxes_amount_cents + step
            if 0 <= taxes <= room:
                adjusted[i] = replace(adjusted[i], taxes_amount_cents=taxes)
                diff -= step
    return adjusted


def split_errors(
    invoice: CreditableInvoice,
    amounts: CreditAmounts,
    *,
    credit_amount_cents: int,
    refund_amount_cents: int,
) -> dict[str, list[str]]:
    """Lago's checks on how a note's total is split between credit and refund."""
    errors: dict[str, list[str]] = {}
    if credit_amount_cents < 0:
        errors["credit_amount_cents"] = ["value_is_invalid"]
    if refund_amount_cents < 0:
        errors["refund_amount_cents"] = ["value_is_invalid"]
    if errors:
        return errors
    if amounts.total_amount_cents <= 0:
        errors["base"] = ["invalid_amount"]
    elif credit_amount_cents + refund_amount_cents != amounts.total_amount_cents:
        errors["base"] = ["does_not_match_item_amounts"]
    if refund_amount_cents > invoice.remaining_refundable_cents:
        errors["refund_amount_cents"] = ["higher_than_remaining_invoice_amount"]
    if credit_amount_cents > invoice.remaining_creditable_cents:
        errors["credit_amount_cents"] = ["higher_than_remaining_invoice_amount"]
    return errors


def credit_for_total(invoice: CreditableInvoice, target_cents: int) -> CreditAmounts:
    """Items whose note totals exactly `target_cents` (capped at what is creditable).

    Used when an amount of money (a voided invoice's payments) must become credit: the
    fees are credited in proportion to what remains of them, then adjusted to the target;
    a last cent or two that item granularity cannot reach is taken from the fees'
    remaining taxes, so the note is never worth less than the money it stands for.
    """
    remaining = invoice.remaining_creditable_cents
    target = max(min(target_cents, remaining), 0)
    fees = [fee for fee in invoice.fees if fee.remaining_amount_cents]
    if target == remaining:
        return CreditAmounts(tuple(credit_item(f, f.remaining_amount_cents) for f in fees))
    credits = {
        f.fee_id: credit_item(f, f.remaining_amount_cents * target // max(remaining, 1))
        for f in fees
    }
    total = sum(c.total_cents for c in credits.values())
    # Rounding may pass the target: step back the biggest items until it fits; then top
    # each fee up as far as the target allows. Both by bisection (a fee's worth grows
    # with its amount), so a heavily discounted fee costs a few steps, not one per cent.
    for fee in sorted(fees, key=lambda f: -credits[f.fee_id].amount_cents):
        if total <= target:
            break
        others = total - credits[fee.fee_id].total_cents
        fitted = _fit(fee, 0, credits[fee.fee_id].amount_cents, max(target - others, 0))
        credits[fee.fee_id], total = fitted, others + fitted.total_cents
    for fee in fees:
        others = total - credits[fee.fee_id].total_cents
        low = credits[fee.fee_id].amount_cents
        fitted = _fit(fee, low, fee.remaining_amount_cents, target - others)
        credits[fee.fee_id], total = fitted, others + fitted.total_cents
    for fee in fees:  # what item granularity missed, from the fee's remaining taxes
        credit = credits[fee.fee_id]
        room = fee.taxes_amount_cents - fee.credited_taxes_cents - credit.taxes_amount_cents
        extra = min(max(target - total, 0), max(room, 0))
        if extra and credit.amount_cents:
            credits[fee.fee_id] = replace(
                credit, taxes_amount_cents=credit.taxes_amount_cents + extra
            )
            total += extra
    return CreditAmounts(tuple(c for c in credits.values() if c.amount_cents))


def _fit(fee: CreditableFee, low: int, high: int, budget: int) -> ItemCredit:
    """The credit of the largest amount in [low, high] worth at most `budget` (else low)."""
    best = credit_item(fee, low)
    while low < high:
        middle = (low + high + 1) // 2
        candidate = credit_item(fee, middle)
        if candidate.total_cents <= budget:
            low, best = middle, candidate
        else:
            high = middle - 1
    return best


def consume_balances(balances: Sequence[tuple[str, int]], due_cents: int) -> list[tuple[str, int]]:
    """Take `due_cents` from the balances in the order given (oldest first)."""
    taken: list[tuple[str, int]] = []
    left = max(due_cents, 0)
    for key, balance in balances:
        if left == 0:
            break
        amount = min(max(balance, 0), left)
        if amount:
            taken.append((key, amount))
            left -= amount
    return taken


def split_in_proportion(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` in proportion to non-negative `weights`; shares sum exactly.

    Largest remainder, ties to the earlier weight; all to the first when weights are 0.
    """
    if not weights:
        return []
    total = sum(weights)
    if total <= 0:
        return [amount] + [0] * (len(weights) - 1)
    shares = [amount * w // total for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for index in order[: amount - sum(shares)]:
        shares[index] += 1
    return shares
