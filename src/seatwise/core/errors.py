"""The one error hierarchy of Seatwise.

Every refusal anywhere in the system is a :class:`SeatwiseError` carrying a stable
:class:`ErrorCode`. Services and the core raise it; one handler in the API renders it
as problem+json. `docs/errors.md` is generated from :data:`ERROR_CATALOGUE` and a test
fails when the two drift.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    INVALID_VENUE = "INVALID_VENUE"
    OUTSIDE_SERVICE_HOURS = "OUTSIDE_SERVICE_HOURS"
    SERVICE_OVERRUN = "SERVICE_OVERRUN"
    SLACK_EXCEEDED = "SLACK_EXCEEDED"
    ADJACENCY_MISMATCH = "ADJACENCY_MISMATCH"
    ZONE_MISMATCH = "ZONE_MISMATCH"
    POLICY_DRIFT = "POLICY_DRIFT"
    CAPACITY_EXCEEDED = "CAPACITY_EXCEEDED"
    TABLE_CONFLICT = "TABLE_CONFLICT"
    HOLD_EXPIRED = "HOLD_EXPIRED"
    HOLD_CONFLICT = "HOLD_CONFLICT"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    ILLEGAL_TRANSITION = "ILLEGAL_TRANSITION"
    VENUE_IN_USE = "VENUE_IN_USE"
    BLOCK_CONFLICT = "BLOCK_CONFLICT"
    SLUG_TAKEN = "SLUG_TAKEN"
    BUSY = "BUSY"
    RATE_LIMITED = "RATE_LIMITED"
    NOT_FOUND = "NOT_FOUND"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    START_IN_PAST = "START_IN_PAST"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    UNSAFE_WEBHOOK_URL = "UNSAFE_WEBHOOK_URL"


# code -> (HTTP status, title, when it happens). The single source for docs/errors.md.
ERROR_CATALOGUE: dict[ErrorCode, tuple[int, str, str]] = {
    ErrorCode.VALIDATION_ERROR: (
        422,
        "Invalid request",
        "A field is missing, malformed, out of range or impossible (party size outside "
        "1..max_party_size, a date that does not exist, a local time inside a DST gap, "
        "an over-long text field, unknown table labels, a table set that can never seat "
        "the party).",
    ),
    ErrorCode.INVALID_VENUE: (
        422,
        "Invalid venue document",
        "A venue document was refused; `problems` lists every problem with its path. Nothing was written.",
    ),
    ErrorCode.OUTSIDE_SERVICE_HOURS: (
        422,
        "Outside service hours",
        "The requested start is not inside any service of that local date, the date is "
        "closed, or the start is later than the service's last seating.",
    ),
    ErrorCode.SERVICE_OVERRUN: (
        422,
        "Service overrun",
        "The service does not allow overrun and clamping the block at the service end leaves no dining time.",
    ),
    ErrorCode.SLACK_EXCEEDED: (
        422,
        "Slack budget exceeded",
        "A chosen table set wastes more seats than the policy's max_overage and allow_slack was not granted.",
    ),
    ErrorCode.ADJACENCY_MISMATCH: (
        422,
        "Tables are not adjacent",
        "A chosen combination does not satisfy the restaurant's adjacency mode, or "
        "includes a table that is not movable.",
    ),
    ErrorCode.ZONE_MISMATCH: (
        422,
        "Tables in several zones",
        "A chosen combination spans more than one zone.",
    ),
    ErrorCode.POLICY_DRIFT: (
        422,
        "Policy changed",
        "A hold was planned on a venue or policy that changed before the confirm, and its "
        "tables or window are no longer valid; `reasons` lists each one as `{reason, message}` "
        "(table_removed, table_inactive, closure, service, party_size, adjacency, slack, turn_overlap).",
    ),
    ErrorCode.CAPACITY_EXCEEDED: (
        409,
        "No capacity",
        "No table plan or pacing allowance exists for the party at that time; "
        "`alternatives` lists the nearest available times.",
    ),
    ErrorCode.TABLE_CONFLICT: (
        409,
        "Tables already taken",
        "A chosen table overlaps a live booking or a staff block (named in `checks`).",
    ),
    ErrorCode.HOLD_EXPIRED: (
        409,
        "Hold expired",
        "The hold's expiry has passed; its tables are free again.",
    ),
    ErrorCode.HOLD_CONFLICT: (
        409,
        "Tables held",
        "A chosen table overlaps a live hold of another guest.",
    ),
    ErrorCode.IDEMPOTENCY_KEY_REUSED: (
        409,
        "Idempotency key reused",
        "The Idempotency-Key was already used with a different request body.",
    ),
    ErrorCode.ILLEGAL_TRANSITION: (
        409,
        "Illegal status transition",
        "The booking's current status does not allow this action (for example seating a cancelled booking).",
    ),
    ErrorCode.VENUE_IN_USE: (
        409,
        "Venue change would strand bookings",
        "A venue change would strand future live bookings: it removes a table they use, "
        "puts it out of service, shrinks it below their party, splits their table "
        "combination across zones, leaves their start outside every service (hours, "
        "last seating, a new closure) or moves their local time (another time zone); "
        "`bookings` lists them with the reason. Nothing was written.",
    ),
    ErrorCode.BLOCK_CONFLICT: (
        409,
        "Block overlaps bookings",
        "A staff block would overlap live bookings, holds or other blocks; `bookings` "
        "lists them. Nothing is moved behind the host's back.",
    ),
    ErrorCode.SLUG_TAKEN: (
        409,
        "Slug already used",
        "Another restaurant already has this slug.",
    ),
    ErrorCode.BUSY: (
        409,
        "Busy",
        "Concurrent writers kept conflicting after the bounded number of retries; retrying later is safe.",
    ),
    ErrorCode.RATE_LIMITED: (
        429,
        "Too many requests",
        "A per-client limit applies: one client address keeps at most 3 live holds per "
        "restaurant through the guest page; `limit` gives the number.",
    ),
    ErrorCode.NOT_FOUND: (
        404,
        "Not found",
        "The resource does not exist, or belongs to another restaurant than the key's.",
    ),
    ErrorCode.UNAUTHENTICATED: (
        401,
        "Unauthenticated",
        "No API key, a malformed one, an unknown one or a revoked one.",
    ),
    ErrorCode.FORBIDDEN: (
        403,
        "Forbidden",
        "The key's role does not allow this action.",
    ),
    ErrorCode.METHOD_NOT_ALLOWED: (
        405,
        "Method not allowed",
        "The path exists but does not accept this HTTP method.",
    ),
    ErrorCode.START_IN_PAST: (
        422,
        "Start in the past",
        "A hold, or a booking by a channel key, starts before now; staff may record a booking up to 12 hours back.",
    ),
    ErrorCode.PAYLOAD_TOO_LARGE: (
        413,
        "Payload too large",
        "The request body is over 1 MiB; it was refused before being read whole or parsed.",
    ),
    ErrorCode.DATABASE_UNAVAILABLE: (
        503,
        "Database unavailable",
        "The database could not be reached within the bound (about 2 s), or the connection was lost while the "
        "request ran; nothing is promised about a write whose commit was cut off, so replay it with the same "
        "`Idempotency-Key`. `Retry-After` says when to try again.",
    ),
    ErrorCode.INTERNAL_ERROR: (
        500,
        "Internal error",
        "A bug: never expected for any input. The response carries no internals; the server log has the traceback.",
    ),
    ErrorCode.UNSAFE_WEBHOOK_URL: (
        422,
        "Webhook URL refused",
        "A webhook URL must be https to a public address (not loopback, link-local or private); "
        "SEATWISE_WEBHOOK_ALLOW_PRIVATE=1 also allows http and private addresses.",
    ),
}


class SeatwiseError(Exception):
    """A refusal with a stable code; `fields` become members of the problem document.

    Raise a subclass: every :class:`ErrorCode` has exactly one, which declares the
    structured members it carries as typed keyword arguments (zulip's `ErrorCode`
    subclasses with their `data_fields`). :func:`error_class` finds the class of a code.
    """

    code: ErrorCode = ErrorCode.VALIDATION_ERROR
    _by_code: dict[ErrorCode, type[SeatwiseError]] = {}  # noqa: RUF012 - the registry, filled by subclassing

    def __init_subclass__(cls, *, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if abstract:
            return
        if cls.code in SeatwiseError._by_code:
            raise TypeError(f"{cls.code} already has {SeatwiseError._by_code[cls.code].__name__}")
        SeatwiseError._by_code[cls.code] = cls

    def __init__(self, detail: str, **fields: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields

    @property
    def status(self) -> int:
        return ERROR_CATALOGUE[self.code][0]

    @property
    def title(self) -> str:
        return ERROR_CATALOGUE[self.code][1]

    def problem(self) -> dict[str, Any]:
        """The problem+json document. The standard members always win: a field named
        like one of them (`status`...) can never change what a client dispatches on."""
        standard = {
            "type": f"https://seatwise.dev/errors/{self.code.value.lower().replace('_', '-')}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code.value,
        }
        return {**standard, **{k: v for k, v in self.fields.items() if k not in standard}}


def error_class(code: ErrorCode) -> type[SeatwiseError]:
    """The exception class of `code` (every code has one)."""
    return SeatwiseError._by_code[code]


def error_for(code: ErrorCode, detail: str, **fields: Any) -> SeatwiseError:
    """An error of `code` with untyped fields: for shells that map a foreign status
    (the HTTP layer's 404 and 405) onto a code. Services raise the typed classes."""
    cls = error_class(code)
    error = cls.__new__(cls)
    SeatwiseError.__init__(error, detail, **fields)
    return error


# A check of a table set as problem+json renders it: {"check", "ok", "message"}.
CheckDoc = dict[str, Any]


class ValidationFailed(SeatwiseError):
    code = ErrorCode.VALIDATION_ERROR

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        checks: list[CheckDoc] | None = None,
        labels: list[str] | None = None,
    ) -> None:
        given = {"errors": errors, "checks": checks, "labels": labels}
        super().__init__(detail, **{k: v for k, v in given.items() if v is not None})


