"""Billing entities: the default one of an organization, resolving one by code, their taxes.

The default entity and the organization share their billing settings (Lago's
Organizations::UpdateService updates the default entity too): a change to either is
copied to the other, so code that reads the organization's settings keeps reading the
default entity's.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.lago_objects.errors import not_found, validation_error
from bxb.models import BillingEntity, BillingEntityTax, Customer, Invoice, Organization, Tax

# Settings the organization and its default entity share (same column names).
SHARED_FIELDS = (
    "default_currency",
    "timezone",
    "email",
    "legal_name",
    "legal_number",
    "tax_identification_number",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zipcode",
    "country",
    "net_payment_term",
    "document_number_prefix",
    "invoice_grace_period",
    "invoice_footer",
    "document_locale",
    "finalize_zero_amount_invoice",
    "email_settings",
)


def code_from_name(name: str) -> str:
    """Lago's `name.parameterize(separator: "_")`: the default entity's code."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "default"


def _entity_numbering(org_numbering: str) -> str:
    return "per_billing_entity" if org_numbering == "per_organization" else "per_customer"


def _org_numbering(entity_numbering: str) -> str:
    return "per_organization" if entity_numbering == "per_billing_entity" else "per_customer"


def default_entity_for(org: Organization) -> BillingEntity:
    """A new organization's default entity, from its settings (id = the organization's)."""
    entity = BillingEntity(
        id=org.id,
        organization_id=org.id,
        code=code_from_name(org.name),
        name=org.name,
        is_default=True,
        document_numbering=_entity_numbering(org.document_numbering or "per_customer"),
    )
    for field in SHARED_FIELDS:
        value = getattr(org, field)
        if value is not None or field in _NULLABLE:
            setattr(entity, field, list(value) if field == "email_settings" else value)
    return entity


_NULLABLE = {
    "email",
    "legal_name",
    "legal_number",
    "tax_identification_number",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zipcode",
    "country",
    "invoice_footer",
}


def copy_shared(source: Any, target: Any, fields: Iterable[str]) -> None:
    """Copy the shared settings among `fields` from organization to entity or back."""
    for field in fields:
        if field in SHARED_FIELDS:
            setattr(target, field, getattr(source, field))
    if "document_numbering" in fields:
        if isinstance(target, BillingEntity):
            target.document_numbering = _entity_numbering(source.document_numbering)
        else:
            target.document_numbering = _org_numbering(source.document_numbering)


async def find_entity(
    session: AsyncSession, organization_id: uuid.UUID, code: str, *, for_update: bool = False
) -> BillingEntity:
    """The organization's entity with this code, or 404 billing_entity_not_found."""
    query = select(BillingEntity).where(
        BillingEntity.organization_id == organization_id, BillingEntity.code == code
    )
    entity = await session.scalar(query.with_for_update() if for_update else query)
    if entity is None:
        raise not_found("billing_entity")
    return entity


async def resolve_entity(
    session: AsyncSession, organization_id: uuid.UUID, code: str | None
) -> BillingEntity | None:
    """Lago's BillingEntities::ResolveService: the entity of `code` (404 when unknown),
    else the default one (None only for an organization made without one)."""
    if code:
        return await find_entity(session, organization_id, code)
    return await session.scalar(
        select(BillingEntity).where(
            BillingEntity.organization_id == organization_id, BillingEntity.is_default
        )
    )


async def entity_taxes(session: AsyncSession, entity: BillingEntity) -> list[Tax]:
    """The taxes applied to the invoices of the entity's customers (by code)."""
    if entity.is_default:
        query = select(Tax).where(
            Tax.organization_id == entity.organization_id, Tax.applied_to_organization
        )
    else:
        query = (
            select(Tax)
            .join(BillingEntityTax, BillingEntityTax.tax_id == Tax.id)
            .where(BillingEntityTax.billing_entity_id == entity.id)
        )
    return list(await session.scalars(query.order_by(Tax.code)))


async def replace_entity_taxes(
    session: AsyncSession, entity: BillingEntity, taxes: Sequence[Tax]
) -> None:
    """Make `taxes` exactly the entity's taxes (Lago's ManageTaxesService)."""
    if entity.is_default:
        wanted = {tax.id for tax in taxes}
        for tax in await session.scalars(
            select(Tax).where(Tax.organization_id == entity.organization_id)
        ):
            tax.applied_to_organization = tax.id in wanted
        return
    await session.execute(
        delete(BillingEntityTax).where(BillingEntityTax.billing_entity_id == entity.id)
    )
    for tax in taxes:
        session.add(
            BillingEntityTax(
                organization_id=entity.organization_id, billing_entity_id=entity.id, tax_id=tax.id
            )
        )


