"""HTTP routes, one module per resource."""

from seatwise.api.routes import health, restaurants

ROUTERS = (health.router, restaurants.router)
