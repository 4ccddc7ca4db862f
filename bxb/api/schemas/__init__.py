"""Request schemas and Lago response objects, one module per resource."""
