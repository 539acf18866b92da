"""Availability, holds, bookings and the timeline of one restaurant."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field

from seatwise.api.deps import PrincipalDep, ProbedDep, RestaurantId, RuntimeDep
from seatwise.api.models import AvailabilityOut, BookingOut, HoldOut, TimelineOut
from seatwise.api.problems import TENANT_PROBLEMS
from seatwise.api.query import parse_query, query_parameters
from seatwise.api.render import encode_json, render_json
from seatwise.runtime import Runtime
from seatwise.services import availability as reads
from seatwise.services import bookings, holds, moves, status
from seatwise.services.auth import Permission, Probed, authenticate_read, authorize
from seatwise.services.ids import parse_id
from seatwise.services.results import Guest, to_json

JSON = "application/json"
router = APIRouter(prefix="/v1/restaurants/{rid}", tags=["bookings"], responses=TENANT_PROBLEMS)

Label = Annotated[str, Field(min_length=1, max_length=40)]
IDEMPOTENCY_KEY_LENGTH = (1, 200)  # the header's bounds (api.fastpath judges them the same way)
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=IDEMPOTENCY_KEY_LENGTH[0], max_length=IDEMPOTENCY_KEY_LENGTH[1]),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # JSON types as written: "2" and true are not 2 or 1


class GuestIn(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Ada Lovelace"])
    phone: str | None = Field(default=None, max_length=40)
    email: EmailStr | None = Field(default=None, max_length=254)


class HoldIn(Strict):
    party_size: int = Field(ge=1, le=1000, examples=[2])
    start: str = Field(
        min_length=1,
        max_length=64,
        description="ISO instant with offset, or local YYYY-MM-DDTHH:MM",
        examples=["2027-03-10T19:00"],
    )
    table_labels: list[Label] | None = Field(default=None, min_length=1, max_length=5)


class ConfirmIn(Strict):
    guest: GuestIn
    notes: str | None = Field(default=None, max_length=2000)


class BookingIn(Strict):
    party_size: int = Field(ge=1, le=1000, examples=[4])
    start: str = Field(min_length=1, max_length=64, examples=["2027-03-10T19:30"])
    guest: GuestIn
    notes: str | None = Field(default=None, max_length=2000)
    table_labels: list[Label] | None = Field(default=None, min_length=1, max_length=5)
    allow_slack: bool = False


class TablesIn(Strict):
    table_labels: list[Label] = Field(min_length=1, max_length=5, examples=[["T2"]])
    allow_slack: bool = False


class BookingPatch(Strict):
    start: str | None = Field(default=None, min_length=1, max_length=64, examples=["2027-03-10T20:00"])
    party_size: int | None = Field(default=None, ge=1, le=1000, examples=[3])
    pinned: bool | None = Field(
        default=None, description="pin the booking to its tables (re-seating and optimize never move it), or unpin"
    )


def digits_only(value: object) -> object:
    """A query integer is plain decimal digits: Python's int() would also take
    `1_0`, ` 2` or `+2`."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be a whole number written in digits")
    return value


def _guest(g: GuestIn) -> Guest:
    return Guest(g.name, g.phone, str(g.email) if g.email else None)


REPLAY: dict[int | str, dict[str, Any]] = {200: {"model": BookingOut, "description": "a replay: the same booking"}}
DateQuery = Annotated[str, Query(min_length=1, max_length=10, description="YYYY-MM-DD", examples=["2027-03-10"])]


class AvailabilityQuery(BaseModel):
    """The availability query (unknown parameters are ignored)."""

    date: str = Field(min_length=1, max_length=10, description="YYYY-MM-DD", examples=["2027-03-10"])
    party_size: Annotated[int, BeforeValidator(digits_only), Field(ge=1, le=1000, examples=[2])]
    time: str | None = Field(default=None, min_length=1, max_length=5, description="HH:MM", examples=["19:00"])


@router.get(
    "/availability",
    operation_id="getAvailability",
    response_model=AvailabilityOut,
    openapi_extra=query_parameters(AvailabilityQuery),
)
async def get_availability(request: Request, rid: str) -> Response:
    """Every slot of a date for a party; with `time`, that time's answer and alternatives."""
    # The hottest route: its query is one model validation (api.query), and on the
    # event loop one statement authenticates and reads the versions; an answer still
    # valid for them is served without another round trip.
    rt: Runtime = request.app.state.runtime
    rid = parse_id(rid, "restaurant")
    query = parse_query(AvailabilityQuery, request)
    return Response(await availability_answer(rt, rid, query, request.headers.get("authorization")), media_type=JSON)


async def availability_answer(rt: Runtime, rid: str, query: AvailabilityQuery, authorization: str | None) -> bytes:
    """The availability answer's JSON for restaurant `rid` (its id parsed), or the
    refusal raised: the route's and the fast path's one body (api.fastpath)."""
    who, probe = await authenticate_read(rt.reads, rt.admin_key, authorization, rid)
    authorize(who, rid, Permission.READ_AVAILABILITY)
    result = await reads.read_availability(rt.db, rid, query.date, query.party_size, query.time, probe)
    return render_json(result)


@router.post("/holds", status_code=201, response_model=HoldOut, operation_id="createHold")
async def create_hold(rt: RuntimeDep, probed: ProbedDep, rid: RestaurantId, body: HoldIn) -> Response:
    """Reserve tables for a party until the hold expires; 409 CAPACITY_EXCEEDED with alternatives."""
    return await hold_answer(rt, probed, rid, body)


