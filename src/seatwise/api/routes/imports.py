"""Importing bookings from the system a restaurant used before (DESIGN §12)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from seatwise.api.deps import PrincipalDep, RestaurantId, RuntimeDep
from seatwise.api.models import ImportResultOut
from seatwise.api.problems import TENANT_PROBLEMS
from seatwise.services import imports
from seatwise.services.results import to_json

router = APIRouter(prefix="/v1/restaurants/{rid}", tags=["bookings"], responses=TENANT_PROBLEMS)

ROW_EXAMPLE = {
    "start": "2027-03-10T19:00",
    "party_size": 4,
    "name": "Ada Lovelace",
    "phone": "+44 20 7946 0000",
    "email": "ada@example.com",
    "status": "confirmed",
    "tables": ["T2"],
    "external_ref": "old-system-1234",
}


@router.post("/bookings/import", response_model=ImportResultOut, operation_id="importBookings")
def import_bookings(
    rt: RuntimeDep,
    who: PrincipalDep,
    rid: RestaurantId,
    rows: Annotated[
        list[Any],
        Body(
            max_length=imports.MAX_ROWS,
            description=f"objects with the columns {', '.join(imports.COLUMNS)}",
            examples=[[ROW_EXAMPLE]],
        ),
    ],
) -> Any:
    """Import bookings (staff): every row's outcome, in order; idempotent by `external_ref`."""
    return to_json(imports.import_bookings(rt.db, rid, rows, who))
