"""Outgoing webhooks: an outbox written with the change, delivered by Temporal."""
