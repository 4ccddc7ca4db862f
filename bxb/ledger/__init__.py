"""The ledger's rules that touch PostgreSQL: invoicing, credits, wallets, numbering.

Called from activities and from the API (never from workflows). Pure money math stays in
billing/; these modules load rows, call billing/, and write the results in the caller's
transaction.
"""
