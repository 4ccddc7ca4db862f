"""Lago's objects: the JSON shapes Lago's API answers and posts (CustomerObject,
InvoiceObject, ...), built from bxb's rows.

One module per Lago resource, named as Lago's OpenAPI names the objects. The API, the
webhooks (ledger/ and payments/ queue them) and the portal all answer with these, so they
sit below all three: they read models/, billing/ and ledger/, and never import bxb.api.
Request models and their validation stay with the API (bxb/api/schemas/).
"""
