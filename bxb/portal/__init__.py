"""The customer portal: tokens that let one customer of one organization in, the
dependency that admits them (`bxb.portal.auth.current_portal_customer`), and the shapes a
customer may see (`bxb.portal.shapes`). Routes live in bxb/api/portal_*.py under
/api/v1/portal/...; the web pages of a later issue live at /portal.
"""
