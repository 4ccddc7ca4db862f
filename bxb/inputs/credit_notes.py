"""The enumerations of credit notes that requests and list filters accept."""

from __future__ import annotations

from typing import Literal

Reason = Literal[
    "duplicated_charge",
    "product_unsatisfactory",
    "order_change",
    "order_cancellation",
    "fraudulent_charge",
    "other",
]
RefundStatus = Literal["pending", "succeeded", "failed"]
CreditStatus = Literal["available", "consumed", "voided"]
