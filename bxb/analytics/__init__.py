"""Analytics read from the ledger: Lago's six /analytics operations and bxb's dashboard.

Each figure is a plain async function `(session, organization_id, currency, ...)`, so the
API's routers stay thin and the overview composes them. Invoice-derived figures read the
rollups that PostgreSQL triggers keep (bxb.models.revenue_rollup); MRR figures read the
movements the subscription activities record (bxb.ledger.mrr_movements).
"""
