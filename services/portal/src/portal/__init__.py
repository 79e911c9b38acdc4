"""The portal: the centers' web front (Jinja2 + HTMX) over the four services' HTTP APIs.

It holds no state beyond signed sign-in cookies and reads no service's database: every page
is built from the services' APIs, called with the signed-in person's own token, so the
services' access rules decide what the portal may show or do.
"""