async def hold_answer(rt: Runtime, probed: Probed, rid: str, body: HoldIn) -> Response:
    """The new hold's response, once its key was probed and its restaurant id parsed,
    or the refusal raised: the route's and the fast path's one body (api.fastpath)."""
    who, seen = probed
    authorize(who, rid, Permission.MANAGE_HOLDS)
    request = holds.HoldRequest(body.party_size, body.start, body.table_labels)
    return Response(encode_json(await holds.hold(rt.db, rt.reads, rid, request, who, seen)), 201, media_type=JSON)


@router.delete("/holds/{hold_id}", status_code=204, operation_id="releaseHold")
def release_hold(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, hold_id: str) -> Response:
    authorize(who, rid, Permission.MANAGE_HOLDS)
    holds.release_hold(rt.db, rid, hold_id)
    return Response(status_code=204)


@router.post(
    "/holds/{hold_id}/confirm", status_code=201, response_model=BookingOut, responses=REPLAY, operation_id="confirmHold"
)
def confirm_hold(
    rt: RuntimeDep,
    who: PrincipalDep,
    rid: RestaurantId,
    hold_id: str,
    body: ConfirmIn,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Turn a live hold into a booking; a replay answers 200 with the same booking."""
    authorize(who, rid, Permission.MANAGE_HOLDS)
    request = holds.ConfirmRequest(_guest(body.guest), body.notes, idempotency_key)
    booking, created = holds.confirm_hold(rt.db, rid, hold_id, request, who)
    response.status_code = 201 if created else 200
    return to_json(booking)


@router.post("/bookings", status_code=201, response_model=BookingOut, responses=REPLAY, operation_id="createBooking")
async def create_booking(
    rt: RuntimeDep,
    probed: ProbedDep,
    rid: RestaurantId,
    body: BookingIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Book directly (hold and confirm in one step); same key and body answer 200. In shadow
    mode a refusal is accepted unassigned, `overbooked`, with the code in `would_refuse`."""
    return await booking_answer(rt, probed, rid, body, idempotency_key)


async def booking_answer(
    rt: Runtime, probed: Probed, rid: str, body: BookingIn, idempotency_key: str | None
) -> Response:
    """The direct booking's response, once its key was probed and its restaurant id
    parsed, or the refusal raised: the route's and the fast path's one body
    (api.fastpath)."""
    who, seen = probed
    authorize(who, rid, Permission.CREATE_BOOKING)
    request = bookings.BookingRequest(
        party_size=body.party_size,
        start=body.start,
        guest=_guest(body.guest),
        notes=body.notes,
        table_labels=body.table_labels,
        allow_slack=body.allow_slack,
        idempotency_key=idempotency_key,
    )
    booking, created = await bookings.book(rt.db, rt.reads, rid, request, who, seen)
    return Response(encode_json(booking), 201 if created else 200, media_type=JSON)


@router.get("/bookings", response_model=list[BookingOut], operation_id="listBookings")
def list_bookings(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, date: DateQuery) -> Any:
    """Every booking of a local date, all statuses."""
    authorize(who, rid, Permission.READ_BOOKINGS)
    return to_json(bookings.list_bookings(rt.db, rid, date))


@router.get("/bookings/{booking_id}", response_model=BookingOut, operation_id="getBooking")
def get_booking(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, booking_id: str) -> Any:
    authorize(who, rid, Permission.READ_BOOKINGS)
    return to_json(bookings.get_booking(rt.db, rid, booking_id))


def _status_route(action: status.Action, operation_id: str) -> None:
    def change(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, booking_id: str) -> Any:
        return to_json(status.transition(rt.db, rid, booking_id, action, who))

    change.__name__ = operation_id
    change.__doc__ = (
        f"{action.value.capitalize()} a booking (409 ILLEGAL_TRANSITION when its status does not allow it)."
    )
    router.post(f"/bookings/{{booking_id}}/{action.value}", response_model=BookingOut, operation_id=operation_id)(
        change
    )


_status_route(status.Action.CANCEL, "cancelBooking")
_status_route(status.Action.SEAT, "seatBooking")
_status_route(status.Action.COMPLETE, "completeBooking")
_status_route(status.Action.NO_SHOW, "markNoShow")


@router.put("/bookings/{booking_id}/tables", response_model=BookingOut, operation_id="assignTables")
def assign_tables(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, booking_id: str, body: TablesIn) -> Any:
    """Move a live booking onto the chosen tables; a refusal lists every check."""
    authorize(who, rid, Permission.MANAGE_BOOKINGS)
    request = moves.AssignRequest(body.table_labels, body.allow_slack)
    return to_json(moves.assign_tables(rt.db, rid, booking_id, request, who))


@router.patch("/bookings/{booking_id}", response_model=BookingOut, operation_id="rescheduleBooking")
def reschedule(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, booking_id: str, body: BookingPatch) -> Any:
    """Move a live booking to another start and/or party size, and/or pin it to its
    tables; all or nothing."""
    authorize(who, rid, Permission.MANAGE_BOOKINGS)
    request = moves.RescheduleRequest(body.start, body.party_size, body.pinned)
    return to_json(moves.reschedule(rt.db, rid, booking_id, request, who))


@router.get("/timeline", response_model=TimelineOut, operation_id="getTimeline")
def get_timeline(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, date: DateQuery) -> Any:
    """Per table, the bookings, live holds and blocks of a local date."""
    authorize(who, rid, Permission.READ_BOOKINGS)
    return to_json(reads.timeline(rt.db, rid, date))