async def customer_entity(session: AsyncSession, customer: Customer) -> BillingEntity | None:
    """The customer's entity (its organization's default when it has none recorded)."""
    if customer.billing_entity_id is not None:
        return await session.get(BillingEntity, customer.billing_entity_id)
    return await session.scalar(
        select(BillingEntity).where(
            BillingEntity.organization_id == customer.organization_id, BillingEntity.is_default
        )
    )


# Columns an entity always has: a null in a request is refused, not stored.
REQUIRED = frozenset(
    {
        "name",
        "default_currency",
        "timezone",
        "net_payment_term",
        "document_numbering",
        "document_number_prefix",
        "finalize_zero_amount_invoice",
        "email_settings",
        "eu_tax_management",
        "invoice_grace_period",
        "document_locale",
        "subscription_invoice_issuing_date_anchor",
        "subscription_invoice_issuing_date_adjustment",
    }
)


def document_number_prefix(name: str, entity_id: uuid.UUID) -> str:
    """Lago's generated prefix: the name's first three letters and the id's last four."""
    letters = "".join(ch for ch in name.upper() if ch.isalnum())[:3] or "ENT"
    return f"{letters}-{entity_id.hex[-4:].upper()}"


def _check_required(changes: dict[str, Any]) -> None:
    missing = sorted(key for key, value in changes.items() if value is None and key in REQUIRED)
    if missing:
        raise validation_error({key: ["value_is_mandatory"] for key in missing})


def _assign(entity: BillingEntity, changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if (key == "country" and value is not None) or (
            key == "document_number_prefix" and value is not None
        ):
            value = value.upper()
        setattr(entity, key, value)


async def _check_code_free(session: AsyncSession, organization_id: uuid.UUID, code: str) -> None:
    taken = await session.scalar(
        select(BillingEntity.id).where(
            BillingEntity.organization_id == organization_id, BillingEntity.code == code
        )
    )
    if taken is not None:
        raise validation_error({"code": ["value_already_exist"]})


async def create_entity(
    session: AsyncSession, organization: Organization, code: str, changes: dict[str, Any]
) -> BillingEntity:
    """A new (non-default) entity; what `changes` leaves out takes Lago's defaults (a null
    prefix too: one is made from the name)."""
    _check_required({k: v for k, v in changes.items() if k != "document_number_prefix"})
    await _check_code_free(session, organization.id, code)
    entity_id = uuid.uuid4()
    entity = BillingEntity(
        id=entity_id,
        organization_id=organization.id,
        code=code,
        is_default=False,
        default_currency="USD",
        timezone="UTC",
        net_payment_term=0,
        document_numbering="per_customer",
        invoice_grace_period=0,
        document_locale="en",
        finalize_zero_amount_invoice=True,
        email_settings=[],
        eu_tax_management=False,
    )
    _assign(entity, changes)
    if not entity.document_number_prefix:
        entity.document_number_prefix = document_number_prefix(entity.name, entity_id)
    session.add(entity)
    return entity


async def update_entity(
    session: AsyncSession,
    organization: Organization,
    entity: BillingEntity,
    changes: dict[str, Any],
    taxes: Sequence[Tax] | None,
) -> None:
    """Change an entity (Lago's UpdateService); the default one's settings are the
    organization's too."""
    _check_required(changes)
    _assign(entity, changes)
    if taxes is not None:
        await replace_entity_taxes(session, entity, taxes)
    if entity.is_default:
        organization = await session.merge(organization)
        copy_shared(entity, organization, changes)


async def sync_default_entity(
    session: AsyncSession, organization: Organization, fields: Iterable[str]
) -> None:
    """The organization's settings changed: its default entity takes them too."""
    entity = await session.scalar(
        select(BillingEntity).where(
            BillingEntity.organization_id == organization.id, BillingEntity.is_default
        )
    )
    if entity is not None:
        copy_shared(organization, entity, list(fields))


async def entity_ids_for_codes(
    session: AsyncSession, organization_id: uuid.UUID, codes: Sequence[str] | None
) -> tuple[uuid.UUID, ...]:
    """The ids of the entities a list filter names (`billing_entity_codes[]`); 404
    billing_entity_not_found when one is unknown, as Lago's list routes answer."""
    wanted = set(codes or ())
    if not wanted:
        return ()
    ids = tuple(
        await session.scalars(
            select(BillingEntity.id).where(
                BillingEntity.organization_id == organization_id, BillingEntity.code.in_(wanted)
            )
        )
    )
    if len(ids) != len(wanted):
        raise not_found("billing_entity")
    return ids


async def issuing_party(
    session: AsyncSession, invoice: Invoice, organization: Organization
) -> BillingEntity | Organization:
    """Who issues the invoice, for its PDF: its billing entity; the organization for the
    default entity (whose settings are the organization's)."""
    if invoice.billing_entity_id is not None:
        entity = await session.get(BillingEntity, invoice.billing_entity_id)
        if entity is not None and not entity.is_default:
            return entity
    return organization
