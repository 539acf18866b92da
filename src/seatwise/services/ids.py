"""Resource ids as they arrive from a path or a command line."""

from __future__ import annotations

import uuid

from seatwise.core.errors import NotFound


def parse_id(value: str, what: str) -> str:
    """The canonical form of a resource id; anything that is not a UUID simply does
    not exist (404, never a database error)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound(f"no such {what}") from None
