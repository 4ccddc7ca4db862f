"""audit trail: activity logs and API logs, rows nobody can change

`activity_logs` holds one row per create, update or delete made through the API, the
portal or the CLI, written in the transaction of the change; `api_logs` one row per
POST/PUT/DELETE request to /api/v1, written in batches after the answer. Both follow
Lago's /activity_logs and /api_logs objects.

A trigger refuses every UPDATE, and every DELETE except inside the retention job, which
sets `SET LOCAL bxb.audit_retention = 'on'` in its own transaction. No foreign key to
organizations: an audit row outlives what it describes (a cascade would be refused).
`organizations.api_log_bodies` turns on the request and response bodies in API logs.

Revision ID: 0011c
Revises: 0011d
Create Date: 2026-12-05 19:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011c"
down_revision: str | None = "0011d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVITY_LOGS = """
CREATE TABLE activity_logs (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    activity_type varchar(64) NOT NULL,
    activity_source varchar(16) NOT NULL,
    actor_kind varchar(16) NOT NULL,
    actor_id uuid,
    actor_label varchar(255),
    user_email varchar(255),
    resource_type varchar(64) NOT NULL,
    resource_id uuid NOT NULL,
    external_customer_id varchar(255),
    external_subscription_id varchar(255),
    activity_object jsonb,
    activity_object_changes jsonb,
    logged_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""

API_LOGS = """
CREATE TABLE api_logs (
    request_id uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    api_version varchar(8) NOT NULL,
    client varchar(255) NOT NULL,
    http_method varchar(8) NOT NULL,
    http_status smallint NOT NULL,
    request_path varchar(2048) NOT NULL,
    request_origin varchar(2048) NOT NULL,
    request_body text,
    request_response text,
    duration_ms double precision NOT NULL,
    actor_kind varchar(16) NOT NULL,
    actor_id uuid,
    actor_label varchar(255),
    user_email varchar(255),
    logged_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""

INDEXES = (
    # The list: newest first within an organization, and the date filters.
    "CREATE INDEX ix_activity_logs_org_logged ON activity_logs "
    "(organization_id, logged_at DESC, id DESC)",
    "CREATE INDEX ix_activity_logs_org_resource ON activity_logs (organization_id, resource_id)",
    "CREATE INDEX ix_activity_logs_org_customer ON activity_logs "
    "(organization_id, external_customer_id, logged_at DESC) "
    "WHERE external_customer_id IS NOT NULL",
    "CREATE INDEX ix_activity_logs_org_subscription ON activity_logs "
    "(organization_id, external_subscription_id, logged_at DESC) "
    "WHERE external_subscription_id IS NOT NULL",
    "CREATE INDEX ix_activity_logs_org_type ON activity_logs "
    "(organization_id, activity_type, logged_at DESC)",
    # Retention deletes across organizations by age.
    "CREATE INDEX ix_activity_logs_logged ON activity_logs (logged_at)",
    "CREATE INDEX ix_api_logs_org_logged ON api_logs (organization_id, logged_at DESC, request_id)",
    "CREATE INDEX ix_api_logs_logged ON api_logs (logged_at)",
)

GUARD = """
CREATE FUNCTION audit_rows_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('bxb.audit_retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit rows can''t be changed (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    op.execute(ACTIVITY_LOGS)
    op.execute(API_LOGS)
    for index in INDEXES:
        op.execute(index)
    op.execute(GUARD)
    for table in ("activity_logs", "api_logs"):
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_rows_immutable()"
        )
    op.execute("ALTER TABLE organizations ADD COLUMN api_log_bodies boolean NOT NULL DEFAULT false")


def downgrade() -> None:
    op.execute("ALTER TABLE organizations DROP COLUMN api_log_bodies")
    op.execute("DROP TABLE api_logs")
    op.execute("DROP TABLE activity_logs")
    op.execute("DROP FUNCTION audit_rows_immutable()")