class InvalidVenue(SeatwiseError):
    code = ErrorCode.INVALID_VENUE

    def __init__(self, problems: list[dict[str, str]]) -> None:
        first = problems[0]["path"] + ": " + problems[0]["message"] if problems else "invalid"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{first}{more}", problems=problems)


class OutsideServiceHours(SeatwiseError):
    code = ErrorCode.OUTSIDE_SERVICE_HOURS


class ServiceOverrun(SeatwiseError):
    code = ErrorCode.SERVICE_OVERRUN


class _TableSetRefused(SeatwiseError, abstract=True):
    """A refused table set: `checks` lists every check, passed or failed."""

    def __init__(self, detail: str, *, checks: list[CheckDoc]) -> None:
        super().__init__(detail, checks=checks)


class SlackExceeded(_TableSetRefused):
    code = ErrorCode.SLACK_EXCEEDED


class AdjacencyMismatch(_TableSetRefused):
    code = ErrorCode.ADJACENCY_MISMATCH


class ZoneMismatch(_TableSetRefused):
    code = ErrorCode.ZONE_MISMATCH


class TableConflict(SeatwiseError):
    code = ErrorCode.TABLE_CONFLICT

    def __init__(self, detail: str, *, checks: list[CheckDoc] | None = None) -> None:
        super().__init__(detail, **({"checks": checks} if checks is not None else {}))


