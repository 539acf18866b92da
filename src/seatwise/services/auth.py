"""Who is calling, and what they may do (DESIGN §7).

A key for restaurant A gets `NOT_FOUND` for anything of restaurant B: existence is
not revealed. A role that lacks a permission gets `FORBIDDEN`.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from enum import StrEnum

from seatwise.core.errors import Forbidden, NotFound, Unauthenticated
from seatwise.services.ids import parse_id
from seatwise.store import keys
from seatwise.store.db import Database
from seatwise.store.probe import AsyncReads, Probe


class Permission(StrEnum):
    READ_AVAILABILITY = "read_availability"
    MANAGE_HOLDS = "manage_holds"
    CREATE_BOOKING = "create_booking"
    CANCEL_OWN_BOOKING = "cancel_own_booking"
    READ_BOOKINGS = "read_bookings"
    MANAGE_BOOKINGS = "manage_bookings"
    READ_VENUE = "read_venue"
    MANAGE_VENUE = "manage_venue"
    MANAGE_KEYS = "manage_keys"
    READ_RESTAURANT = "read_restaurant"
    MANAGE_WEBHOOKS = "manage_webhooks"


CHANNEL = frozenset(
    {
        Permission.READ_AVAILABILITY,
        Permission.MANAGE_HOLDS,
        Permission.CREATE_BOOKING,
        Permission.CANCEL_OWN_BOOKING,
        Permission.READ_RESTAURANT,
    }
)
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "staff": frozenset(Permission),
    "channel": CHANNEL,
}


@dataclass(frozen=True)
class Principal:
    role: str  # admin | staff | channel
    restaurant_id: str | None  # None for the platform admin
    key_id: str | None

    def may(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    @property
    def label(self) -> str:
        """Who did it, as events and confirmation records name them."""
        return f"{self.role}:{self.key_id or '-'}"


# The principal of work the system does by itself (jobs, the CLI).
SYSTEM = Principal("admin", None, None)


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; the scheme is
    case-insensitive (RFC 9110 §11.1). No I/O: a request without a usable key is
    refused before it waits for anything."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("send 'Authorization: Bearer <api key>'")
    return token


def is_admin_key(admin_key: str, token: str) -> bool:
    return hmac.compare_digest(token.encode(), admin_key.encode())


def authenticate(db: Database, admin_key: str, authorization: str | None) -> Principal:
    return authenticate_token(db, admin_key, bearer_token(authorization))


def authenticate_token(db: Database, admin_key: str, token: str) -> Principal:
    if is_admin_key(admin_key, token):
        return Principal("admin", None, None)
    rid = key_restaurant(token)
    with db.autocommit() as conn:  # one statement, one round trip, on every request
        row = keys.find_key(conn, rid, token)
    if row is None or row["revoked_at"] is not None:
        raise Unauthenticated("unknown or revoked API key")
    return Principal(row["role"], rid, row["id"])


def key_restaurant(token: str) -> str:
    """The restaurant a restaurant key names (`sw_<hex uuid>_<secret>`); 401 when malformed."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "sw":
        raise Unauthenticated("unknown API key")
    try:
        return str(uuid.UUID(hex=parts[1]))
    except ValueError:
        raise Unauthenticated("unknown API key") from None


async def authenticate_read(
    reads: AsyncReads, admin_key: str, authorization: str | None, rid: str
) -> tuple[Principal, Probe]:
    """Authenticate the `Authorization` header for restaurant `rid` and read its
    versions, in one statement on the event loop (`store.probe`): a revoked key is
    refused at once, a read answered from the cache needs no other round trip, and a
    write may be answered from a refusal kept for them (services.refusals). A key of
    another restaurant probes its own restaurant (`authorize` then answers NOT_FOUND).
    The routes' dependency, the availability body and the fast path all call it."""
    return await authenticate_with_versions(reads, admin_key, bearer_token(authorization), rid)


async def authenticate_probed(reads: AsyncReads, admin_key: str, token: str) -> Principal:
    """`authenticate_token` on the event loop: the key's row is read by the batched
    read probe (`store.probe`), so a request waits for no worker thread and no pool
    connection to be authenticated, and a revoked key is still refused at once."""
    if is_admin_key(admin_key, token):
        return Principal("admin", None, None)
    who, _ = await _probe_key(reads, token)
    return who


# Who is asking, and the versions its authentication read (store.probe).
Probed = tuple[Principal, Probe]


async def authenticate_with_versions(reads: AsyncReads, admin_key: str, token: str, rid_text: str) -> Probed:
    """`authenticate_probed`, also returning the versions the probe read: a
    restaurant key's own restaurant's (`authorize` refuses any other), or for the
    admin key the path's restaurant's (parsed only then: a bad key is 401 first)."""
    if is_admin_key(admin_key, token):
        return Principal("admin", None, None), await reads.probe(parse_id(rid_text, "restaurant"), None)
    return await _probe_key(reads, token)


async def _probe_key(reads: AsyncReads, token: str) -> tuple[Principal, Probe]:
    key_rid = key_restaurant(token)
    found = await reads.probe(key_rid, token)
    if not found.key_found or found.revoked_at is not None or found.role is None:
        raise Unauthenticated("unknown or revoked API key")
    return Principal(found.role, key_rid, found.key_id), found


def authorize(principal: Principal, rid: str, permission: Permission) -> None:
    """Raise unless `principal` may use `permission` on restaurant `rid`."""
    if principal.role != "admin" and principal.restaurant_id != rid:
        raise NotFound("no such restaurant")
    if not principal.may(permission):
        raise Forbidden(f"a {principal.role} key may not {permission.value.replace('_', ' ')}")


def authorize_booking_action(principal: Principal, rid: str, action: str) -> bool:
    """Authorize a status change of a booking; True when the principal may only act
    on bookings its own key created (a channel cancelling its own booking)."""
    if action == "cancel" and not principal.may(Permission.MANAGE_BOOKINGS):
        authorize(principal, rid, Permission.CANCEL_OWN_BOOKING)
        return True
    authorize(principal, rid, Permission.MANAGE_BOOKINGS)
    return False


def require_admin(principal: Principal) -> None:
    if principal.role != "admin":
        raise Forbidden("only the platform admin key may do this")


def principal_of_key_id(db: Database, rid: str, key_id: str) -> Principal:
    """The principal of a restaurant key known by id (a dashboard session), as long
    as the key exists and is not revoked: revoking a key ends its sessions too."""
    with db.tenant(rid) as conn:
        row = keys.get_key(conn, rid, key_id)
    if row is None or row["revoked_at"] is not None:
        raise Unauthenticated("the key of this session was revoked")
    return Principal(row["role"], rid, row["id"])
