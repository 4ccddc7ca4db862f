"""Activity logs, written by the session that makes the change, in its transaction.

One place for every writer (routers, services, the portal, the CLI): session events.
Nothing is recorded unless `current_actor` is set, so the Temporal worker's own changes
(renewals, dunning, mirrored workflow state) leave no activity rows; a change a workflow
makes on a request's behalf is recorded by that request with `record_activity`.

- `after_flush` collects what the unit of work changed: new, changed (with each column's
  old and new value) and deleted rows of audited resources and of their parts.
- `do_orm_execute` covers ORM-enabled bulk UPDATE and DELETE statements on them: the rows
  the statement will touch are read first (same WHERE clause, same transaction).
- `before_commit` flushes, folds everything collected into one row per resource (a create
  then an update is one `created`), and inserts the activity rows; a rollback drops them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session

from bxb.governance.actor import Actor, current_actor
from bxb.governance.audit import resources
from bxb.models import ActivityLog, Customer, Subscription
from bxb.models.base import utcnow

PENDING = "bxb.audit.pending"

# Lago's activity_source: what a person used (front), a machine (api), or bxb itself.
SOURCES = {"api_key": "api", "member": "front", "portal": "front", "cli": "system"}


@dataclass
class Entry:
    """What one transaction did to one resource, so far."""

    model: type[Any]
    id: uuid.UUID
    op: str  # created | updated | deleted
    changes: dict[str, Any] = field(default_factory=dict)
    obj: Any = None  # the ORM object, when the unit of work had it
    final: dict[str, Any] | None = None  # the deleted row, kept before it went away
    verb: str | None = None  # forced by record_activity


@dataclass
class Pending:
    actor: Actor
    entries: dict[tuple[type[Any], uuid.UUID], Entry] = field(default_factory=dict)

    def note(self, entry: Entry) -> None:
        key = (entry.model, entry.id)
        seen = self.entries.get(key)
        if seen is None:
            self.entries[key] = entry
            return
        for name, (old, new) in entry.changes.items():
            seen.changes[name] = [seen.changes[name][0] if name in seen.changes else old, new]
        if entry.op == "deleted" and seen.op != "created":
            seen.op = "deleted"
        seen.obj = entry.obj or seen.obj
        seen.final = entry.final or seen.final
        seen.verb = entry.verb or seen.verb


def _pending(session: Session) -> Pending | None:
    actor = current_actor.get()
    if actor is None or actor.kind == "system":
        return None
    pending: Pending | None = session.info.get(PENDING)
    if pending is None:
        pending = session.info[PENDING] = Pending(actor)
    return pending


def _changes(obj: Any) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in resources.QUIET or resources.is_secret(key):
            continue
        history = state.attrs[key].history
        if history.added or history.deleted:
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old != new:
                changes[key] = [resources.plain(old), resources.plain(new)]
    return changes


def _note_part(pending: Pending, session: Session, part: Any, op: str, changes: Any) -> None:
    owner = resources.owner_of(part, session)
    if owner is None:
        return
    model, owner_id = owner
    label = f"{type(part).__tablename__}.{part.id}"
    detail = changes if op == "updated" else op
    pending.note(Entry(model, owner_id, "updated", {label: [None, detail]}))


def _note(session: Session, obj: Any, op: str, changes: dict[str, Any]) -> None:
    pending = _pending(session)
    if pending is None:
        return
    model = type(obj)
    if model in resources.PARTS:
        _note_part(pending, session, obj, op, changes)
        return
    if model not in resources.RESOURCES:
        return
    if op == "updated" and not changes:
        return
    deleted_at = changes.get("deleted_at")
    if deleted_at is not None and deleted_at[0] is None and deleted_at[1] is not None:
        op = "deleted"  # a soft delete (Lago discards catalog objects the same way)
    final = resources.snapshot(obj) if op == "deleted" else None
    pending.note(Entry(model, obj.id, op, changes, obj, final))


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if current_actor.get() is None:
        return
    for obj in session.new:
        _note(session, obj, "created", {})
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            _note(session, obj, "updated", _changes(obj))
    for obj in session.deleted:
        _note(session, obj, "deleted", {})


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete) or current_actor.get() is None:
        return
    mapper = state.bind_mapper
    if mapper is None:
        return
    model = mapper.class_
    if model not in resources.RESOURCES and model not in resources.PARTS:
        return
    where = getattr(state.statement, "whereclause", None)
    query = select(model)
    if where is not None:
        query = query.where(where)
    touched = state.session.execute(query).scalars().all()
    op = "deleted" if state.is_delete else "updated"
    values = getattr(state.statement, "_values", None) or {}
    changes = {
        getattr(column, "key", str(column)): [None, resources.plain(getattr(value, "value", None))]
        for column, value in values.items()
    }
    for obj in touched:
        named = {
            key: [resources.plain(getattr(obj, key, None)), new[1]] for key, new in changes.items()
        }
        _note(state.session, obj, op, named)


def record_activity(
    session: Session,
    obj: Any,
    op: str,
    *,
    verb: str | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Record a change this request asked for and something else carried out (a workflow
    activity creating the subscription): written with the session's next commit."""
    pending = _pending(session)
    if pending is None:
        return
    pending.note(Entry(type(obj), obj.id, op, dict(changes or {}), obj, None, verb))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if PENDING not in session.info and current_actor.get() is None:
        return
    session.flush()  # the last changes reach after_flush before the rows are written
    pending: Pending | None = session.info.pop(PENDING, None)
    if pending is None:
        return
    made = (_row(session, pending.actor, entry) for entry in pending.entries.values())
    rows = [row for row in made if row is not None]
    if rows:
        session.execute(insert(ActivityLog), rows)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)


def _row(session: Session, actor: Actor, entry: Entry) -> dict[str, Any] | None:
    obj = entry.obj
    if obj is None or inspect(obj).detached:
        obj = session.get(entry.model, entry.id)
    final = entry.final if entry.op == "deleted" else None
    if final is None and obj is not None:
        final = resources.snapshot(obj)
    if final is None:
        return None
    resource = resources.RESOURCES[entry.model]
    verb = entry.verb or resources.activity_verb(obj, entry.op, entry.changes)
    customer_id, subscription_id = _external_ids(session, obj, final)
    return {
        "id": uuid.uuid4(),
        "organization_id": actor.organization_id,
        "activity_type": f"{resource.prefix}.{verb}",
        "activity_source": SOURCES.get(actor.kind, "system"),
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "actor_label": actor.label,
        "user_email": actor.email,
        "resource_type": resource.type,
        "resource_id": entry.id,
        "external_customer_id": customer_id,
        "external_subscription_id": subscription_id,
        "activity_object": final,
        "activity_object_changes": entry.changes if entry.op == "updated" else None,
        "logged_at": utcnow(),
    }


def _external_ids(session: Session, obj: Any, row: dict[str, Any]) -> tuple[str | None, str | None]:
    if isinstance(obj, Customer):
        return obj.external_id, None
    if isinstance(obj, Subscription):
        return obj.external_customer_id, obj.external_id
    customer = subscription = None
    if row.get("customer_id"):
        found = session.get(Customer, uuid.UUID(row["customer_id"]))
        customer = found.external_id if found is not None else None
    if row.get("subscription_id"):
        sub = session.get(Subscription, uuid.UUID(row["subscription_id"]))
        subscription = sub.external_id if sub is not None else None
    return customer, subscription or row.get("subscription_external_id")