class HoldConflict(_TableSetRefused):
    code = ErrorCode.HOLD_CONFLICT


class PolicyDrift(SeatwiseError):
    code = ErrorCode.POLICY_DRIFT

    def __init__(self, detail: str, *, reasons: list[dict[str, str]]) -> None:
        super().__init__(detail, reasons=reasons)


class CapacityExceeded(SeatwiseError):
    code = ErrorCode.CAPACITY_EXCEEDED

    def __init__(self, detail: str, *, alternatives: list[str]) -> None:
        super().__init__(detail, alternatives=alternatives)


class HoldExpired(SeatwiseError):
    code = ErrorCode.HOLD_EXPIRED

    def __init__(self, detail: str, *, expired_at: str) -> None:
        super().__init__(detail, expired_at=expired_at)


class IdempotencyKeyReused(SeatwiseError):
    code = ErrorCode.IDEMPOTENCY_KEY_REUSED


class IllegalTransition(SeatwiseError):
    code = ErrorCode.ILLEGAL_TRANSITION

    def __init__(self, detail: str, *, booking_status: str, action: str) -> None:
        super().__init__(detail, booking_status=booking_status, action=action)


class VenueInUse(SeatwiseError):
    code = ErrorCode.VENUE_IN_USE

    def __init__(self, detail: str, *, bookings: list[dict[str, Any]]) -> None:
        super().__init__(detail, bookings=bookings)


class BlockConflict(SeatwiseError):
    code = ErrorCode.BLOCK_CONFLICT

    def __init__(self, detail: str, *, bookings: list[dict[str, Any]]) -> None:
        super().__init__(detail, bookings=bookings)


class SlugTaken(SeatwiseError):
    code = ErrorCode.SLUG_TAKEN

    def __init__(self, slug: str) -> None:
        super().__init__(f"slug {slug!r} is already used by another restaurant", slug=slug)


class Busy(SeatwiseError):
    code = ErrorCode.BUSY


class RateLimited(SeatwiseError):
    code = ErrorCode.RATE_LIMITED

    def __init__(self, detail: str, *, limit: int) -> None:
        super().__init__(detail, limit=limit)


class NotFound(SeatwiseError):
    code = ErrorCode.NOT_FOUND


class Unauthenticated(SeatwiseError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(SeatwiseError):
    code = ErrorCode.FORBIDDEN


class MethodNotAllowed(SeatwiseError):
    code = ErrorCode.METHOD_NOT_ALLOWED


class InternalError(SeatwiseError):
    code = ErrorCode.INTERNAL_ERROR


class StartInPast(SeatwiseError):
    code = ErrorCode.START_IN_PAST


class PayloadTooLarge(SeatwiseError):
    code = ErrorCode.PAYLOAD_TOO_LARGE


class DatabaseUnavailable(SeatwiseError):
    """The database did not answer: a 503 with `Retry-After` (seconds)."""

    code = ErrorCode.DATABASE_UNAVAILABLE
    retry_after = 1


class UnsafeWebhookUrl(SeatwiseError):
    code = ErrorCode.UNSAFE_WEBHOOK_URL
