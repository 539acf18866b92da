from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, ConfigDict

from seatwise.api.deps import NoStore, PrincipalDep, RestaurantId, RuntimeDep
from seatwise.api.models import ApiKeyCreated, ApiKeyOut, RestaurantCreated, RestaurantOut
from seatwise.api.problems import TENANT_PROBLEMS
from seatwise.api.venue_schema import VenueDocument
from seatwise.services import restaurants
from seatwise.services.auth import Permission, authorize, require_admin
from seatwise.services.results import to_json

router = APIRouter(prefix="/v1/restaurants", tags=["restaurants"], responses=TENANT_PROBLEMS)

VenueDocumentBody = Body(..., description="a venue document (schema VenueDocument), validated whole")


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # JSON types as written: "2" and true are not 2 or 1

    role: Literal["staff", "channel"]


@router.post(
    "", status_code=201, response_model=RestaurantCreated, operation_id="createRestaurant", dependencies=[NoStore]
)
def create_restaurant(rt: RuntimeDep, who: PrincipalDep, document: dict[str, Any] = VenueDocumentBody) -> Any:
    """Create a restaurant from a venue document (admin key)."""
    require_admin(who)
    return to_json(restaurants.create_restaurant(rt.db, document))


@router.get("/{rid}", response_model=RestaurantOut, operation_id="getRestaurant")
def get_restaurant(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId) -> Any:
    authorize(who, rid, Permission.READ_RESTAURANT)
    return to_json(restaurants.get_restaurant(rt.db, rid))


@router.get("/{rid}/venue", response_model=VenueDocument, operation_id="getVenue")
def get_venue(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId) -> Any:
    """The current venue document (canonical form)."""
    authorize(who, rid, Permission.READ_VENUE)
    return restaurants.export_venue(rt.db, rid)


@router.put("/{rid}/venue", response_model=RestaurantOut, operation_id="replaceVenue")
def replace_venue(
    rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, document: dict[str, Any] = VenueDocumentBody
) -> Any:
    """Replace the venue document, keeping bookings; 409 VENUE_IN_USE lists the future
    bookings the change would strand."""
    authorize(who, rid, Permission.MANAGE_VENUE)
    return to_json(restaurants.replace_venue(rt.db, rid, document))


@router.post(
    "/{rid}/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    operation_id="createApiKey",
    dependencies=[NoStore],
)
def create_api_key(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, body: ApiKeyIn) -> Any:
    """A new key; its secret is in this answer only."""
    authorize(who, rid, Permission.MANAGE_KEYS)
    return to_json(restaurants.create_api_key(rt.db, rid, body.role))


@router.get("/{rid}/api-keys", response_model=list[ApiKeyOut], operation_id="listApiKeys")
def list_api_keys(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId) -> Any:
    authorize(who, rid, Permission.MANAGE_KEYS)
    return to_json(restaurants.list_api_keys(rt.db, rid))


@router.delete("/{rid}/api-keys/{key_id}", status_code=204, operation_id="revokeApiKey")
def revoke_api_key(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, key_id: str) -> Response:
    """Revoke a key; it fails with 401 from the next request on."""
    authorize(who, rid, Permission.MANAGE_KEYS)
    restaurants.revoke_api_key(rt.db, rid, key_id)
    return Response(status_code=204)
