"""Use cases of the public guest page (`/book/{slug}`, DESIGN §11).

The page has no API key: it acts for the restaurant with the restaurant's channel
access (:data:`page_principal`), through the same use cases as the API. What is
particular to the page lives here: finding the restaurant by its slug, reading a
guest's form fields, the plain-language answer for a day with no service, and the
limit of :data:`HOLDS_PER_ADDRESS` live holds per client address and restaurant
(enforced inside the hold's own transaction, see `store.guest`).
"""

from __future__ import annotations

import ipaddress
import math
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from email_validator import EmailNotValidError, validate_email

from seatwise.core.errors import NotFound, ValidationFailed
from seatwise.core.model import Venue
from seatwise.core.timerules import parse_local_date, parse_local_time, runs_on, venue_zone
from seatwise.services import availability as reads
from seatwise.services import bookings, holds
from seatwise.services.auth import Permission, Principal, authorize
from seatwise.services.common import utcnow
from seatwise.services.holds import ConfirmRequest, HoldRequest
from seatwise.services.ids import parse_id
from seatwise.services.results import Booking, Guest
from seatwise.services.snapshot import venue_snapshot
from seatwise.store import bookings as repo
from seatwise.store import guest as guest_store
from seatwise.store.db import Database

HOLDS_PER_ADDRESS = 3  # live holds one client address may keep per restaurant (DESIGN §11)
NAME_MAX, PHONE_MAX, EMAIL_MAX, NOTES_MAX = 200, 40, 254, 2000  # DESIGN §7 text bounds


def invalid_fields(errors: dict[str, str]) -> ValidationFailed:
    """A refusal naming each form field that cannot be used as given."""
    first = next(iter(errors.items()))
    return ValidationFailed(f"{first[0]}: {first[1]}", errors=[{"path": k, "message": v} for k, v in errors.items()])


def field_errors(error: ValidationFailed) -> dict[str, str]:
    """Field -> message of a refusal made by :func:`invalid_fields` (else empty)."""
    return {e["path"]: e["message"] for e in error.fields.get("errors", [])}


def page_principal(rid: str) -> Principal:
    """The page's identity: the restaurant's channel access, with no key of its own."""
    return Principal("channel", rid, None)


@dataclass(frozen=True)
class GuestPage:
    """The restaurant as the page shows it."""

    restaurant_id: str
    slug: str
    name: str
    timezone: str
    today: date
    max_party_size: int
    hold_ttl_seconds: int
    venue: Venue


def open_page(db: Database, slug: str) -> GuestPage:
    """The restaurant behind a slug (NotFound when there is none)."""
    if not slug or len(slug) > 63:
        raise NotFound("no such restaurant")
    with db.autocommit() as conn:
        rid = guest_store.restaurant_id_by_slug(conn, slug)
    if rid is None:
        raise NotFound("no such restaurant")
    authorize(page_principal(rid), rid, Permission.READ_AVAILABILITY)
    with db.tenant(rid) as conn:
        venue = venue_snapshot(conn, rid)
    return GuestPage(
        restaurant_id=rid,
        slug=venue.slug,
        name=venue.name,
        timezone=venue.timezone,
        today=utcnow().astimezone(venue_zone(venue)).date(),
        max_party_size=venue.policy.max_party_size,
        hold_ttl_seconds=venue.policy.hold_ttl_seconds,
        venue=venue,
    )


# --- reading the forms ----------------------------------------------------------------


def parse_party(page: GuestPage, text: str) -> int:
    try:
        party = int(text.strip())
    except ValueError:
        raise invalid_fields({"party_size": "Enter the number of people, for example 2."}) from None
    if not 1 <= party <= page.max_party_size:
        raise invalid_fields({"party_size": f"Party size must be between 1 and {page.max_party_size}."})
    return party


def parse_day(page: GuestPage, text: str) -> date:
    try:
        day = parse_local_date(text.strip())
    except ValidationFailed:
        raise invalid_fields({"date": "Enter a date, for example 2027-03-10."}) from None
    if day < page.today:
        raise invalid_fields({"date": "That date has passed. Choose today or a later date."})
    return day


