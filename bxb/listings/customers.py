"""Customer list filters (GET /customers, customer exports). Deleted customers are never
listed."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy import Select, or_, select

from bxb.listings.base import MAX_FILTER_VALUES, FilterText, ListFilters
from bxb.models import Customer

Values = Annotated[tuple[FilterText, ...], Field(max_length=MAX_FILTER_VALUES)]
SEARCHED = (
    Customer.name,
    Customer.firstname,
    Customer.lastname,
    Customer.legal_name,
    Customer.external_id,
    Customer.email,
)


class CustomerFilters(ListFilters):
    search_term: FilterText | None = None
    countries: Values = ()
    currencies: Values = ()
    states: Values = ()
    zipcodes: Values = ()
    customer_type: Literal["company", "individual"] | None = None
    has_customer_type: bool | None = None
    has_tax_identification_number: bool | None = None
    # Lago's billing_entity_codes[], resolved to ids by the caller.
    billing_entity_ids: tuple[uuid.UUID, ...] = ()


def customer_query(organization_id: uuid.UUID, f: CustomerFilters) -> Select[Customer]:
    """The organization's live customers matching f, unordered."""
    query = select(Customer).where(
        Customer.organization_id == organization_id, Customer.deleted_at.is_(None)
    )
    if f.search_term:
        query = query.where(
            or_(*(column.icontains(f.search_term, autoescape=True) for column in SEARCHED))
        )
    if f.countries:
        query = query.where(Customer.country.in_([c.upper() for c in f.countries]))
    if f.currencies:
        query = query.where(Customer.currency.in_([c.upper() for c in f.currencies]))
    if f.states:
        query = query.where(Customer.state.in_(f.states))
    if f.zipcodes:
        query = query.where(Customer.zipcode.in_(f.zipcodes))
    if f.customer_type is not None:
        query = query.where(Customer.customer_type == f.customer_type)
    if f.has_customer_type is not None:
        has = Customer.customer_type.is_not(None)
        query = query.where(has if f.has_customer_type else ~has)
    if f.has_tax_identification_number is not None:
        has = Customer.tax_identification_number.is_not(None)
        query = query.where(has if f.has_tax_identification_number else ~has)
    if f.billing_entity_ids:
        query = query.where(Customer.billing_entity_id.in_(f.billing_entity_ids))
    return query
