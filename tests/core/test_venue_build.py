"""A stored canonical policy reads back as the policy that was validated."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from seatwise.core.model import Pacing
from seatwise.core.venue_build import policy_from_canonical
from seatwise.core.venue_doc import normalise_document, parse_venue_document
from tests.conftest import load_example, small_venue


def _variants() -> list[dict[str, Any]]:
    night = small_venue(tables=2)
    service = night["policy"]["services"][0]
    service.update(start="22:00", end="02:00", allow_overrun=True, buffer_before_minutes=5, buffer_after_minutes=10)
    del service["last_seating"]  # absent: the service end
    service["pacing"] = {"max_covers_per_slot": 12}  # one limit only
    night["policy"].update(adjacency_mode="pairwise", closures=["2027-01-01", "2026-12-31"])
    return [load_example("demo-bistro.yaml"), load_example("grand-hall.yaml"), night]


@pytest.mark.parametrize("doc", _variants(), ids=["demo-bistro", "grand-hall", "night-pairwise"])
def test_canonical_policy_reads_back_as_the_parsed_policy(doc: dict[str, Any]) -> None:
    canonical = normalise_document(copy.deepcopy(doc))
    policy = policy_from_canonical(canonical["policy"])
    assert policy == parse_venue_document(canonical).policy
    # The original document's policy differs at most by an absent last seating, read back as the end.
    original = parse_venue_document(doc).policy
    assert len(policy.services) == len(original.services)
    for read, parsed in zip(policy.services, original.services, strict=True):
        assert read.last_seating == (parsed.last_seating or parsed.end)


def test_one_pacing_limit_keeps_the_other_unlimited() -> None:
    doc = _variants()[2]
    service = policy_from_canonical(normalise_document(doc)["policy"]).services[0]
    assert service.pacing == Pacing(max_covers_per_slot=12, max_parties_per_slot=None)
