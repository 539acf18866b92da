"""Importing bookings from the system a restaurant used before (DESIGN §12).

`import_bookings` takes the rows as plain mappings (JSON objects, or CSV records:
every shell parses its format, the rules of a row live here) with the columns
`start, party_size, name, phone, email, status, tables, external_ref`. Every row gets
an outcome (`ImportedRow`); the whole import is one transaction, so it is stored
whole or not at all, and retried whole on a concurrent writer's conflict.

- A row that cannot be a booking (no start, no service at that time, a party outside
  the policy, a bad field) is `invalid` and not stored.
- A row that occupies tables (pending, confirmed, seated) is seated by
  `core.importing.seat_rows`: `placed` on its own tables, `planned`, or kept
  `unassigned` with the reason (it keeps its claim, `core.claims`).
- A row of another status (completed, cancelled, no-show) is history: stored with
  its tables, occupying nothing.
- Pacing is never bent: a row counts in its slot's pacing while the limit allows;
  rows beyond it are kept but not counted (`pacing_counted`).
- Rows are created a microsecond apart in file order, so unassigned rows claim
  freed tables in file order.
- `external_ref` is unique per restaurant: a row imported before is answered as a
  replay and not written again, so a re-import is idempotent.

Lock order (docs/architecture.md): the restaurant row, the pacing rows of every slot
the rows start in (ascending), then allocation rows in ascending table order.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email

from seatwise.core.errors import SeatwiseError, ValidationFailed
from seatwise.core.events import EventType
from seatwise.core.importing import ImportRow, Seating, seat_rows
from seatwise.core.model import PacingUsage, Venue
from seatwise.core.pacing import pacing_allows
from seatwise.core.timerules import BookingWindow, booking_window, resolve_start
from seatwise.core.venue_doc import policy_version
from seatwise.services.auth import Permission, Principal, authorize
from seatwise.services.common import OCCUPYING, NewBooking, booking_row, utcnow, window_columns
from seatwise.services.ids import parse_id
from seatwise.services.results import Booking, Guest, ImportedRow, ImportResult, booking_of, labels_of, to_json
from seatwise.services.snapshot import venue_snapshot
from seatwise.store import bookings as repo
from seatwise.store import ledger
from seatwise.store.db import Database
from seatwise.store.venues import Conn

COLUMNS = ("start", "party_size", "name", "phone", "email", "status", "tables", "external_ref")
STATUSES = ("pending", "confirmed", "seated", "completed", "cancelled", "no_show")
MAX_ROWS = 5000
_TABLE_SEPARATORS = re.compile(r"[\s+,;]+")


@dataclass(frozen=True, slots=True)
class _Row:
    """A valid row, its window computed."""

    position: int
    party_size: int
    guest: Guest
    status: str
    labels: tuple[str, ...]
    external_ref: str | None
    window: BookingWindow


class _Invalid(Exception):
    pass


def _text(raw: Mapping[str, object], column: str, limit: int) -> str | None:
    value = raw.get(column)
    if isinstance(value, int) and not isinstance(value, bool) and column == "external_ref":
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise _Invalid(f"{column}: must be text")
    value = value.strip()
    if len(value) > limit:
        raise _Invalid(f"{column}: at most {limit} characters")
    return value


def _required(raw: Mapping[str, object], column: str, limit: int) -> str:
    value = _text(raw, column, limit)
    if value is None:
        raise _Invalid(f"{column}: required")
    return value


def _party(raw: Mapping[str, object], venue: Venue) -> int:
    value = raw.get("party_size")
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Invalid("party_size: required, a whole number")
    limit = venue.policy.max_party_size
    if not 1 <= value <= limit:
        raise _Invalid(f"party_size: must be between 1 and {limit}, got {value}")
    return value


def _labels(raw: Mapping[str, object]) -> tuple[str, ...]:
    value = raw.get("tables")
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(x for x in _TABLE_SEPARATORS.split(value.strip()) if x)
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return tuple(x.strip() for x in value if x.strip())
    raise _Invalid("tables: a list of table labels, or labels separated by '+', ',' or spaces")


def _parse(venue: Venue, position: int, raw: object) -> _Row:
    """A row's fields checked and its window drawn, or _Invalid with the problem."""
    if not isinstance(raw, Mapping):
        raise _Invalid("a row must be an object with the import's columns")
    unknown = sorted(str(k) for k in raw if k not in COLUMNS)
    if unknown:
        raise _Invalid(f"unknown columns: {', '.join(unknown)} (expected {', '.join(COLUMNS)})")
    start_text = _required(raw, "start", 64)
    party = _party(raw, venue)
    name = _required(raw, "name", 200)
    phone = _text(raw, "phone", 40)
    email = _text(raw, "email", 254)
    if email is not None:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise _Invalid(f"email: {exc}") from None
    status = (_text(raw, "status", 20) or "confirmed").lower().replace("-", "_")
    if status not in STATUSES:
        raise _Invalid(f"status: one of {', '.join(STATUSES)}, got {status!r}")
    labels = _labels(raw)
    ref = _text(raw, "external_ref", 200)
    try:
        window = booking_window(venue, party, resolve_start(venue, start_text))
    except SeatwiseError as exc:
        raise _Invalid(f"start: {exc.detail}") from None
    return _Row(position, party, Guest(name, phone, email), status, labels, ref, window)


def _replayed(position: int, earlier: dict[str, Any]) -> ImportedRow:
    return ImportedRow(
        row=position,
        outcome=earlier["import_outcome"] or ("placed" if earlier["labels"] else "unassigned"),
        external_ref=earlier["external_ref"],
        booking_id=earlier["id"],
        tables=tuple(earlier["labels"]),
        reason=earlier["import_reason"],
        replayed=True,
    )


