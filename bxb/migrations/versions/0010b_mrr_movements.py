"""mrr movements and subscription trials (issue 11)

Subscriptions' MRR changes are recorded as they happen (bxb.ledger.mrr_movements). The
subscriptions already active get one `new` movement (a customer's first subscription in
a currency; its others are `expansion`) at their start, or their trial's end; those in a
trial get an open trial row. Weekly plans count x 52 / 12, quarterly / 3, semiannual / 6,
yearly / 12, rounded half-up (bxb.billing.mrr). mrr_monthly_totals sums the movements per
organization, currency, month and kind (the dashboard's reads).

Revision ID: 0010b
Revises: 0009b
Create Date: 2026-12-05 11:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010b"
down_revision: str | None = "0009b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def _references(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f(f"fk_{table}_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f(f"fk_{table}_subscription_id_subscriptions"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f(f"fk_{table}_customer_id_customers")
        ),
    ]


# Monthly amount of a plan fee, as bxb.billing.mrr.monthly_amount_cents (half-up).
MONTHLY = """
    CASE p.interval
        WHEN 'weekly' THEN round(s.plan_amount_cents * 52 / 12.0)
        WHEN 'quarterly' THEN round(s.plan_amount_cents / 3.0)
        WHEN 'semiannual' THEN round(s.plan_amount_cents / 6.0)
        WHEN 'yearly' THEN round(s.plan_amount_cents / 12.0)
        ELSE s.plan_amount_cents
    END::bigint
"""
TRIALING = "(coalesce(p.trial_period, 0) > 0 AND s.trial_ended_at IS NULL)"

BACKFILL_MOVEMENTS = f"""
INSERT INTO mrr_movements (
    id, organization_id, subscription_id, external_subscription_id, customer_id, currency,
    occurred_at, kind, seq, mrr_before_cents, mrr_after_cents, delta_cents,
    customer_mrr_after_cents, plan_code_before, plan_code_after, trial_conversion
)
SELECT
    gen_random_uuid(), organization_id, id, external_id, customer_id, currency, occurred_at,
    CASE WHEN rank = 1 THEN 'new' ELSE 'expansion' END, 1, 0, mrr, mrr,
    sum(mrr) OVER (
        PARTITION BY organization_id, customer_id, currency ORDER BY occurred_at, id
    ),
    NULL, plan_code, trial_ended_at IS NOT NULL AND trial_ended_at = occurred_at
FROM (
    SELECT s.*, s.plan_amount_currency AS currency,
        greatest(s.started_at, coalesce(s.trial_ended_at, s.started_at)) AS occurred_at,
        {MONTHLY} AS mrr,
        row_number() OVER (
            PARTITION BY s.organization_id, s.customer_id, s.plan_amount_currency
            ORDER BY greatest(s.started_at, coalesce(s.trial_ended_at, s.started_at)), s.id
        ) AS rank
    FROM subscriptions s JOIN plans p ON p.id = s.plan_id
    WHERE s.status = 'active' AND s.started_at IS NOT NULL AND NOT {TRIALING}
) active
WHERE mrr <> 0
"""  # noqa: S608 - constant SQL

BACKFILL_TRIALS = f"""
INSERT INTO subscription_trials (
    id, organization_id, subscription_id, external_subscription_id, customer_id, currency,
    started_at
)
SELECT gen_random_uuid(), s.organization_id, s.id, s.external_id, s.customer_id,
    s.plan_amount_currency, s.started_at
FROM subscriptions s JOIN plans p ON p.id = s.plan_id
WHERE s.status IN ('active', 'paused') AND s.started_at IS NOT NULL AND {TRIALING}
"""  # noqa: S608 - constant SQL


BACKFILL_TOTALS = """
INSERT INTO mrr_monthly_totals (
    id, organization_id, currency, month, kind, movements, delta_cents
)
SELECT gen_random_uuid(), organization_id, currency, date_trunc('month', occurred_at, 'UTC'),
    kind, count(*), sum(delta_cents)
FROM mrr_movements
GROUP BY organization_id, currency, date_trunc('month', occurred_at, 'UTC'), kind
"""


def upgrade() -> None:
    op.create_table(
        "mrr_movements",
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("external_subscription_id", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("mrr_before_cents", sa.BigInteger(), nullable=False),
        sa.Column("mrr_after_cents", sa.BigInteger(), nullable=False),
        sa.Column("delta_cents", sa.BigInteger(), nullable=False),
        sa.Column("customer_mrr_after_cents", sa.BigInteger(), nullable=False),
        sa.Column("plan_code_before", sa.String(length=255), nullable=True),
        sa.Column("plan_code_after", sa.String(length=255), nullable=True),
        sa.Column("trial_conversion", sa.Boolean(), nullable=False),
        *_tenant_columns(),
        *_references("mrr_movements"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mrr_movements")),
        sa.UniqueConstraint(
            "organization_id",
            "external_subscription_id",
            "seq",
            name=op.f("uq_mrr_movements_organization_id_external_subscription_id_seq"),
        ),
    )
    op.create_index(op.f("ix_mrr_movements_organization_id"), "mrr_movements", ["organization_id"])
    op.create_index(
        "ix_mrr_movements_org_occurred", "mrr_movements", ["organization_id", "occurred_at"]
    )
    op.create_index(
        "ix_mrr_movements_org_customer",
        "mrr_movements",
        ["organization_id", "customer_id", "currency"],
    )
    op.create_table(
        "subscription_trials",
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("external_subscription_id", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("converted_at", sa.DateTime(timezone=True), nullable=True),
        *_tenant_columns(),
        *_references("subscription_trials"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_trials")),
        sa.UniqueConstraint(
            "organization_id",
            "external_subscription_id",
            "started_at",
            name="uq_subscription_trials_business_key",
        ),
    )
    op.create_index(
        op.f("ix_subscription_trials_organization_id"), "subscription_trials", ["organization_id"]
    )
    op.create_index(
        "ix_subscription_trials_org_currency_started",
        "subscription_trials",
        ["organization_id", "currency", "started_at"],
    )
    op.create_table(
        "mrr_monthly_totals",
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("month", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("movements", sa.Integer(), nullable=False),
        sa.Column("delta_cents", sa.BigInteger(), nullable=False),
        *_tenant_columns(),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_mrr_monthly_totals_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mrr_monthly_totals")),
        sa.UniqueConstraint(
            "organization_id", "currency", "month", "kind", name="uq_mrr_monthly_totals_key"
        ),
    )
    op.create_index(
        op.f("ix_mrr_monthly_totals_organization_id"), "mrr_monthly_totals", ["organization_id"]
    )
    op.execute(BACKFILL_MOVEMENTS)
    op.execute(BACKFILL_TRIALS)
    op.execute(BACKFILL_TOTALS)


def downgrade() -> None:
    op.drop_table("mrr_monthly_totals")
    op.drop_table("subscription_trials")
    op.drop_table("mrr_movements")
