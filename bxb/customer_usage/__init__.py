"""A customer's usage: current (the open period so far), projected to the period's end,
and past (invoiced periods). One computation of current usage, shared by
`/customers/{id}/current_usage`, `/projected_usage` and the portal."""
