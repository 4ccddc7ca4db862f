"""Text for documents drawn with PDF core fonts: money in words a reader expects, and
characters those fonts can draw.

The core fonts (Helvetica) only know latin-1. Typographic characters that other parts of
bxb write (an em dash in a fee name, curly quotes, a euro sign) are spelled with plain
equivalents; anything else outside latin-1 becomes "?" instead of failing the document.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from bxb.billing.money import UnknownCurrencyError, currency_exponent

_PLAIN = str.maketrans(
    {
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2212": "-",  # minus sign
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u00a0": " ",
        "\u202f": " ",
        "\u20ac": "EUR",
        "\u2022": "*",
    }
)


def latin1(text: str) -> str:
    """`text` with only characters latin-1 (and so the PDF core fonts) can show."""
    plain = unicodedata.normalize("NFC", text.translate(_PLAIN))
    out = []
    for char in plain:
        if ord(char) < 256:
            out.append(char)
            continue
        # A letter with an accent latin-1 lacks keeps its base letter when Unicode
        # decomposes it ("ă" → "a"); anything else becomes "?".
        base = unicodedata.normalize("NFKD", char)[:1]
        out.append(base if base and ord(base) < 256 else "?")
    return "".join(out)


def money(amount_cents: int, currency: str) -> str:
    """Minor units as the currency writes them, e.g. 123456 USD → "1,234.56 USD"."""
    try:
        exponent = currency_exponent(currency)
    except UnknownCurrencyError:
        exponent = 2
    value = Decimal(amount_cents).scaleb(-exponent)
    return f"{value:,.{exponent}f} {currency}"


def units(value: str | None) -> str:
    """A decimal string of units without trailing zeros ("2.500000" → "2.5")."""
    if not value:
        return "0"
    return f"{Decimal(value).normalize():f}"


def percent(rate: float | int | str) -> str:
    """A tax rate as a person writes it: 20.0 → "20%", 5.5 → "5.5%"."""
    number = Decimal(str(rate)).normalize()
    return f"{number:f}%"
