"""HTTP routes, one module per resource."""

from seatwise.api.routes import blocks, bookings, health, imports, restaurants, seating, webhooks

ROUTERS = (
    health.router,
    restaurants.router,
    bookings.router,
    blocks.router,
    webhooks.router,
    imports.router,
    seating.router,
)
