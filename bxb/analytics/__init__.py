"""Analytics: figures read from the ledger, as plain async functions the API composes."""
