"""Request dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from seatwise.runtime import Runtime
from seatwise.services.auth import Principal, authenticate
from seatwise.services.ids import parse_id


# Dependencies that do no I/O are `async` so FastAPI runs them on the event loop
# instead of hopping to a worker thread for each (measured: a hop per dependency).
async def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def principal(
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    rt: Runtime = request.app.state.runtime
    return authenticate(rt.db, rt.admin_key, authorization)


async def restaurant_id(rid: str) -> str:
    """A path's restaurant id; anything that is not a UUID simply does not exist."""
    return parse_id(rid, "restaurant")


RuntimeDep = Annotated[Runtime, Depends(runtime)]
PrincipalDep = Annotated[Principal, Depends(principal)]
RestaurantId = Annotated[str, Depends(restaurant_id)]