def parse_search(page: GuestPage, party_text: str, date_text: str) -> tuple[int, date]:
    """Both fields at once, so the guest sees every problem together."""
    errors: dict[str, str] = {}
    party, day = 0, page.today
    try:
        party = parse_party(page, party_text)
    except ValidationFailed as exc:
        errors.update(field_errors(exc))
    try:
        day = parse_day(page, date_text)
    except ValidationFailed as exc:
        errors.update(field_errors(exc))
    if errors:
        raise invalid_fields(errors)
    return party, day


def parse_guest(name: str, phone: str, email: str, notes: str) -> tuple[Guest, str | None]:
    """The guest's details as the API would take them (DESIGN §7 bounds)."""
    errors: dict[str, str] = {}
    name, phone, email, notes = name.strip(), phone.strip(), email.strip(), notes.strip()
    if not name:
        errors["name"] = "Enter your name."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Your name can be at most {NAME_MAX} characters."
    if len(phone) > PHONE_MAX:
        errors["phone"] = f"A phone number can be at most {PHONE_MAX} characters."
    if email:
        if len(email) > EMAIL_MAX:
            errors["email"] = f"An email address can be at most {EMAIL_MAX} characters."
        else:
            try:
                email = validate_email(email, check_deliverability=False).normalized
            except EmailNotValidError:
                errors["email"] = "Enter an email address like name@example.com."
    if len(notes) > NOTES_MAX:
        errors["notes"] = f"Notes can be at most {NOTES_MAX} characters."
    if errors:
        raise invalid_fields(errors)
    return Guest(name, phone or None, email or None), notes or None


# --- times ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceTimes:
    service: str
    times: tuple[str, ...]


@dataclass(frozen=True)
class Times:
    """The free times of a day for a party, grouped by service. `closed` says in
    words why there are none at all (a closure, or no service on that weekday)."""

    party_size: int
    date: date
    groups: tuple[ServiceTimes, ...]
    closed: str | None


def long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def closed_reason(page: GuestPage, day: date) -> str | None:
    venue = page.venue
    if day in venue.policy.closures:
        return f"{page.name} is closed on {long_date(day)}."
    if not any(runs_on(venue, s, day) for s in venue.policy.services):
        return f"{page.name} is not open on {day:%A}s."
    return None


def find_times(db: Database, page: GuestPage, party: int, day: date) -> Times:
    rid = page.restaurant_id
    authorize(page_principal(rid), rid, Permission.READ_AVAILABILITY)
    closed = closed_reason(page, day)
    if closed is not None:
        return Times(party, day, (), closed)
    answer = reads.availability(db, rid, day.isoformat(), party, None)
    groups: dict[str, list[str]] = {}
    for slot in answer.slots:
        if slot.available:
            groups.setdefault(slot.service, []).append(slot.time)
    return Times(party, day, tuple(ServiceTimes(k, tuple(v)) for k, v in groups.items()), None)


# --- holds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldTime:
    id: str
    party_size: int
    date: date  # the local date of the start
    time: str  # HH:MM local
    expires_at: datetime  # in the restaurant's zone
    seconds_left: int


def _held(page: GuestPage, hold_id: str, party: int, start: datetime, expires_at: datetime) -> HeldTime:
    zone = venue_zone(page.venue)
    local = start.astimezone(zone)
    # Rounded up: a countdown that reaches 0 is never earlier than the server's expiry.
    left = max(0, math.ceil((expires_at - utcnow()).total_seconds()))
    return HeldTime(hold_id, party, local.date(), f"{local:%H:%M}", expires_at.astimezone(zone), left)


def take_hold(
    db: Database, page: GuestPage, party_text: str, date_text: str, time_text: str, client_address: str
) -> HeldTime:
    """Hold a table for the guest. Raises CapacityExceeded (with `alternatives`) when
    the time is gone, OutsideServiceHours, RateLimited beyond the per-address limit."""
    rid = page.restaurant_id
    authorize(page_principal(rid), rid, Permission.MANAGE_HOLDS)
    party, day = parse_search(page, party_text, date_text)
    try:
        at = parse_local_time(time_text.strip())
    except ValidationFailed:
        raise invalid_fields({"time": "Choose one of the times shown."}) from None
    request = HoldRequest(
        party_size=party,
        start=f"{day.isoformat()}T{at:%H:%M}",
        client_address=client_bucket(client_address),
        holds_per_address=HOLDS_PER_ADDRESS,
    )
    hold = holds.create_hold(db, rid, request, page_principal(rid))
    return _held(page, hold.id, hold.party_size, hold.start, hold.expires_at)


