"""Analytics read from the ledger: Lago's six /analytics operations and bxb's dashboard.

Each figure is a plain async function `(session, organization_id, currency, ...)`, so the
API's routers stay thin and an overview can compose them. Invoice-derived figures read
the rollups that PostgreSQL triggers keep (bxb.models.revenue_rollup).
"""
