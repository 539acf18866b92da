"""Request dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, Response

from seatwise.runtime import Runtime
from seatwise.services.auth import Principal, Probed, authenticate_probed, authenticate_read, bearer_token
from seatwise.services.ids import parse_id


# Dependencies that do no I/O are `async` so FastAPI runs them on the event loop
# instead of hopping to a worker thread for each (measured: a hop per dependency).
async def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def principal(
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    """On the event loop: a missing, malformed or admin key is answered at once, a
    restaurant key's row is read by the batched read probe (no worker thread)."""
    rt: Runtime = request.app.state.runtime
    return await authenticate_probed(rt.reads, rt.admin_key, bearer_token(authorization))


async def probed_principal(
    request: Request,
    rid: str,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Probed:
    """`principal`, with the versions its one probe statement read (a write that
    a refusal kept for them answers needs no worker thread: services.refusals)."""
    rt: Runtime = request.app.state.runtime
    return await authenticate_read(rt.reads, rt.admin_key, authorization, rid)


async def restaurant_id(rid: str) -> str:
    """A path's restaurant id; anything that is not a UUID simply does not exist."""
    return parse_id(rid, "restaurant")


async def no_store(response: Response) -> None:
    """For answers that carry a secret (a new restaurant's keys, a new key): no cache
    may keep them."""
    response.headers["Cache-Control"] = "no-store"


NoStore = Depends(no_store)
RuntimeDep = Annotated[Runtime, Depends(runtime)]
PrincipalDep = Annotated[Principal, Depends(principal)]
ProbedDep = Annotated[Probed, Depends(probed_principal)]
RestaurantId = Annotated[str, Depends(restaurant_id)]
