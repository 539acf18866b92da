"""HTTP routes, one module per resource."""

from seatwise.api.routes import bookings, health, restaurants

ROUTERS = (health.router, restaurants.router, bookings.router)
