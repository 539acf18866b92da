"""Staff blocks: tables out of service for an interval."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from seatwise.api.deps import PrincipalDep, RestaurantId, RuntimeDep
from seatwise.api.models import BlockOut
from seatwise.api.problems import TENANT_PROBLEMS
from seatwise.services import blocks
from seatwise.services.auth import Permission, authorize
from seatwise.services.results import to_json

router = APIRouter(prefix="/v1/restaurants/{rid}/blocks", tags=["blocks"], responses=TENANT_PROBLEMS)

Label = Annotated[str, Field(min_length=1, max_length=40)]


class BlockIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # JSON types as written: "2" and true are not 2 or 1

    table_labels: list[Label] = Field(min_length=1, max_length=200, examples=[["T3"]])
    start: str = Field(
        min_length=1,
        max_length=64,
        description="ISO instant with offset, or local YYYY-MM-DDTHH:MM",
        examples=["2027-03-11T17:00"],
    )
    end: str = Field(min_length=1, max_length=64, examples=["2027-03-11T18:30"])
    reason: str = Field(default="", max_length=500, examples=["wobbly leg"])


@router.post("", status_code=201, response_model=BlockOut, operation_id="createBlock")
def create_block(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, body: BlockIn) -> Any:
    """Take tables out of service; 409 BLOCK_CONFLICT lists every live booking, hold or
    block it would overlap."""
    authorize(who, rid, Permission.MANAGE_BOOKINGS)
    request = blocks.BlockRequest(body.table_labels, body.start, body.end, body.reason)
    return to_json(blocks.create_block(rt.db, rid, request, who))


@router.delete("/{block_id}", status_code=204, operation_id="deleteBlock")
def delete_block(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, block_id: str) -> Response:
    authorize(who, rid, Permission.MANAGE_BOOKINGS)
    blocks.delete_block(rt.db, rid, block_id, who)
    return Response(status_code=204)
