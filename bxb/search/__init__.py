"""Global search across customers, subscriptions, invoices, plans, credit notes, payments."""
