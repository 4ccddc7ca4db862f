"""rate limits and idempotency keys

`rate_limit_overrides`: an organization's limits per route class (events, reads, writes)
where they differ from the settings' defaults. `rate_limit_counters`: the request counts
shared by every API process, per key, route class and window; UNLOGGED because a count
lost in a crash is worth less than the WAL it would cost on the ingestion path.
`idempotency_keys`: the first answer to a POST sent with an `Idempotency-Key` header.

Revision ID: 0011d
Revises: 0011f
Create Date: 2026-12-05 19:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011d"
down_revision: str | None = "0011f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATEMENTS = (
    """
CREATE TABLE rate_limit_overrides (
    organization_id uuid NOT NULL,
    route_class varchar(8) NOT NULL,
    "limit" integer NOT NULL,
    period integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_rate_limit_overrides PRIMARY KEY (organization_id, route_class),
    CONSTRAINT fk_rate_limit_overrides_organization_id_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE CASCADE
)
""",
    """
CREATE UNLOGGED TABLE rate_limit_counters (
    key_id uuid NOT NULL,
    route_class varchar(8) NOT NULL,
    window_end bigint NOT NULL,
    count bigint NOT NULL,
    CONSTRAINT pk_rate_limit_counters PRIMARY KEY (key_id, route_class, window_end)
)
""",
    """
CREATE TABLE idempotency_keys (
    id uuid NOT NULL,
    credential_digest varchar(64) NOT NULL,
    key varchar(255) NOT NULL,
    fingerprint varchar(64) NOT NULL,
    organization_id uuid,
    finished_at timestamptz,
    locked_until timestamptz NOT NULL,
    status_code integer,
    content_type varchar(255),
    response_body bytea,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    CONSTRAINT pk_idempotency_keys PRIMARY KEY (id),
    CONSTRAINT uq_idempotency_keys_credential_digest_key UNIQUE (credential_digest, key),
    CONSTRAINT fk_idempotency_keys_organization_id_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations(id) ON DELETE CASCADE
)
""",
    "CREATE INDEX ix_idempotency_keys_organization_id ON idempotency_keys (organization_id)",
    "CREATE INDEX ix_idempotency_keys_expires_at ON idempotency_keys (expires_at)",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("idempotency_keys", "rate_limit_counters", "rate_limit_overrides"):
        op.execute(f"DROP TABLE {table}")
