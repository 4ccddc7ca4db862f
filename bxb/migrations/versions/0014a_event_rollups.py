"""event_rollups: usage events rolled up per subscription, metric code and UTC hour

Revision ID: 0014a
Revises: 0012h
Create Date: 2026-12-06 05:00:00.000000

Current usage of a subscription with a million events in its period read them all; it
now reads whole hours from this rollup and only the raw events at the period's edges
(bxb.events.rollups). A statement-level trigger with a transition table adds each
insert's rows (only those actually inserted: an idempotent duplicate is not in the
transition table) as one upsert per bucket, in the inserting transaction. The upserts
lock their buckets in key order, so two concurrent batches never deadlock; batches of
different subscriptions never share a row.

A value is rolled up only when PostgreSQL's numeric and the pure core's Decimal read it
alike, whatever the JSON decoder does (`-?d{1,12}` or `-?d{1,9}.d{1,6}`, as a JSON number
or a string: at most 15 significant digits, so a float round-trips it, and sums stay
within Decimal's 28 digits); any other value present (a boolean, `1e-7`, ` 5`) is
counted in ``invalid_count`` and the bucket is read raw for sums and maxima.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014a"
down_revision: str | None = "0013s"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "event_rollups"

VALUE = r"'^-?([0-9]{1,12}|[0-9]{1,9}\.[0-9]{1,6})$'"

# The rows of {source} summed per bucket, in key order (the upserts' lock order).
ROLLUP = f"""
INSERT INTO event_rollups AS r (
    organization_id, external_subscription_id, code, bucket, field_name, mixed,
    events_count, values_count, values_sum, values_max, invalid_count
)
SELECT organization_id, external_subscription_id, code, bucket, min(field_name), false,
       count(*), count(v), coalesce(sum(v), 0), max(v), count(*) FILTER (WHERE invalid)
FROM (
    SELECT e.organization_id, e.external_subscription_id, e.code,
           date_trunc('hour', e.timestamp, 'UTC') AS bucket, m.field_name,
           CASE WHEN x.ok THEN x.t::numeric END AS v,
           (x.typ IS NOT NULL AND x.typ <> 'null' AND NOT coalesce(x.ok, false)) AS invalid
    FROM {{source}} e
    LEFT JOIN billable_metrics m
      ON m.organization_id = e.organization_id AND m.code = e.code AND m.deleted_at IS NULL
    CROSS JOIN LATERAL (SELECT e.properties -> m.field_name AS j) f
    CROSS JOIN LATERAL (
        SELECT jsonb_typeof(f.j) AS typ, t, t ~ {VALUE} AS ok
        FROM (
            SELECT CASE WHEN jsonb_typeof(f.j) IN ('number', 'string') THEN f.j #>> '{{}}' END
        ) AS tt(t)
    ) x
) s
GROUP BY organization_id, external_subscription_id, code, bucket
ORDER BY organization_id, external_subscription_id, code, bucket
ON CONFLICT (organization_id, external_subscription_id, code, bucket) DO UPDATE SET
    events_count = r.events_count + excluded.events_count,
    values_count = r.values_count + excluded.values_count,
    values_sum = r.values_sum + excluded.values_sum,
    values_max = greatest(r.values_max, excluded.values_max),
    invalid_count = r.invalid_count + excluded.invalid_count,
    mixed = r.mixed OR r.field_name IS DISTINCT FROM excluded.field_name
"""  # noqa: S608 - assembled from constants only

FUNCTION = f"""
CREATE FUNCTION event_rollups_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{ROLLUP.replace("{source}", "inserted")};
    RETURN NULL;
END
$$
"""

TRIGGER = """
CREATE TRIGGER event_rollups AFTER INSERT ON events
REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION event_rollups_add();
"""


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("external_subscription_id", sa.String(length=255), nullable=False),
        sa.Column("code", sa.String(length=255), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("field_name", sa.String(length=255), nullable=True),
        sa.Column("mixed", sa.Boolean(), nullable=False),
        sa.Column("events_count", sa.BigInteger(), nullable=False),
        sa.Column("values_count", sa.BigInteger(), nullable=False),
        sa.Column("values_sum", sa.Numeric(), nullable=False),
        sa.Column("values_max", sa.Numeric(), nullable=True),
        sa.Column("invalid_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "organization_id",
            "external_subscription_id",
            "code",
            "bucket",
            name=op.f("pk_event_rollups"),
        ),
    )
    # The events stored so far, then every insert from now on (one transaction).
    op.execute(ROLLUP.replace("{source}", "events"))
    op.execute(FUNCTION)
    op.execute(TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER event_rollups ON events")
    op.execute("DROP FUNCTION event_rollups_add()")
    op.drop_table(TABLE)
