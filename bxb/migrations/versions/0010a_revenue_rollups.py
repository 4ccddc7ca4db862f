"""revenue rollups: daily invoice, fee, outstanding and customer-month aggregates

Kept by PostgreSQL triggers on invoices, fees and credit_notes, in the transaction of
every change, whatever code path makes it (docs/analytics.md, "Revenue", says how they
stay exact). Each trigger takes back the contribution of the old row and adds that of
the new one, so a rollup always equals its definition over the rows as they are:

- an invoice counts while it is `finalized` (a void takes it, its fees and its credit
  notes back out of every rollup, on the days they were counted);
- a fee counts while its invoice counts, or, with no invoice, when it is a pay-in-advance
  fee (Lago's instant charge, on the day it was created);
- a credit note counts while its invoice counts.

Existing rows are rolled up at upgrade.

Revision ID: 0010a
Revises: 0009b
Create Date: 2026-12-05 12:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010a"
down_revision: str | None = "0009b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = """
CREATE TABLE revenue_invoice_daily (
    organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    currency varchar(3) NOT NULL,
    day date NOT NULL,
    invoices_count bigint NOT NULL DEFAULT 0,
    total_amount_cents bigint NOT NULL DEFAULT 0,
    pending_count bigint NOT NULL DEFAULT 0,
    pending_amount_cents bigint NOT NULL DEFAULT 0,
    succeeded_count bigint NOT NULL DEFAULT 0,
    succeeded_amount_cents bigint NOT NULL DEFAULT 0,
    failed_count bigint NOT NULL DEFAULT 0,
    failed_amount_cents bigint NOT NULL DEFAULT 0,
    refund_amount_cents bigint NOT NULL DEFAULT 0,
    credit_notes_count bigint NOT NULL DEFAULT 0,
    credit_notes_amount_cents bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (organization_id, currency, day)
);
CREATE TABLE revenue_fee_daily (
    organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    currency varchar(3) NOT NULL,
    day date NOT NULL,
    category varchar(16) NOT NULL,
    plan_code varchar(255) NOT NULL DEFAULT '',
    metric_code varchar(255) NOT NULL DEFAULT '',
    plan_interval varchar(16) NOT NULL DEFAULT '',
    pay_in_advance boolean NOT NULL DEFAULT false,
    period_seconds bigint NOT NULL DEFAULT 0,
    fees_count bigint NOT NULL DEFAULT 0,
    amount_cents numeric(40, 15) NOT NULL DEFAULT 0,
    taxes_amount_cents bigint NOT NULL DEFAULT 0,
    units numeric(40, 15) NOT NULL DEFAULT 0,
    PRIMARY KEY (
        organization_id, currency, day, category, plan_code, metric_code,
        plan_interval, pay_in_advance, period_seconds
    )
);
CREATE TABLE revenue_customer_monthly (
    organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    currency varchar(3) NOT NULL,
    month date NOT NULL,
    customer_id uuid NOT NULL,
    amount_cents numeric(40, 15) NOT NULL DEFAULT 0,
    PRIMARY KEY (organization_id, currency, month, customer_id)
);
CREATE TABLE revenue_outstanding_daily (
    organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    currency varchar(3) NOT NULL,
    due_date date NOT NULL,
    invoices_count bigint NOT NULL DEFAULT 0,
    amount_cents bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (organization_id, currency, due_date)
);
CREATE INDEX ix_invoices_org_payment_overdue
    ON invoices (organization_id, currency, payment_due_date)
    INCLUDE (id, total_amount_cents, total_paid_amount_cents)
    WHERE payment_overdue AND status = 'finalized';
CREATE INDEX ix_fees_org_charge_from ON fees (organization_id, from_datetime)
    WHERE fee_type = 'charge';
CREATE INDEX ix_fees_org_instant ON fees (organization_id, created_at)
    WHERE invoice_id IS NULL AND pay_in_advance;
