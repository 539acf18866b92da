"""The service optimizer (staff): re-pack a service's bookings, dry run by default."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from seatwise.api.deps import PrincipalDep, RestaurantId, RuntimeDep
from seatwise.api.models import OptimizationOut
from seatwise.api.problems import TENANT_PROBLEMS
from seatwise.services import optimize
from seatwise.services.auth import Permission, authorize
from seatwise.services.results import to_json

router = APIRouter(prefix="/v1/restaurants/{rid}", tags=["seating"], responses=TENANT_PROBLEMS)


@router.post("/optimize", response_model=OptimizationOut, operation_id="optimizeService")
def optimize_service(
    rt: RuntimeDep,
    who: PrincipalDep,
    rid: RestaurantId,
    date: Annotated[str, Query(min_length=1, max_length=10, description="YYYY-MM-DD", examples=["2027-03-10"])],
    service: Annotated[
        str | None, Query(min_length=1, max_length=100, description="the service's name; omitted: the date's only one")
    ] = None,
    apply: Annotated[bool, Query(description="true: commit the moves; false (default): a dry run")] = False,
) -> Any:
    """Re-pack a service to free the most combinable space (fewest tables, least waste,
    fewest moves); seated and pinned bookings and every time stay as they are."""
    authorize(who, rid, Permission.MANAGE_BOOKINGS)
    request = optimize.OptimizeRequest(date, service, apply)
    return to_json(optimize.optimize_service(rt.db, rid, request, who))
