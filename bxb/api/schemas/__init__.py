"""Request schemas and their validation, one module per resource (the objects answered
are built in bxb.lago_objects)."""
