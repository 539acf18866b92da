"""Parse the venue editor's flat form into a venue document, and back.

Field names are the document's own paths (`tables[3].seats`,
`policy.services[0].turns[1].minutes`), so the venue validation's problems (which
carry those paths) land next to their fields. Parsing only reshapes: numbers that
read as integers become integers, anything else is passed through for the
validation to name; blank optional values and blank rows are left out; ticked
"remove" rows are dropped. No venue rule is checked here.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from typing import Any

INTEGER_FIELDS = frozenset(
    {
        "slot_minutes",
        "max_tables_per_combination",
        "max_overage",
        "hold_ttl_seconds",
        "max_party_size",
        "reseating_budget_ms",
        "seats",
        "min_party",
        "max_party",
        "priority",
        "x",
        "y",
        "width",
        "height",
        "buffer_before_minutes",
        "buffer_after_minutes",
        "minutes",
        "max_covers_per_slot",
        "max_parties_per_slot",
    }
)
CHECKBOX_FIELDS = {"tables": ("movable", "active"), "services": ("allow_overrun",)}
_TOKEN = re.compile(r"([A-Za-z_]+)|\[(\d+)\]")
MAX_INDEX = 2_000  # beyond any venue's limits: a larger index is not a row


def _tokens(name: str) -> list[str | int] | None:
    out: list[str | int] = []
    pos = 0
    for m in _TOKEN.finditer(name):
        if m.start() != pos and name[pos : m.start()] != ".":
            return None
        out.append(m.group(1) if m.group(1) else int(m.group(2)))
        pos = m.end()
    if pos != len(name) or any(isinstance(t, int) and t > MAX_INDEX for t in out):
        return None
    return out


def _nest(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    root: dict[Any, Any] = {}
    for name, value in pairs:
        tokens = _tokens(name)
        if not tokens or not isinstance(tokens[0], str):
            continue
        node = root
        for token, _following in itertools.pairwise(tokens):
            node = node.setdefault(token, {})
            if not isinstance(node, dict):
                break
        else:
            leaf = tokens[-1]
            if leaf in node and isinstance(node[leaf], list):
                node[leaf].append(value)
            elif leaf in node and not isinstance(node[leaf], dict):
                node[leaf] = [node[leaf], value]  # repeated field (checkbox group)
            else:
                node[leaf] = value
    return root


def _rows(node: object) -> list[Any]:
    """An index-keyed dict as a list in index order."""
    if not isinstance(node, dict):
        return []
    return [node[k] for k in sorted(k for k in node if isinstance(k, int))]


def _scalar(key: str, value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        if key in INTEGER_FIELDS and re.fullmatch(r"-?\d{1,9}", value):
            return int(value)
    return value


def _clean(row: object, checkboxes: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """A row's fields with blanks left out; None for a blank or removed row."""
    if not isinstance(row, dict) or row.get("remove") == "on":
        return None
    out = {k: _scalar(k, v) for k, v in row.items() if isinstance(k, str) and k != "remove" and v != ""}
    if not any(isinstance(v, str | int) and k not in checkboxes for k, v in out.items()):
        return None
    for key in checkboxes:
        out[key] = out.get(key) == "on"
    return out


def _service(row: object) -> dict[str, Any] | None:
    if not isinstance(row, dict) or row.get("remove") == "on":
        return None
    turns = [t for t in (_clean(x) for x in _rows(row.get("turns"))) if t]
    pacing = _clean(row.get("pacing")) or None
    base = _clean({k: v for k, v in row.items() if k not in ("turns", "pacing", "days")}, ("allow_overrun",))
    if base is None and not turns:
        return None
    days = row.get("days", [])
    out: dict[str, Any] = {**(base or {}), "days": [days] if isinstance(days, str) else list(days), "turns": turns}
    if pacing:
        out["pacing"] = pacing
    return out


def form_to_document(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    raw = _nest(pairs)
    policy_raw = raw.get("policy", {}) if isinstance(raw.get("policy"), dict) else {}
    policy = {k: _scalar(k, v) for k, v in policy_raw.items() if isinstance(v, str) and v != "" and k != "closures"}
    policy["services"] = [s for s in (_service(x) for x in _rows(policy_raw.get("services"))) if s]
    policy["closures"] = [c.strip() for c in _rows(policy_raw.get("closures")) if isinstance(c, str) and c.strip()]
    pairs_out = []
    for row in _rows(raw.get("adjacency")):
        if isinstance(row, dict) and row.get("remove") != "on" and (row.get("a") or row.get("b")):
            pairs_out.append([row.get("a", ""), row.get("b", "")])
    doc: dict[str, Any] = {
        k: _scalar(k, v)
        for k, v in raw.items()
        if isinstance(v, str) and k in ("name", "slug", "timezone", "slot_minutes")
    }
    doc["policy"] = policy
    doc["zones"] = [z for z in (_clean(x) for x in _rows(raw.get("zones"))) if z]
    doc["tables"] = [t for t in (_clean(x, CHECKBOX_FIELDS["tables"]) for x in _rows(raw.get("tables"))) if t]
    doc["adjacency"] = pairs_out
    return doc


def with_blank_rows(doc: dict[str, Any], add: str | None) -> dict[str, Any]:
    """The document as the editor shows it: one more blank row where asked."""
    out = {**doc, "policy": {**doc.get("policy", {})}}
    if add == "table":
        out["tables"] = [*doc.get("tables", []), {"movable": True, "active": True}]
    elif add == "zone":
        out["zones"] = [*doc.get("zones", []), {}]
    elif add == "service":
        out["policy"]["services"] = [*doc.get("policy", {}).get("services", []), {"days": [], "turns": []}]
    return out
