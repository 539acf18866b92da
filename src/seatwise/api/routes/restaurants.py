from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from seatwise.api.deps import PrincipalDep, RestaurantId, RuntimeDep
from seatwise.services import restaurants
from seatwise.services.auth import Permission, authorize, require_admin

router = APIRouter(prefix="/v1/restaurants", tags=["restaurants"])


@router.post("", status_code=201)
def create_restaurant(
    rt: RuntimeDep, who: PrincipalDep, document: dict[str, Any] = Body(...)  # noqa: B008 - FastAPI idiom
) -> dict[str, Any]:
    """Create a restaurant from a venue document (admin key)."""
    require_admin(who)
    return restaurants.create_restaurant(rt.db, document)


@router.get("/{rid}")
def get_restaurant(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId) -> dict[str, Any]:
    authorize(who, rid, Permission.READ_RESTAURANT)
    return restaurants.get_restaurant(rt.db, rid)


@router.get("/{rid}/venue")
def get_venue(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId) -> dict[str, Any]:
    authorize(who, rid, Permission.READ_RESTAURANT)
    return restaurants.export_venue(rt.db, rid)
