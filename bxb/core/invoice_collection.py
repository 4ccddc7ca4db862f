"""Telling the owner of an invoice's collection that something happened to it.

A subscription invoice is collected by its subscription's workflow (grace period, payment
attempts, dunning); an invoice without a subscription (one-off, wallet top-up) by a small
collection workflow of its own. API code that changes an invoice's payment state in
PostgreSQL calls these after its commit, so the workflow stops or resumes collecting.
(STUB bodies: the lead implements them.)
"""

from __future__ import annotations

import uuid
from typing import Literal

from temporalio.client import Client

PaymentNotice = Literal["succeeded", "failed", "voided"]


async def start_invoice_collection(client: Client, invoice_id: uuid.UUID) -> None:
    """Collect a finalized invoice that no subscription owns (one-off, top-up)."""
    return None


async def notify_invoice_payment(
    client: Client, invoice_id: uuid.UUID, notice: PaymentNotice
) -> None:
    """An invoice was paid (manual payment, asynchronous provider success), failed at the
    provider asynchronously, or was voided: its collector ends or resumes dunning."""
    return None
