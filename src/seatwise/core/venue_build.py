"""Rebuild a stored policy: the canonical policy document back into a :class:`Policy`.

The database keeps the policy as the canonical document that
:func:`seatwise.core.venue_doc.venue_to_document` writes (every default explicit),
validated once when it was posted. Reading it back is a plain translation, not a
second validation: :func:`policy_from_canonical` trusts its input, and a missing key
is a broken invariant (``KeyError``), never a user error.

Invariant: ``policy_from_canonical(_policy_to_document(p))`` describes the same policy
as ``p``; the one difference is that an absent last seating comes back as the
service end, which is what an absent one means.

Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any

from seatwise.core.model import WEEKDAYS, AdjacencyMode, Enforcement, Pacing, Policy, Reseating, Service, TurnBand

__all__ = ["policy_from_canonical"]


def policy_from_canonical(doc: Mapping[str, Any]) -> Policy:
    """The :class:`Policy` a canonical policy document describes (no validation)."""
    return Policy(
        services=tuple(_service(s) for s in doc["services"]),
        adjacency_mode=AdjacencyMode(doc["adjacency_mode"]),
        max_tables_per_combination=int(doc["max_tables_per_combination"]),
        max_overage=int(doc["max_overage"]),
        hold_ttl_seconds=int(doc["hold_ttl_seconds"]),
        max_party_size=int(doc["max_party_size"]),
        closures=frozenset(date.fromisoformat(d) for d in doc["closures"]),
        # Policies stored before enforcement existed (DESIGN §12) were all enforced.
        enforcement=Enforcement(doc.get("enforcement", Enforcement.ENFORCE.value)),
        # Policies stored before re-seating existed (DESIGN §13) get its defaults.
        reseating=Reseating(doc.get("reseating", Reseating.AUTO.value)),
        reseating_budget_ms=int(doc.get("reseating_budget_ms", 150)),
    )


def _service(doc: Mapping[str, Any]) -> Service:
    pacing = doc["pacing"]
    return Service(
        name=doc["name"],
        days=frozenset(WEEKDAYS.index(d) for d in doc["days"]),
        start=time.fromisoformat(doc["start"]),
        end=time.fromisoformat(doc["end"]),
        turns=tuple(TurnBand(max_party=int(b["max_party"]), minutes=int(b["minutes"])) for b in doc["turns"]),
        last_seating=time.fromisoformat(doc["last_seating"]),
        allow_overrun=bool(doc["allow_overrun"]),
        buffer_before_minutes=int(doc["buffer_before_minutes"]),
        buffer_after_minutes=int(doc["buffer_after_minutes"]),
        pacing=None
        if pacing is None
        else Pacing(
            max_covers_per_slot=pacing["max_covers_per_slot"], max_parties_per_slot=pacing["max_parties_per_slot"]
        ),
    )