def import_bookings(db: Database, rid: str, rows: Sequence[object], actor: Principal) -> ImportResult:
    """Import `rows` (mappings with the import's columns) in one transaction."""
    rid = parse_id(rid, "restaurant")
    authorize(actor, rid, Permission.MANAGE_BOOKINGS)
    if len(rows) > MAX_ROWS:
        raise ValidationFailed(f"at most {MAX_ROWS} rows per import, got {len(rows)}")

    def use_case(conn: Conn) -> ImportResult:
        now = utcnow()
        venue = venue_snapshot(conn, rid, for_write=True)
        answers: dict[int, ImportedRow] = {}
        valid: list[_Row] = []
        first_of_ref: dict[str, int] = {}
        for position, raw in enumerate(rows, start=1):
            try:
                row = _parse(venue, position, raw)
            except _Invalid as exc:
                ref = raw.get("external_ref") if isinstance(raw, Mapping) else None
                answers[position] = ImportedRow(
                    position, "invalid", ref if isinstance(ref, str) else None, problem=str(exc)
                )
                continue
            if row.external_ref is not None:
                if row.external_ref in first_of_ref:
                    problem = f"external_ref {row.external_ref!r} repeats row {first_of_ref[row.external_ref]}"
                    answers[position] = ImportedRow(position, "invalid", row.external_ref, problem=problem)
                    continue
                first_of_ref[row.external_ref] = position
            valid.append(row)
        earlier = repo.bookings_by_external_ref(conn, rid, list(first_of_ref)) if first_of_ref else {}
        fresh = []
        for row in valid:
            if row.external_ref in earlier:
                answers[row.position] = _replayed(row.position, earlier[row.external_ref])
            else:
                fresh.append(row)
        answers.update(_store(conn, rid, venue, fresh, actor, now))
        ordered = tuple(answers[p] for p in sorted(answers))
        counts = Counter(a.outcome for a in ordered)
        return ImportResult(ordered, {**dict(counts), "replayed": sum(a.replayed for a in ordered)})

    return db.run(rid, use_case)


def _store(
    conn: Conn, rid: str, venue: Venue, rows: list[_Row], actor: Principal, now: datetime
) -> dict[int, ImportedRow]:
    """Seat and write the rows not imported before; their outcomes by position."""
    occupying = [r for r in rows if r.status in OCCUPYING]
    seatings: dict[int, Seating] = {}
    counted: set[int] = set()
    if occupying:
        usage = ledger.lock_slots(conn, rid, {r.window.slot_start: r.window.service.pacing for r in occupying}, now)
        lo = min(r.window.block_start for r in occupying)
        hi = max(r.window.block_end for r in occupying)
        day = ledger.load_ledger(conn, rid, lo, hi, now)
        seatings = seat_rows(
            venue,
            day,
            [
                ImportRow(
                    r.position, r.party_size, r.labels, r.window.block_start, r.window.block_end, r.window.service_date
                )
                for r in occupying
            ],
            now,
        )
        for r in occupying:  # pacing: counted while the slot's limit allows, in file order
            slot = r.window.slot_start
            if pacing_allows(r.window.service.pacing, usage[slot], r.party_size):
                usage[slot] = PacingUsage(usage[slot].covers + r.party_size, usage[slot].parties + 1)
                counted.add(r.position)
        # An import may place rows on any table: lock them all (ascending), as one batch.
        ledger.clear_expired_holds(conn, rid, lo, hi, now, [t.id for t in venue.tables])
    version = policy_version(venue.policy)
    written: list[tuple[dict[str, Any], tuple[int, ...]]] = []
    allocations: list[tuple[int, datetime, datetime, str]] = []
    pacing: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])
    out: dict[int, ImportedRow] = {}
    for r in rows:
        if r.status in OCCUPYING:
            seating = seatings[r.position]
        elif all(x in venue.table_by_label for x in r.labels) and r.labels:
            seating = Seating("placed", tuple(sorted({venue.table_by_label[x].id for x in r.labels})))
        else:
            seating = Seating("unassigned", reason=f"a {r.status} booking occupies no table")
        booking_id = str(uuid.uuid4())
        new = NewBooking(party_size=r.party_size, guest=r.guest, notes=None, allow_slack=True, policy_version=version)
        # A microsecond per row: claims of unassigned rows go oldest first in file order.
        created_at = now + timedelta(microseconds=r.position)
        row = {
            **booking_row(booking_id, new, window_columns(r.window), actor, created_at),
            "status": r.status,
            "pacing_counted": r.position in counted,
            "external_ref": r.external_ref,
            "import_outcome": seating.outcome,
            "import_reason": seating.reason,
        }
        written.append((row, seating.table_ids))
        if r.status in OCCUPYING:
            allocations += [(t, r.window.block_start, r.window.block_end, booking_id) for t in seating.table_ids]
        if r.position in counted:
            pacing[r.window.slot_start][0] += r.party_size
            pacing[r.window.slot_start][1] += 1
        out[r.position] = ImportedRow(
            r.position, seating.outcome, r.external_ref, booking_id, labels_of(venue, seating.table_ids), seating.reason
        )
    if written:
        repo.insert_bookings(conn, rid, written)
        ledger.insert_allocation_rows(conn, rid, allocations)
        for slot in sorted(pacing):
            ledger.add_pacing(conn, rid, slot, *pacing[slot])
        created: list[Booking] = [
            booking_of(venue, {**row, "labels": labels_of(venue, tables)}) for row, tables in written
        ]
        repo.emit_many(conn, rid, EventType.BOOKING_CREATED.value, [to_json(b) for b in created])
    return out
