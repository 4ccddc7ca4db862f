"""Every customer and invoice row records its billing entity, whoever writes it.

A customer inserted without one belongs to its organization's default entity; an invoice
inserted without one is issued by its customer's entity. Filled in at insert (in the
flush's own connection), so every writer — API, activities, tests — gets the same rule.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import object_session
from sqlalchemy.orm.util import identity_key

from bxb.models.billing_entity import BillingEntity
from bxb.models.customer import Customer
from bxb.models.invoice import Invoice


@event.listens_for(Customer, "before_insert")
def _customer_entity(_mapper: Any, connection: Connection, customer: Customer) -> None:
    if customer.billing_entity_id is None:
        customer.billing_entity_id = connection.scalar(
            select(BillingEntity.id).where(
                BillingEntity.organization_id == customer.organization_id,
                BillingEntity.is_default,
            )
        )


@event.listens_for(Invoice, "before_insert")
def _invoice_entity(_mapper: Any, connection: Connection, invoice: Invoice) -> None:
    if invoice.billing_entity_id is not None:
        return
    # The customer the session already holds (a period close holds it), else a query.
    session = object_session(invoice)
    known = (
        session.identity_map.get(identity_key(Customer, invoice.customer_id))
        if session is not None
        else None
    )
    if isinstance(known, Customer) and known.billing_entity_id is not None:
        invoice.billing_entity_id = known.billing_entity_id
        return
    invoice.billing_entity_id = connection.scalar(
        select(Customer.billing_entity_id).where(Customer.id == invoice.customer_id)
    )
