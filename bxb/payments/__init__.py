"""Collecting invoices: payment providers (Stripe, manual) and payment attempts."""
