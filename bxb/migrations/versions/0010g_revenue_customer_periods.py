"""revenue customer periods: each customer's revenue by quarter, by year and all time

Top customers over a calendar period read one row per customer from an index ordered by
amount, with LIMIT, instead of summing every customer's months. The rows are kept by a
trigger on `revenue_customer_monthly` (itself written only by the triggers of 0010a), in
the transaction of the change to the invoice, fee or credit note: each change of a
customer's month adds its difference to that customer's quarter, year and all-time rows,
so they stay the sums of the months at every commit (after voids, payments, credit
notes). `revenue_customer_monthly` gains the same top-N index for single months.

Existing months are summed into the new rows at upgrade (the trigger is created first,
in the same transaction: it locks the monthly table against writes until commit).

Revision ID: 0010g
Revises: 0010a
Create Date: 2026-12-05 12:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010g"
down_revision: str | None = "0010a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The all-time rows' period is 1970-01-01 (bxb.models.revenue_rollup.ALL_TIME_PERIOD).

TABLE = """
CREATE TABLE revenue_customer_periods (
    organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    currency varchar(3) NOT NULL,
    granularity varchar(8) NOT NULL,
    period date NOT NULL,
    customer_id uuid NOT NULL,
    amount_cents numeric(40, 15) NOT NULL DEFAULT 0,
    PRIMARY KEY (organization_id, currency, granularity, period, customer_id)
)
"""

INDEXES = (
    """
CREATE INDEX ix_revenue_customer_periods_top ON revenue_customer_periods
    (organization_id, currency, granularity, period, amount_cents DESC, customer_id)
    WHERE amount_cents <> 0
""",
    """
CREATE INDEX ix_revenue_customer_monthly_top ON revenue_customer_monthly
    (organization_id, currency, month, amount_cents DESC, customer_id)
    WHERE amount_cents <> 0
""",
)

APPLY = """
CREATE FUNCTION revenue_customer_period_apply(
    p_organization uuid, p_currency varchar, p_month date, p_customer uuid, p_amount numeric
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_amount = 0 THEN
        RETURN;
    END IF;
    -- Always in this order (quarter, year, all time): a fixed lock order per customer.
    INSERT INTO revenue_customer_periods AS p (
        organization_id, currency, granularity, period, customer_id, amount_cents
    ) VALUES
        (p_organization, p_currency, 'quarter', date_trunc('quarter', p_month)::date,
         p_customer, p_amount),
        (p_organization, p_currency, 'year', date_trunc('year', p_month)::date,
         p_customer, p_amount),
        (p_organization, p_currency, 'all_time', DATE '1970-01-01', p_customer, p_amount)
    ON CONFLICT (organization_id, currency, granularity, period, customer_id) DO UPDATE SET
        amount_cents = p.amount_cents + EXCLUDED.amount_cents;
END $$;
"""

# Monthly rows are only inserted and updated (0010a's upserts); they are deleted only with
# their organization, which takes its period rows with it (no DELETE branch, so a cascade
# never writes into a table it is emptying).
CHANGED = """
CREATE FUNCTION revenue_customer_monthly_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (
        OLD.organization_id, OLD.currency, OLD.month, OLD.customer_id
    ) IS NOT DISTINCT FROM (
        NEW.organization_id, NEW.currency, NEW.month, NEW.customer_id
    ) THEN
        PERFORM revenue_customer_period_apply(
            NEW.organization_id, NEW.currency, NEW.month, NEW.customer_id,
            NEW.amount_cents - OLD.amount_cents
        );
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM revenue_customer_period_apply(
            OLD.organization_id, OLD.currency, OLD.month, OLD.customer_id, -OLD.amount_cents
        );
    END IF;
    PERFORM revenue_customer_period_apply(
        NEW.organization_id, NEW.currency, NEW.month, NEW.customer_id, NEW.amount_cents
    );
    RETURN NULL;
END $$;
"""

TRIGGER = """
CREATE TRIGGER revenue_customer_periods AFTER INSERT OR UPDATE ON revenue_customer_monthly
    FOR EACH ROW EXECUTE FUNCTION revenue_customer_monthly_changed()
"""

BACKFILL = """
INSERT INTO revenue_customer_periods (
    organization_id, currency, granularity, period, customer_id, amount_cents
)
SELECT organization_id, currency, granularity, period, customer_id, sum(amount_cents)
FROM (
    SELECT organization_id, currency, 'quarter' AS granularity,
        date_trunc('quarter', month)::date AS period, customer_id, amount_cents
    FROM revenue_customer_monthly
    UNION ALL
    SELECT organization_id, currency, 'year', date_trunc('year', month)::date, customer_id,
        amount_cents
    FROM revenue_customer_monthly
    UNION ALL
    SELECT organization_id, currency, 'all_time', DATE '1970-01-01', customer_id, amount_cents
    FROM revenue_customer_monthly
) AS months
GROUP BY organization_id, currency, granularity, period, customer_id
HAVING sum(amount_cents) <> 0
"""


def upgrade() -> None:
    for statement in (TABLE, *INDEXES, APPLY, CHANGED, TRIGGER, BACKFILL):
        op.execute(statement)


def downgrade() -> None:
    for statement in (
        "DROP TRIGGER revenue_customer_periods ON revenue_customer_monthly",
        "DROP FUNCTION revenue_customer_monthly_changed()",
        "DROP FUNCTION revenue_customer_period_apply(uuid, varchar, date, uuid, numeric)",
        "DROP INDEX ix_revenue_customer_monthly_top",
        "DROP TABLE revenue_customer_periods",
    ):
        op.execute(statement)
