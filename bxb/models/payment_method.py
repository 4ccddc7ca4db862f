"""A customer's payment methods at its provider, as rows (Lago's PaymentMethod).

Synced from Stripe: the PaymentMethods attached to the customer's Stripe customer (what
the portal's SetupIntent and Checkout flows leave there), one row each, unique on the
provider's id per customer. `is_default` mirrors the Stripe customer's
`invoice_settings.default_payment_method`; a detached method is soft-deleted.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, SoftDeleteMixin, TenantMixin


class PaymentMethod(TenantMixin, SoftDeleteMixin, Base):
    __tablename__ = "payment_methods"
    __table_args__ = (UniqueConstraint("customer_id", "provider_method_id"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(16))  # stripe
    provider_method_id: Mapped[str] = mapped_column(String(255))
    is_default: Mapped[bool] = mapped_column(default=False)
