"""bxb: billing and metering where every subscription is a durable Temporal workflow."""
