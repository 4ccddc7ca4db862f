"""Usage events: validation, the two event stores, group commit and bulk import."""