def offer_date(page: GuestPage, held: HeldTime) -> date:
    """The date to offer times on again after a hold ends: its own, unless that has
    passed (a hold just after midnight, say), then today."""
    return max(held.date, page.today)


UNKNOWN_ADDRESS = "0.0.0.0"  # noqa: S104 - an address, not a bind


def client_bucket(address: str) -> str:
    """The address a guest's holds are counted under: the IP address as given, or one
    shared bucket for anything that is not an IP address (a proxy's odd header)."""
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return UNKNOWN_ADDRESS


@dataclass(frozen=True)
class HoldState:
    """A hold as the guest last left it: live, expired, or already confirmed."""

    hold: HeldTime | None  # None once confirmed (the hold row is gone)
    expired: bool
    booking_id: str | None


def hold_state(db: Database, page: GuestPage, hold_id: str) -> HoldState:
    rid = page.restaurant_id
    authorize(page_principal(rid), rid, Permission.MANAGE_HOLDS)
    hold_id = parse_id(hold_id, "hold")
    with db.tenant(rid) as conn:
        done = repo.confirmation_for(conn, rid, hold_id=hold_id)
        row = None if done is not None else repo.get_hold(conn, rid, hold_id)
    if done is not None:
        return HoldState(None, False, done["booking_id"])
    if row is None:
        raise NotFound("no such hold (released, or never made)")
    held = _held(page, row["id"], row["party_size"], row["start_at"], row["expires_at"])
    return HoldState(held, row["expires_at"] <= utcnow(), None)


def release(db: Database, page: GuestPage, hold_id: str) -> None:
    rid = page.restaurant_id
    authorize(page_principal(rid), rid, Permission.MANAGE_HOLDS)
    holds.release_hold(db, rid, hold_id)


# --- confirmation ----------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    booking_id: str
    reference: str
    party_size: int
    date: date
    time: str
    status: str


def confirm_form_key(hold_id: str) -> str:
    """The Idempotency-Key a rendering of the confirm form carries: one per hold and
    rendering. A double click sends one key twice; any other replay (a reload that
    renders a new key, back and resubmit) is settled by the hold itself, since a
    confirmation is recorded against its hold."""
    return f"book-{hold_id}-{secrets.token_urlsafe(12)}"


def booking_reference(booking_id: str) -> str:
    """The short reference a guest quotes: the booking id's first eight hex digits."""
    return booking_id.replace("-", "")[:8].upper()


def confirm(
    db: Database, page: GuestPage, hold_id: str, guest: Guest, notes: str | None, idempotency_key: str
) -> tuple[Confirmation, bool]:
    """Confirm the guest's hold. A replay (double click, reload, back and resubmit)
    returns the same booking with created=False."""
    rid = page.restaurant_id
    authorize(page_principal(rid), rid, Permission.MANAGE_HOLDS)
    request = ConfirmRequest(guest=guest, notes=notes, idempotency_key=idempotency_key)
    booking, created = holds.confirm_hold(db, rid, hold_id, request, page_principal(rid))
    return _confirmation(booking), created


def _confirmation(booking: Booking) -> Confirmation:
    start = booking.start  # already in the restaurant's zone
    return Confirmation(
        booking.id, booking_reference(booking.id), booking.party_size, start.date(), f"{start:%H:%M}", booking.status
    )


def confirmation(db: Database, page: GuestPage, booking_id: str) -> Confirmation:
    """What the confirmation page shows of a booking: time, party size, reference
    (never the guest's contact details)."""
    rid = page.restaurant_id
    authorize(page_principal(rid), rid, Permission.READ_AVAILABILITY)
    return _confirmation(bookings.get_booking(db, rid, booking_id))
