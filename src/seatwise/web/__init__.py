"""Web shells: the ops dashboard (`/ops`) and the public guest page (`/book/{slug}`).

Server-rendered with Jinja2 and htmx; static files ship inside the package. Like the
API, they parse, authorize, call the services and render: no rule lives here.
"""
