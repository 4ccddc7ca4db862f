"""Running a CLI command as the `cli` actor, so what it changes is in the audit trail.

    with as_cli(organization_id):
        async with transaction(sessions) as session:
            ...  # changes here are logged: actor_kind "cli", activity_source "system"

The label names the operating-system user who ran the command (`cli:<user>`).
"""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from bxb.governance.actor import Actor, Role, acting_as
from bxb.governance.audit import recorder  # noqa: F401 - installs the activity-log events


def cli_actor(organization_id: uuid.UUID) -> Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        user = "unknown"
    return Actor(organization_id, Role.ADMIN, "cli", label=f"cli:{user}")


@contextmanager
def as_cli(organization_id: uuid.UUID) -> Iterator[Actor]:
    with acting_as(cli_actor(organization_id)) as actor:
        yield actor
