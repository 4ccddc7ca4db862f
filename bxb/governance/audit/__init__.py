"""The audit trail: activity logs written with each change, API logs written after each call.

- `recorder`: session events that turn what an actor's transaction changes into activity
  rows, inserted in that transaction (`install` once per process; `record_activity` for
  changes made elsewhere on the request's behalf, e.g. by a subscription's workflow).
- `resources`: which bxb models are Lago resources, and how their changes are named.
- `api_logs`: the pure-ASGI middleware and the batch writer behind /api_logs.
- `retention`: deletes rows older than the retention setting (a Temporal schedule).
"""
