"""What a subscription does when new usage arrives (issue 10).

Ingestion stores events exactly as before. After the commit, a watcher (in the API
process) signals the workflows of subscriptions that care, coalesced: at most one signal per
subscription per short window. The workflow, woken, runs one activity (`react_to_usage`)
which calls each reaction below in order, each in its own transaction and idempotent on a
business key, so a repeated signal changes nothing:

- instant fees     (pay-in-advance charges; key: the event's transaction id)
- progressive      (usage thresholds; key: threshold, period)
- alerts           (usage and lifetime alerts; key: alert, threshold, period)
- late events      (events of periods already invoiced; key: the period and what changed)

A reaction is `async def react(sessions, events, context) -> list[BillingResult]`: the
invoices it created that the workflow has to finalize and collect (none for most).
"""
