"""HTTP routes, one module per resource."""

from seatwise.api.routes import blocks, bookings, health, imports, restaurants, seating, webhooks

# Bookings first: the router tries routes in order, and availability is the hottest.
ROUTERS = (
    bookings.router,
    health.router,
    restaurants.router,
    blocks.router,
    webhooks.router,
    imports.router,
    seating.router,
)