"""

INVOICE_APPLY = """
CREATE FUNCTION revenue_invoice_apply(inv invoices, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF inv.id IS NULL OR inv.status <> 'finalized' THEN
        RETURN;
    END IF;
    INSERT INTO revenue_invoice_daily AS r (
        organization_id, currency, day, invoices_count, total_amount_cents,
        pending_count, pending_amount_cents, succeeded_count, succeeded_amount_cents,
        failed_count, failed_amount_cents
    ) VALUES (
        inv.organization_id, inv.currency, inv.issuing_date, sign,
        sign * inv.total_amount_cents,
        CASE WHEN inv.payment_status = 'pending' THEN sign ELSE 0 END,
        CASE WHEN inv.payment_status = 'pending' THEN sign * inv.total_amount_cents ELSE 0 END,
        CASE WHEN inv.payment_status = 'succeeded' THEN sign ELSE 0 END,
        CASE WHEN inv.payment_status = 'succeeded' THEN sign * inv.total_amount_cents
             ELSE 0 END,
        CASE WHEN inv.payment_status = 'failed' THEN sign ELSE 0 END,
        CASE WHEN inv.payment_status = 'failed' THEN sign * inv.total_amount_cents ELSE 0 END
    )
    ON CONFLICT (organization_id, currency, day) DO UPDATE SET
        invoices_count = r.invoices_count + EXCLUDED.invoices_count,
        total_amount_cents = r.total_amount_cents + EXCLUDED.total_amount_cents,
        pending_count = r.pending_count + EXCLUDED.pending_count,
        pending_amount_cents = r.pending_amount_cents + EXCLUDED.pending_amount_cents,
        succeeded_count = r.succeeded_count + EXCLUDED.succeeded_count,
        succeeded_amount_cents = r.succeeded_amount_cents + EXCLUDED.succeeded_amount_cents,
        failed_count = r.failed_count + EXCLUDED.failed_count,
        failed_amount_cents = r.failed_amount_cents + EXCLUDED.failed_amount_cents;
    IF inv.payment_status <> 'succeeded' AND inv.payment_due_date IS NOT NULL
       AND inv.total_amount_cents > inv.total_paid_amount_cents THEN
        INSERT INTO revenue_outstanding_daily AS o (
            organization_id, currency, due_date, invoices_count, amount_cents
        ) VALUES (
            inv.organization_id, inv.currency, inv.payment_due_date, sign,
            sign * (inv.total_amount_cents - inv.total_paid_amount_cents)
        )
        ON CONFLICT (organization_id, currency, due_date) DO UPDATE SET
            invoices_count = o.invoices_count + EXCLUDED.invoices_count,
            amount_cents = o.amount_cents + EXCLUDED.amount_cents;
    END IF;
END $$;
"""

FEE_APPLY = """
CREATE FUNCTION revenue_fee_apply(f fees, inv invoices, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_category varchar(16);
    v_on_day date;
    v_customer uuid;
    v_plan varchar(255) := '';
    v_metric varchar(255) := '';
    v_plan_interval varchar(16) := '';
    v_advance boolean := false;
    v_seconds bigint := 0;
    v_net numeric;
BEGIN
    IF f.invoice_id IS NULL THEN
        IF NOT f.pay_in_advance THEN
            RETURN;
        END IF;
        v_category := 'instant';
        v_on_day := (f.created_at AT TIME ZONE 'UTC')::date;
        SELECT s.customer_id INTO v_customer FROM subscriptions s
        WHERE s.id = f.subscription_id;
    ELSE
        IF inv.id IS NULL OR inv.status <> 'finalized' THEN
            RETURN;
        END IF;
        v_category := f.fee_type;
        v_on_day := inv.issuing_date;
        v_customer := inv.customer_id;
    END IF;
    IF f.fee_type IN ('subscription', 'commitment') THEN
        v_plan := f.item_code;
    ELSIF f.charge_id IS NOT NULL THEN
        v_metric := f.item_code;
        SELECT p.code INTO v_plan FROM charges c JOIN plans p ON p.id = c.plan_id
        WHERE c.id = f.charge_id;
    ELSIF f.fixed_charge_id IS NOT NULL THEN
        SELECT p.code INTO v_plan FROM fixed_charges c JOIN plans p ON p.id = c.plan_id
        WHERE c.id = f.fixed_charge_id;
    END IF;
    v_plan := COALESCE(v_plan, '');
    IF f.fee_type = 'subscription' THEN
        SELECT p.interval, p.pay_in_advance INTO v_plan_interval, v_advance FROM plans p
        WHERE p.organization_id = f.organization_id AND p.code = f.item_code
        ORDER BY p.parent_id IS NOT NULL, p.created_at LIMIT 1;
        v_plan_interval := COALESCE(v_plan_interval, '');
        v_advance := COALESCE(v_advance, false);
        v_seconds := COALESCE(EXTRACT(EPOCH FROM f.to_datetime - f.from_datetime)::bigint, 0);
    END IF;
    v_net := f.amount_cents - f.precise_coupons_amount_cents;
    INSERT INTO revenue_fee_daily AS r (
        organization_id, currency, day, category, plan_code, metric_code, plan_interval,
        pay_in_advance, period_seconds, fees_count, amount_cents, taxes_amount_cents, units
    ) VALUES (
        f.organization_id, f.amount_currency, v_on_day, v_category, v_plan, v_metric,
        v_plan_interval, v_advance, v_seconds, sign, sign * v_net, sign * f.taxes_amount_cents,
        sign * f.units
    )
    ON CONFLICT (
        organization_id, currency, day, category, plan_code, metric_code, plan_interval,
        pay_in_advance, period_seconds
    ) DO UPDATE SET
        fees_count = r.fees_count + EXCLUDED.fees_count,
        amount_cents = r.amount_cents + EXCLUDED.amount_cents,
        taxes_amount_cents = r.taxes_amount_cents + EXCLUDED.taxes_amount_cents,
        units = r.units + EXCLUDED.units;
    IF v_category <> 'credit' AND v_customer IS NOT NULL THEN
        INSERT INTO revenue_customer_monthly AS m (
            organization_id, currency, month, customer_id, amount_cents
        ) VALUES (
            f.organization_id, f.amount_currency, date_trunc('month', v_on_day)::date,
            v_customer, sign * v_net
        )
        ON CONFLICT (organization_id, currency, month, customer_id) DO UPDATE SET
            amount_cents = m.amount_cents + EXCLUDED.amount_cents;
    END IF;
END $$;
"""

CREDIT_NOTE_APPLY = """
CREATE FUNCTION revenue_credit_note_apply(cn credit_notes, inv invoices, sign integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF cn.id IS NULL OR inv.id IS NULL OR inv.status <> 'finalized' THEN
        RETURN;
    END IF;
    INSERT INTO revenue_invoice_daily AS r (
        organization_id, currency, day, refund_amount_cents
    ) VALUES (
        cn.organization_id, inv.currency, inv.issuing_date, sign * cn.refund_amount_cents
    )
    ON CONFLICT (organization_id, currency, day) DO UPDATE SET
        refund_amount_cents = r.refund_amount_cents + EXCLUDED.refund_amount_cents;
    INSERT INTO revenue_invoice_daily AS r (
        organization_id, currency, day, credit_notes_count, credit_notes_amount_cents
    ) VALUES (
        cn.organization_id, cn.currency, cn.issuing_date, sign,
        sign * cn.sub_total_excluding_taxes_amount_cents
    )
    ON CONFLICT (organization_id, currency, day) DO UPDATE SET
        credit_notes_count = r.credit_notes_count + EXCLUDED.credit_notes_count,
        credit_notes_amount_cents =
            r.credit_notes_amount_cents + EXCLUDED.credit_notes_amount_cents;
    INSERT INTO revenue_customer_monthly AS m (
        organization_id, currency, month, customer_id, amount_cents
    ) VALUES (
        cn.organization_id, cn.currency, date_trunc('month', cn.issuing_date)::date,
        cn.customer_id, -sign * cn.sub_total_excluding_taxes_amount_cents
    )
    ON CONFLICT (organization_id, currency, month, customer_id) DO UPDATE SET
        amount_cents = m.amount_cents + EXCLUDED.amount_cents;
END $$;
"""

TRIGGERS = """
CREATE FUNCTION revenue_invoices_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    f fees;
    cn credit_notes;
    rekey boolean;
BEGIN
    IF TG_OP = 'UPDATE' AND (
        OLD.status, OLD.issuing_date, OLD.currency, OLD.customer_id, OLD.payment_status,
        OLD.total_amount_cents, OLD.total_paid_amount_cents, OLD.payment_due_date
    ) IS NOT DISTINCT FROM (
        NEW.status, NEW.issuing_date, NEW.currency, NEW.customer_id, NEW.payment_status,
        NEW.total_amount_cents, NEW.total_paid_amount_cents, NEW.payment_due_date
    ) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM revenue_invoice_apply(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM revenue_invoice_apply(NEW, 1);
    END IF;
    IF TG_OP = 'INSERT' THEN
        RETURN NULL;  -- no fee or credit note can point at it yet
    END IF;
    rekey := TG_OP = 'DELETE' OR (
        OLD.status, OLD.issuing_date, OLD.currency, OLD.customer_id
    ) IS DISTINCT FROM (NEW.status, NEW.issuing_date, NEW.currency, NEW.customer_id);
    IF NOT rekey OR (
        OLD.status <> 'finalized' AND (TG_OP = 'DELETE' OR NEW.status <> 'finalized')
    ) THEN
        RETURN NULL;
    END IF;
    FOR f IN SELECT * FROM fees WHERE invoice_id = OLD.id ORDER BY id LOOP
        PERFORM revenue_fee_apply(f, OLD, -1);
        IF TG_OP = 'UPDATE' THEN
            PERFORM revenue_fee_apply(f, NEW, 1);
        END IF;
    END LOOP;
    FOR cn IN SELECT * FROM credit_notes WHERE invoice_id = OLD.id ORDER BY id LOOP
        PERFORM revenue_credit_note_apply(cn, OLD, -1);
        IF TG_OP = 'UPDATE' THEN
            PERFORM revenue_credit_note_apply(cn, NEW, 1);
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
--
CREATE FUNCTION revenue_fees_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    inv invoices;
BEGIN
    IF TG_OP = 'UPDATE' AND (
        OLD.invoice_id, OLD.fee_type, OLD.item_code, OLD.amount_cents,
        OLD.precise_coupons_amount_cents, OLD.taxes_amount_cents, OLD.units,
        OLD.amount_currency, OLD.charge_id, OLD.fixed_charge_id, OLD.subscription_id,
        OLD.pay_in_advance, OLD.from_datetime, OLD.to_datetime, OLD.created_at
    ) IS NOT DISTINCT FROM (
        NEW.invoice_id, NEW.fee_type, NEW.item_code, NEW.amount_cents,
        NEW.precise_coupons_amount_cents, NEW.taxes_amount_cents, NEW.units,
        NEW.amount_currency, NEW.charge_id, NEW.fixed_charge_id, NEW.subscription_id,
        NEW.pay_in_advance, NEW.from_datetime, NEW.to_datetime, NEW.created_at
    ) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        inv := NULL;
        IF OLD.invoice_id IS NOT NULL THEN
            SELECT * INTO inv FROM invoices WHERE id = OLD.invoice_id;
        END IF;
        PERFORM revenue_fee_apply(OLD, inv, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        inv := NULL;
        IF NEW.invoice_id IS NOT NULL THEN
            SELECT * INTO inv FROM invoices WHERE id = NEW.invoice_id;
        END IF;
        PERFORM revenue_fee_apply(NEW, inv, 1);
    END IF;
    RETURN NULL;
END $$;
--
CREATE FUNCTION revenue_credit_notes_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    inv invoices;
BEGIN
    IF TG_OP = 'UPDATE' AND (
        OLD.invoice_id, OLD.currency, OLD.issuing_date, OLD.refund_amount_cents,
        OLD.sub_total_excluding_taxes_amount_cents, OLD.customer_id
    ) IS NOT DISTINCT FROM (
        NEW.invoice_id, NEW.currency, NEW.issuing_date, NEW.refund_amount_cents,
        NEW.sub_total_excluding_taxes_amount_cents, NEW.customer_id
    ) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        inv := NULL;
        SELECT * INTO inv FROM invoices WHERE id = OLD.invoice_id;
        PERFORM revenue_credit_note_apply(OLD, inv, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        inv := NULL;
        SELECT * INTO inv FROM invoices WHERE id = NEW.invoice_id;
        PERFORM revenue_credit_note_apply(NEW, inv, 1);
    END IF;
    RETURN NULL;
END $$;
--
CREATE TRIGGER revenue_rollups AFTER INSERT OR UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION revenue_invoices_changed();
--
CREATE TRIGGER revenue_rollups AFTER INSERT OR UPDATE OR DELETE ON fees
    FOR EACH ROW EXECUTE FUNCTION revenue_fees_changed();
--
CREATE TRIGGER revenue_rollups AFTER INSERT OR UPDATE OR DELETE ON credit_notes
    FOR EACH ROW EXECUTE FUNCTION revenue_credit_notes_changed();
"""

# Rolls up the rows that exist: each invoice, then each fee, then each credit note.
BACKFILL = """
DO $$
DECLARE
    inv invoices;
    f fees;
    cn credit_notes;
BEGIN
    FOR inv IN SELECT * FROM invoices LOOP
        PERFORM revenue_invoice_apply(inv, 1);
    END LOOP;
    FOR f IN SELECT * FROM fees LOOP
        inv := NULL;
        IF f.invoice_id IS NOT NULL THEN
            SELECT * INTO inv FROM invoices WHERE id = f.invoice_id;
        END IF;
        PERFORM revenue_fee_apply(f, inv, 1);
    END LOOP;
    FOR cn IN SELECT * FROM credit_notes LOOP
        SELECT * INTO inv FROM invoices WHERE id = cn.invoice_id;
        PERFORM revenue_credit_note_apply(cn, inv, 1);
    END LOOP;
END $$;
"""


def _statements() -> list[str]:
    tables = [part for part in TABLES.split(";\n") if part.strip()]
    triggers = [part for part in TRIGGERS.split("\n--\n") if part.strip()]
    return [*tables, INVOICE_APPLY, FEE_APPLY, CREDIT_NOTE_APPLY, *triggers, BACKFILL]


def upgrade() -> None:
    for statement in _statements():
        op.execute(statement)


def downgrade() -> None:
    for statement in (
        "DROP TRIGGER revenue_rollups ON credit_notes",
        "DROP TRIGGER revenue_rollups ON fees",
        "DROP TRIGGER revenue_rollups ON invoices",
        "DROP FUNCTION revenue_credit_notes_changed()",
        "DROP FUNCTION revenue_fees_changed()",
        "DROP FUNCTION revenue_invoices_changed()",
        "DROP FUNCTION revenue_credit_note_apply(credit_notes, invoices, integer)",
        "DROP FUNCTION revenue_fee_apply(fees, invoices, integer)",
        "DROP FUNCTION revenue_invoice_apply(invoices, integer)",
        "DROP INDEX ix_fees_org_instant",
        "DROP INDEX ix_fees_org_charge_from",
        "DROP INDEX ix_invoices_org_payment_overdue",
        "DROP TABLE revenue_outstanding_daily",
        "DROP TABLE revenue_customer_monthly",
        "DROP TABLE revenue_fee_daily",
        "DROP TABLE revenue_invoice_daily",
    ):
        op.execute(statement)
