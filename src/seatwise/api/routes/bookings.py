"""Availability, holds, bookings and the timeline of one restaurant."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from seatwise.api.deps import PrincipalDep, RestaurantId, RuntimeDep
from seatwise.api.models import BookingOut, HoldOut
from seatwise.api.problems import TENANT_PROBLEMS
from seatwise.services import availability as reads
from seatwise.services import bookings, moves
from seatwise.services.auth import Permission, Principal, authorize, authorize_booking_action

router = APIRouter(prefix="/v1/restaurants/{rid}", tags=["bookings"], responses=TENANT_PROBLEMS)

Label = Annotated[str, Field(min_length=1, max_length=40)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


def _actor(who: Principal) -> bookings.Actor:
    return bookings.Actor(who.role, who.key_id)


def _guest(g: GuestIn) -> bookings.Guest:
    return bookings.Guest(g.name, g.phone, str(g.email) if g.email else None)


@router.get("/availability")
def get_availability(
    rt: RuntimeDep,
    who: PrincipalDep,
    rid: RestaurantId,
    date: Annotated[str, Query(min_length=1, max_length=10, description="YYYY-MM-DD", examples=["2027-03-10"])],
    party_size: Annotated[int, Query(ge=1, le=1000, examples=[2])],
    time: Annotated[str | None, Query(min_length=1, max_length=5, description="HH:MM", examples=["19:00"])] = None,
) -> dict[str, Any]:
    authorize(who, rid, Permission.READ_AVAILABILITY)
    return reads.availability(rt.db, rid, date, party_size, time)


@router.post("/holds", status_code=201, response_model=HoldOut)
def create_hold(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, body: HoldIn) -> dict[str, Any]:
    authorize(who, rid, Permission.MANAGE_HOLDS)
    return bookings.create_hold(rt.db, rid, body.party_size, body.start, body.table_labels, _actor(who))


@router.delete("/holds/{hold_id}", status_code=204)
def release_hold(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, hold_id: str) -> Response:
    authorize(who, rid, Permission.MANAGE_HOLDS)
    bookings.release_hold(rt.db, rid, hold_id)
    return Response(status_code=204)


@router.post(
    "/holds/{hold_id}/confirm",
    status_code=201,
    response_model=BookingOut,
    responses={200: {"model": BookingOut, "description": "a replay: the same booking"}},
)
def confirm_hold(
    rt: RuntimeDep,
    who: PrincipalDep,
    rid: RestaurantId,
    hold_id: str,
    body: ConfirmIn,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    authorize(who, rid, Permission.MANAGE_HOLDS)
    booking, created = bookings.confirm_hold(
        rt.db, rid, hold_id, _guest(body.guest), body.notes, idempotency_key, _actor(who)
    )
    response.status_code = 201 if created else 200
    return booking


@router.post(
    "/bookings",
    status_code=201,
    response_model=BookingOut,
    responses={200: {"model": BookingOut, "description": "a replay: the same booking"}},
)
def create_booking(
    rt: RuntimeDep,
    who: PrincipalDep,
    rid: RestaurantId,
    body: BookingIn,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    authorize(who, rid, Permission.CREATE_BOOKING)
    if body.allow_slack:
        authorize(who, rid, Permission.MANAGE_BOOKINGS)  # only staff may waive the slack budget
    booking, created = bookings.create_booking(
        rt.db,
        rid,
        party=body.party_size,
        start=body.start,
        guest=_guest(body.guest),
        notes=body.notes,
        labels=body.table_labels,
        allow_slack=body.allow_slack,
        idempotency_key=idempotency_key,
        body_hash=bookings.request_hash(body.model_dump(mode="json")),
        actor=_actor(who),
    )
    response.status_code = 201 if created else 200
    return booking


@router.get("/bookings", response_model=list[BookingOut])
def list_bookings(
    rt: RuntimeDep,
    who: PrincipalDep,
    rid: RestaurantId,
    date: Annotated[str, Query(min_length=1, max_length=10, examples=["2027-03-10"])],
) -> list[dict[str, Any]]:
    authorize(who, rid, Permission.READ_BOOKINGS)
    return bookings.list_bookings(rt.db, rid, date)


@router.get("/bookings/{booking_id}", response_model=BookingOut)
def get_booking(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, booking_id: str) -> dict[str, Any]:
    authorize(who, rid, Permission.READ_BOOKINGS)
    return bookings.get_booking(rt.db, rid, booking_id)


def _transition(rt: Any, who: Principal, rid: str, booking_id: str, action: str) -> dict[str, Any]:
    own_only = authorize_booking_action(who, rid, action)
    return bookings.transition(rt.db, rid, booking_id, action, _actor(who), own_only=own_only)


@router.post("/bookings/{booking_id}/cancel", response_model=BookingOut)
def cancel(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, booking_id: str) -> dict[str, Any]:
    return _transition(rt, who, rid, booking_id, "cancel")


@router.post("/bookings/{booking_id}/seat", response_model=BookingOut)
def seat(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, booking_id: str) -> dict[str, Any]:
    return _transition(rt, who, rid, booking_id, "seat")


@router.post("/bookings/{booking_id}/complete", response_model=BookingOut)
def complete(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, booking_id: str) -> dict[str, Any]:
    return _transition(rt, who, rid, booking_id, "complete")


@router.post("/bookings/{booking_id}/no-show", response_model=BookingOut)
def no_show(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, booking_id: str) -> dict[str, Any]:
    return _transition(rt, who, rid, booking_id, "no-show")


@router.put("/bookings/{booking_id}/tables", response_model=BookingOut)
def assign_tables(
    rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, booking_id: str, body: TablesIn
) -> dict[str, Any]:
    """Move a live booking onto the chosen tables; a refusal lists every check."""
    authorize(who, rid, Permission.MANAGE_BOOKINGS)
    return moves.assign_tables(rt.db, rid, booking_id, body.table_labels, body.allow_slack, _actor(who))


@router.patch("/bookings/{booking_id}", response_model=BookingOut)
def reschedule(
    rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, booking_id: str, body: BookingPatch
) -> dict[str, Any]:
    """Move a live booking to another start and/or party size, all or nothing."""
    authorize(who, rid, Permission.MANAGE_BOOKINGS)
    return moves.reschedule(rt.db, rid, booking_id, body.start, body.party_size, _actor(who))


@router.get("/timeline")
def get_timeline(
    rt: RuntimeDep,
    who: PrincipalDep,
    rid: RestaurantId,
    date: Annotated[str, Query(min_length=1, max_length=10, examples=["2027-03-10"])],
) -> dict[str, Any]:
    authorize(who, rid, Permission.READ_BOOKINGS)
    return reads.timeline(rt.db, rid, date)
