"""Venue documents: validate one into a :class:`Venue`, and write a venue back out.

A venue document (DESIGN §7) is what an admin posts and what the CLI imports: a
mapping as loaded from YAML or JSON. :func:`parse_venue_document` is strict — an
unknown key is a problem, so a typo never silently becomes a default — and it reports
*every* problem at once, each with the path of the offending value
(``tables[3].zone``, ``policy.services[0].turns[1]``), in one :class:`InvalidVenue`.

:func:`venue_to_document` writes the canonical document: every default explicit,
tables in natural label order, adjacency pairs sorted, weekdays in mon..sun order,
closures sorted. Invariant: ``normalise_document`` is idempotent, and
``policy_version`` depends only on the canonical form of the policy.

Table ids of a parsed venue are positions in the document (1..n); they are not
stable across an export (which sorts tables), so compare documents, not venues.

Nothing here does I/O.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from typing import Any, NamedTuple, TypeVar

import yaml

from seatwise.core.errors import InvalidVenue
from seatwise.core.model import (
    PRIORITY,
    WEEKDAYS,
    AdjacencyMode,
    Enforcement,
    Pacing,
    Policy,
    Position,
    Reseating,
    Service,
    Shape,
    Table,
    TurnBand,
    Venue,
    Zone,
    natural_key,
)
from seatwise.core.planner import planning_problem

__all__ = [
    "load_document_text",
    "normalise_document",
    "parse_venue_document",
    "policy_version",
    "table_to_document",
    "venue_to_document",
]

# Bounds. Lists are capped so that validating any document is cheap, whatever it holds.
NAME_MAX = 200
# A slug is 1..63 characters like a DNS label, so it can name hosts and paths.
_Mode = TypeVar("_Mode", bound=StrEnum)

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
ZONE_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
ZONE_NAME_MAX = 100
LABEL_MAX = 40
SERVICE_NAME_MAX = 60
TIME_RE = re.compile(r"^(\d\d):(\d\d)$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SLOT_MINUTES = (5, 120)
SEATS = (1, 50)
PARTY = (1, 200)
MAX_TABLES_PER_COMBINATION = (1, 5)
MAX_OVERAGE = (0, 20)
HOLD_TTL_SECONDS = (1, 3600)
RESEATING_BUDGET_MS = (10, 2000)
MAX_PARTY_SIZE = (1, 200)
TURN_MINUTES = (1, 720)
BUFFER_MINUTES = (0, 240)
PACING_LIMIT = (1, 10_000)
MAX_ZONES = 100
MAX_TABLES = 1_000
MAX_EDGES = 10_000
MAX_SERVICES = 20
MAX_TURNS = 20
MAX_CLOSURES = 1_000

_ROOT_KEYS = (
    "name",
    "slug",
    "timezone",
    "slot_minutes",
    "policy",
    "zones",
    "tables",
    "adjacency",
)
_POLICY_KEYS = (
    "adjacency_mode",
    "max_tables_per_combination",
    "max_overage",
    "hold_ttl_seconds",
    "max_party_size",
    "services",
    "closures",
    "enforcement",
    "reseating",
    "reseating_budget_ms",
)
_SERVICE_KEYS = (
    "name",
    "days",
    "start",
    "end",
    "last_seating",
    "allow_overrun",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "turns",
    "pacing",
)
_TURN_KEYS = ("max_party", "minutes")
_PACING_KEYS = ("max_covers_per_slot", "max_parties_per_slot")
_ZONE_KEYS = ("key", "name", "priority")
_TABLE_KEYS = (
    "label",
    "zone",
    "seats",
    "min_party",
    "max_party",
    "movable",
    "active",
    "priority",
    "x",
    "y",
    "width",
    "height",
    "shape",
)
_POSITION_KEYS = ("x", "y", "width", "height", "shape")
COORDINATE = (0, 10_000)
TABLE_SIZE = (10, 1_000)
DEFAULT_TABLE_SIZE = 60

_UNPRINTABLE = frozenset({"Cc", "Cs", "Zl", "Zp"})  # controls, lone surrogates, breaks
_MINUTES_PER_DAY = 24 * 60
_MINUTES_PER_WEEK = 7 * _MINUTES_PER_DAY

Problem = dict[str, str]


# ----------------------------------------------------------------------------- parse


def parse_venue_document(doc: object) -> Venue:
    """Validate a venue document and build the :class:`Venue` it describes.

    Raises :class:`InvalidVenue` listing every problem found (never only the first).
    Tables get ids 1..n in document order; adjacency is a set of id pairs.
    """
    c = _Checker()
    venue = c.venue(doc)
    if c.problems or venue is None:
        raise InvalidVenue(c.problems or [{"path": "$", "message": "invalid venue document"}])
    return venue


def load_document_text(text: str) -> object:
    """Parse YAML or JSON text into plain data (no venue validation yet).

    JSON is tried first (it is exact about types), then YAML. Malformed text, nesting
    too deep to read, and a mapping that repeats a key (which both loaders would
    otherwise resolve silently, last one wins) raise :class:`InvalidVenue` at ``$``.
    """
    try:
        try:
            return json.loads(text, object_pairs_hook=_json_object)
        except _DuplicateKey:
            raise
        except ValueError:
            pass  # not JSON: read it as YAML
        return yaml.load(text, Loader=_StrictSafeLoader)  # noqa: S506 -- a SafeLoader
    except _DuplicateKey as exc:
        message = str(exc)
    except yaml.YAMLError as exc:
        message = f"malformed YAML/JSON: {_yaml_reason(exc)}"
    except RecursionError:
        message = "malformed YAML/JSON: nested too deeply"
    raise InvalidVenue([{"path": "$", "message": message}])


def normalise_document(doc: object) -> dict[str, Any]:
    """The canonical form of a venue document (raises :class:`InvalidVenue`)."""
    return venue_to_document(parse_venue_document(doc))


# ----------------------------------------------------------------------------- export


def venue_to_document(venue: Venue) -> dict[str, Any]:
    """The canonical venue document: plain JSON/YAML data, every default explicit."""
    label_of = {t.id: t.label for t in venue.tables}
    pairs = []
    for edge in venue.adjacency:
        a, b = sorted((label_of[i] for i in edge), key=_label_order)
        pairs.append([a, b])
    pairs.sort(key=lambda p: (_label_order(p[0]), _label_order(p[1])))
    return {
        "name": venue.name,
        "slug": venue.slug,
        "timezone": venue.timezone,
        "slot_minutes": venue.slot_minutes,
        "policy": _policy_to_document(venue.policy),
        "zones": [_zone_to_document(z) for z in venue.zones],
        "tables": [table_to_document(t) for t in sorted(venue.tables, key=lambda t: _label_order(t.label))],
        "adjacency": pairs,
    }


def _zone_to_document(z: Zone) -> dict[str, Any]:
    """A zone's canonical entry; `priority` only when it is not the default 0."""
    out: dict[str, Any] = {"key": z.key, "name": z.name}
    if z.priority:
        out["priority"] = z.priority
    return out


def table_to_document(t: Table) -> dict[str, Any]:
    """A table's canonical entry; position keys only when the table has a position,
    `priority` only when the table has its own (else it has its zone's)."""
    out: dict[str, Any] = {
        "label": t.label,
        "zone": t.zone,
        "seats": t.seats,
        "min_party": t.min_party,
        "max_party": t.max_party,
        "movable": t.movable,
        "active": t.active,
    }
    if t.priority is not None:
        out["priority"] = t.priority
    if t.position is not None:
        p = t.position
        out.update(x=p.x, y=p.y, width=p.width, height=p.height, shape=p.shape.value)
    return out


@lru_cache(maxsize=1024)  # a booking asks it of its venue's policy: ~80 us each time, ~8 remembered
def policy_version(policy: Policy) -> str:
    """A short hex digest of the canonical policy.

    Any change of a band, window or limit changes it; equivalent spellings (an omitted
    default, days listed in another order) do not.
    """
    canonical = json.dumps(
        _policy_to_document(policy),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _policy_to_document(policy: Policy) -> dict[str, Any]:
    return {
        "adjacency_mode": policy.adjacency_mode.value,
        "max_tables_per_combination": policy.max_tables_per_combination,
        "max_overage": policy.max_overage,
        "hold_ttl_seconds": policy.hold_ttl_seconds,
        "max_party_size": policy.max_party_size,
        "services": [_service_to_document(s) for s in policy.services],
        "closures": sorted(d.isoformat() for d in policy.closures),
        "enforcement": policy.enforcement.value,
        "reseating": policy.reseating.value,
        "reseating_budget_ms": policy.reseating_budget_ms,
    }


def _service_to_document(service: Service) -> dict[str, Any]:
    last_seating = service.end if service.last_seating is None else service.last_seating
    pacing = service.pacing
    return {
        "name": service.name,
        "days": [WEEKDAYS[d] for d in sorted(service.days)],
        "start": _hhmm(service.start),
        "end": _hhmm(service.end),
        "last_seating": _hhmm(last_seating),
        "allow_overrun": service.allow_overrun,
        "buffer_before_minutes": service.buffer_before_minutes,
        "buffer_after_minutes": service.buffer_after_minutes,
        "turns": [{"max_party": b.max_party, "minutes": b.minutes} for b in service.turns],
        "pacing": None
        if pacing is None or (pacing.max_covers_per_slot is None and pacing.max_parties_per_slot is None)
        else {
            "max_covers_per_slot": pacing.max_covers_per_slot,
            "max_parties_per_slot": pacing.max_parties_per_slot,
        },
    }


def _hhmm(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def _label_order(label: str) -> tuple[tuple[tuple[int, int | str], ...], str]:
    return (natural_key(label), label)


# ----------------------------------------------------------------------------- checker


class _Checker:
    """Walks a document, recording problems and building model objects.

    Each ``_field`` helper returns the value, or None when it is absent (and optional)
    or invalid (and then a problem is recorded). A builder compares the problem count
    before and after to know whether what it read is usable.
    """

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append({"path": path or "$", "message": message})

    # --- generic fields ---------------------------------------------------------

    def mapping(self, value: object, path: str, allowed: Sequence[str]) -> dict[str, object] | None:
        if not isinstance(value, Mapping):
            self.add(path, f"must be a mapping, got {_describe(value)}")
            return None
        out: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                self.add(path, f"field names must be strings, got {_show(key)}")
            elif key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.add(_at(path, key), f"unknown field '{_clip(key)}'{hint}")
            else:
                out[key] = item
        return out

    def sequence(self, value: object, path: str, limit: int) -> list[object] | None:
        if not isinstance(value, list | tuple):
            self.add(path, f"must be a list, got {_describe(value)}")
            return None
        if len(value) > limit:
            self.add(path, f"must have at most {limit} entries, got {len(value)}")
            return None
        return list(value)

    def required(self, m: Mapping[str, object], path: str, key: str) -> bool:
        if key in m:
            return True
        self.add(_at(path, key), "is required")
        return False

    def integer(
        self,
        m: Mapping[str, object],
        path: str,
        key: str,
        bounds: tuple[int, int],
        default: int | None = None,
        *,
        nullable: bool = False,
    ) -> int | None:
        """An int within `bounds`; absent -> `default` (no default: required)."""
        if key not in m or (nullable and m[key] is None):
            if default is None and not nullable:
                self.add(_at(path, key), "is required")
            return default
        return self.check_int(m[key], _at(path, key), bounds)

    def check_int(self, value: object, path: str, bounds: tuple[int, int]) -> int | None:
        lo, hi = bounds
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(
                path,
                f"must be an integer between {lo} and {hi}, got {_describe(value)}",
            )
            return None
        if not lo <= value <= hi:
            self.add(path, f"must be between {lo} and {hi}, got {value}")
            return None
        return value

    def boolean(self, m: Mapping[str, object], path: str, key: str, default: bool) -> bool | None:
        if key not in m:
            return default
        value = m[key]
        if not isinstance(value, bool):
            self.add(_at(path, key), f"must be true or false, got {_describe(value)}")
            return None
        return value

    def text(
        self,
        m: Mapping[str, object],
        path: str,
        key: str,
        max_len: int,
        default: str | None = None,
    ) -> str | None:
        if key not in m:
            if default is None:
                self.add(_at(path, key), "is required")
            return default
        return self.check_text(m[key], _at(path, key), max_len)

    def check_text(self, value: object, path: str, max_len: int) -> str | None:
        if not isinstance(value, str):
            self.add(path, f"must be a string, got {_describe(value)}")
            return None
        if not value.strip():
            self.add(path, "must not be empty")
            return None
        if len(value) > max_len:
            self.add(path, f"must be at most {max_len} characters, got {len(value)}")
            return None
        if any(unicodedata.category(ch) in _UNPRINTABLE for ch in value):
            self.add(path, "must not contain control characters or line breaks")
            return None
        return value

    def clock(self, m: Mapping[str, object], path: str, key: str, *, required: bool) -> time | None:
        if key not in m or (not required and m[key] is None):
            if required:
                self.add(_at(path, key), "is required")
            return None
        value, where = m[key], _at(path, key)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            # YAML 1.1 reads an unquoted 17:00 as the sexagesimal number 1020.
            h, mi = divmod(value, 60)
            self.add(
                where,
                f'must be a quoted "HH:MM" string (YAML reads unquoted {h}:{mi:02d} as a number)',
            )
            return None
        match = TIME_RE.match(value) if isinstance(value, str) else None
        if match is None or int(match[1]) > 23 or int(match[2]) > 59:
            self.add(where, f'must be a time "HH:MM" (00:00..23:59), got {_describe(value)}')
            return None
        return time(int(match[1]), int(match[2]))

    # --- the document -----------------------------------------------------------

    def venue(self, doc: object) -> Venue | None:
        if not isinstance(doc, Mapping):
            self.add("$", f"a venue document must be a mapping, got {_describe(doc)}")
            return None
        root = self.mapping(doc, "", _ROOT_KEYS)
        if root is None:
            return None
        name = self.text(root, "", "name", NAME_MAX)
        slug = self.slug(root)
        timezone = self.timezone(root)
        slot_minutes = self.integer(root, "", "slot_minutes", SLOT_MINUTES, 15)
        if slot_minutes is not None and _MINUTES_PER_DAY % slot_minutes:
            self.add(
                "slot_minutes",
                f"must divide a day (1440 minutes) evenly, got {slot_minutes}",
            )
        policy = self.policy(root["policy"]) if self.required(root, "", "policy") else None
        zones, zone_keys = self.zones(root["zones"]) if self.required(root, "", "zones") else (None, None)
        tables = self.tables(root["tables"], zone_keys) if self.required(root, "", "tables") else None
        adjacency = self.adjacency(root.get("adjacency", []), tables)
        if (
            self.problems
            or name is None
            or slug is None
            or timezone is None
            or slot_minutes is None
            or policy is None
            or zones is None
            or tables is None
            or adjacency is None
        ):
            return None
        venue = Venue(
            name=name,
            slug=slug,
            timezone=timezone,
            policy=policy,
            zones=tuple(zones),
            tables=tuple(e.table for e in tables if e.table is not None),
            adjacency=adjacency,
            slot_minutes=slot_minutes,
        )
        too_many = planning_problem(venue)  # the planner's work bound (issue 15)
        if too_many is not None:
            self.add("adjacency", too_many)
            return None
        return venue

    def slug(self, root: Mapping[str, object]) -> str | None:
        if not self.required(root, "", "slug"):
            return None
        value = root["slug"]
        if not isinstance(value, str) or not SLUG_RE.match(value):
            self.add(
                "slug",
                "must be 1..63 lowercase letters, digits and hyphens, not starting or "
                f"ending with a hyphen, got {_describe(value)}",
            )
            return None
        return value

    def timezone(self, root: Mapping[str, object]) -> str | None:
        if not self.required(root, "", "timezone"):
            return None
        value = root["timezone"]
        if not isinstance(value, str):
            self.add("timezone", f"must be an IANA time zone name, got {_describe(value)}")
            return None
        if value not in _known_timezones():
            self.add("timezone", f"unknown IANA time zone '{_clip(value)}'")
            return None
        return value

    def zones(self, value: object) -> tuple[list[Zone] | None, set[str] | None]:
        """The zones, and the keys a table's zone may be checked against: every key
        written as a string, valid or not; None when some entry has no readable key
        (a table's zone is then never called unknown, to avoid knock-on problems)."""
        items = self.sequence(value, "zones", MAX_ZONES)
        if items is None:
            return None, None
        if not items:
            self.add("zones", "must list at least one zone")
            return None, None
        zones: list[Zone] = []
        first_at: dict[str, int] = {}
        known: set[str] | None = set()
        for i, item in enumerate(items):
            path = f"zones[{i}]"
            m = self.mapping(item, path, _ZONE_KEYS)
            written = m.get("key") if m is not None else None
            if known is not None and isinstance(written, str):
                known.add(written)
            else:
                known = None
            if m is None:
                continue
            key = self.zone_key(m, path)
            zone_name = self.text(m, path, "name", ZONE_NAME_MAX, default=key or "")
            priority = self.integer(m, path, "priority", PRIORITY, 0)
            if key is None or zone_name is None or priority is None:
                continue
            if key in first_at:
                self.add(
                    f"{path}.key",
                    f"duplicate zone key '{key}' (first at zones[{first_at[key]}])",
                )
                continue
            first_at[key] = i
            zones.append(Zone(key=key, name=zone_name, priority=priority))
        return zones, known

    def zone_key(self, m: Mapping[str, object], path: str) -> str | None:
        if not self.required(m, path, "key"):
            return None
        value = m["key"]
        if not isinstance(value, str) or not ZONE_KEY_RE.match(value):
            self.add(
                f"{path}.key",
                "must be 1..40 lowercase letters, digits, '-' or '_', starting with a "
                f"letter or digit, got {_describe(value)}",
            )
            return None
        return value

    def tables(self, value: object, zone_keys: set[str] | None) -> list[_TableEntry] | None:
        """One entry per document position (ids 1..n), usable or not."""
        items = self.sequence(value, "tables", MAX_TABLES)
        if items is None:
            return None
        if not items:
            self.add("tables", "must list at least one table")
            return None
        entries: list[_TableEntry] = []
        first_at: dict[str, int] = {}  # casefolded label -> index
        for i, item in enumerate(items):
            entry = self.table(item, i, zone_keys)
            if entry.label is not None:
                folded = entry.label.casefold()
                if folded in first_at:
                    self.add(
                        f"tables[{i}].label",
                        f"duplicate table label '{entry.label}' (first at "
                        f"tables[{first_at[folded]}]; labels compare ignoring case)",
                    )
                    entry = entry._replace(table=None)
                else:
                    first_at[folded] = i
            entries.append(entry)
        return entries

    def table(self, item: object, i: int, zone_keys: set[str] | None) -> _TableEntry:
        path = f"tables[{i}]"
        m = self.mapping(item, path, _TABLE_KEYS)
        if m is None:
            return _TableEntry(None, None, None)
        before = len(self.problems)
        label = self.text(m, path, "label", LABEL_MAX)
        if label is not None and label != label.strip():
            self.add(f"{path}.label", "must not start or end with spaces")
            label = None
        zone = self.text(m, path, "zone", ZONE_NAME_MAX)
        if zone is not None and zone_keys is not None and zone not in zone_keys:
            self.add(f"{path}.zone", f"unknown zone '{_clip(zone)}'")
            zone = None
        seats = self.integer(m, path, "seats", SEATS)
        min_party = self.integer(m, path, "min_party", PARTY, 1)
        max_party = self.integer(m, path, "max_party", PARTY) if "max_party" in m else seats
        movable = self.boolean(m, path, "movable", True)
        active = self.boolean(m, path, "active", True)
        priority = self.integer(m, path, "priority", PRIORITY, nullable=True)
        position = self.position(m, path)
        if seats is not None and max_party is not None and max_party > seats:
            self.add(f"{path}.max_party", f"max_party ({max_party}) must not exceed seats ({seats})")
        elif min_party is not None and max_party is not None and min_party > max_party:
            where = "max_party" if "max_party" in m else "min_party"
            self.add(
                f"{path}.{where}",
                f"min_party ({min_party}) must not exceed max_party ({max_party})",
            )
        if (
            len(self.problems) != before
            or label is None
            or zone is None
            or seats is None
            or min_party is None
            or max_party is None
            or movable is None
            or active is None
        ):
            # The label stays known, so adjacency does not also call it unknown.
            return _TableEntry(label, zone, None)
        table = Table(
            id=i + 1,
            label=label,
            zone=zone,
            seats=seats,
            min_party=min_party,
            max_party=max_party,
            movable=movable,
            active=active,
            position=position,
            priority=priority,
        )
        return _TableEntry(label, zone, table)

    def position(self, m: Mapping[str, object], path: str) -> Position | None:
        """Optional floor-plan placement: `x` and `y` together, `width` and `height`
        (default 60), `shape` rect (default) or round. A null value is not given."""
        m = {k: m[k] for k in _POSITION_KEYS if m.get(k) is not None}  # null: not given
        if not m:
            return None
        if ("x" in m) != ("y" in m) or "x" not in m:
            missing = "y" if "x" in m else "x"
            self.add(_at(path, missing), "is required when a table has a position (give x and y together)")
            return None
        x = self.integer(m, path, "x", COORDINATE)
        y = self.integer(m, path, "y", COORDINATE)
        width = self.integer(m, path, "width", TABLE_SIZE, DEFAULT_TABLE_SIZE)
        height = self.integer(m, path, "height", TABLE_SIZE, DEFAULT_TABLE_SIZE)
        shape_text = m.get("shape", Shape.RECT.value)
        shape = None
        if isinstance(shape_text, str) and shape_text in tuple(Shape):
            shape = Shape(shape_text)
        else:
            self.add(_at(path, "shape"), f"must be rect or round, got {_describe(shape_text)}")
        if x is None or y is None or width is None or height is None or shape is None:
            return None
        return Position(x, y, width, height, shape)

    def adjacency(self, value: object, entries: Sequence[_TableEntry] | None) -> frozenset[frozenset[int]] | None:
        """Edges as id pairs. A label is called unknown only when every table's label
        could be read (else it may name the unreadable one: a knock-on problem)."""
        items = self.sequence(value, "adjacency", MAX_EDGES)
        if items is None:
            return None
        by_label: dict[str, tuple[int, _TableEntry]] = {}
        for i, e in enumerate(entries or ()):
            if e.label is not None:
                by_label.setdefault(e.label, (i + 1, e))  # first of duplicates
        labels_known = entries is not None and all(e.label is not None for e in entries)
        before = len(self.problems)
        edges: dict[frozenset[int], int] = {}
        for i, item in enumerate(items):
            path = f"adjacency[{i}]"
            if not isinstance(item, list | tuple) or len(item) != 2:
                self.add(
                    path,
                    f"must be a pair of table labels [A, B], got {_describe(item)}",
                )
                continue
            ends: list[tuple[int, _TableEntry]] = []
            for j, end in enumerate(item):
                if not isinstance(end, str):
                    self.add(f"{path}[{j}]", f"must be a table label, got {_describe(end)}")
                elif end in by_label:
                    ends.append(by_label[end])
                elif labels_known:
                    self.add(f"{path}[{j}]", f"unknown table '{_clip(end)}'")
            if len(ends) != 2:
                continue
            (id_a, a), (id_b, b) = ends
            if id_a == id_b:
                self.add(path, f"a table cannot be adjacent to itself ('{a.label}')")
                continue
            if a.zone is not None and b.zone is not None and a.zone != b.zone:
                self.add(
                    path,
                    f"tables '{a.label}' ({a.zone}) and '{b.label}' ({b.zone}) are in "
                    "different zones; only tables of one zone combine",
                )
                continue
            edge = frozenset((id_a, id_b))
            if edge in edges:
                self.add(
                    path,
                    f"duplicate edge {a.label}-{b.label} (first at adjacency[{edges[edge]}])",
                )
                continue
            edges[edge] = i
        return frozenset(edges) if len(self.problems) == before else None

    def policy(self, value: object) -> Policy | None:
        m = self.mapping(value, "policy", _POLICY_KEYS)
        if m is None:
            return None
        before = len(self.problems)
        mode = self.choice(m, "adjacency_mode", AdjacencyMode, AdjacencyMode.CONNECTED)
        k = self.integer(m, "policy", "max_tables_per_combination", MAX_TABLES_PER_COMBINATION, 3)
        overage = self.integer(m, "policy", "max_overage", MAX_OVERAGE, 4)
        ttl = self.integer(m, "policy", "hold_ttl_seconds", HOLD_TTL_SECONDS, 180)
        max_party_size = self.integer(m, "policy", "max_party_size", MAX_PARTY_SIZE, 20)
        services = self.services(m["services"]) if self.required(m, "policy", "services") else None
        closures = self.closures(m.get("closures", []))
        enforcement = self.choice(m, "enforcement", Enforcement, Enforcement.ENFORCE)
        reseating = self.choice(m, "reseating", Reseating, Reseating.AUTO)
        budget = self.integer(m, "policy", "reseating_budget_ms", RESEATING_BUDGET_MS, 150)
        if (
            len(self.problems) != before
            or mode is None
            or k is None
            or overage is None
            or ttl is None
            or max_party_size is None
            or services is None
            or closures is None
            or enforcement is None
            or reseating is None
            or budget is None
        ):
            return None
        return Policy(
            services=tuple(services),
            adjacency_mode=mode,
            max_tables_per_combination=k,
            max_overage=overage,
            hold_ttl_seconds=ttl,
            max_party_size=max_party_size,
            closures=closures,
            enforcement=enforcement,
            reseating=reseating,
            reseating_budget_ms=budget,
        )

    def choice(self, m: Mapping[str, object], key: str, modes: type[_Mode], default: _Mode) -> _Mode | None:
        """`policy.<key>`: one of the enum's values (`default` when absent), or the error."""
        value = m.get(key, default.value)
        for mode in modes:
            if value == mode.value:
                return mode
        names = " | ".join(mode.value for mode in modes)
        self.add(f"policy.{key}", f"must be one of {names}, got {_describe(value)}")
        return None

    def services(self, value: object) -> list[Service] | None:
        items = self.sequence(value, "policy.services", MAX_SERVICES)
        if items is None:
            return None
        if not items:
            self.add("policy.services", "must list at least one service")
            return None
        before = len(self.problems)
        services: list[tuple[int, Service]] = []
        first_at: dict[str, int] = {}
        for i, item in enumerate(items):
            service = self.service(item, f"policy.services[{i}]")
            if service is None:
                continue
            if service.name in first_at:
                self.add(
                    f"policy.services[{i}].name",
                    f"duplicate service name '{service.name}' (first at policy.services[{first_at[service.name]}])",
                )
                continue
            first_at[service.name] = i
            services.append((i, service))
        self.check_no_overlap(services)
        return [s for _, s in services] if len(self.problems) == before else None

    def service(self, item: object, path: str) -> Service | None:
        m = self.mapping(item, path, _SERVICE_KEYS)
        if m is None:
            return None
        before = len(self.problems)
        name = self.text(m, path, "name", SERVICE_NAME_MAX)
        days = self.days(m["days"], f"{path}.days") if self.required(m, path, "days") else None
        start = self.clock(m, path, "start", required=True)
        end = self.clock(m, path, "end", required=True)
        last_seating = self.clock(m, path, "last_seating", required=False)
        allow_overrun = self.boolean(m, path, "allow_overrun", False)
        buffer_before = self.integer(m, path, "buffer_before_minutes", BUFFER_MINUTES, 0)
        buffer_after = self.integer(m, path, "buffer_after_minutes", BUFFER_MINUTES, 0)
        turns = self.turns(m["turns"], f"{path}.turns") if self.required(m, path, "turns") else None
        pacing = self.pacing(m.get("pacing"), f"{path}.pacing")
        if start is not None and end is not None:
            if start == end:
                self.add(f"{path}.end", f"must differ from start ({_hhmm(start)})")
            elif last_seating is not None and not _within(last_seating, start, end):
                self.add(
                    f"{path}.last_seating",
                    f"{_hhmm(last_seating)} lies outside the service window {_hhmm(start)}-{_hhmm(end)}",
                )
        if (
            len(self.problems) != before
            or name is None
            or days is None
            or start is None
            or end is None
            or allow_overrun is None
            or buffer_before is None
            or buffer_after is None
            or turns is None
        ):
            return None
        return Service(
            name=name,
            days=days,
            start=start,
            end=end,
            turns=turns,
            last_seating=last_seating,
            allow_overrun=allow_overrun,
            buffer_before_minutes=buffer_before,
            buffer_after_minutes=buffer_after,
            pacing=pacing,
        )

    def days(self, value: object, path: str) -> frozenset[int] | None:
        items = self.sequence(value, path, len(WEEKDAYS))
        if items is None:
            return None
        if not items:
            self.add(path, "must list at least one weekday")
            return None
        before = len(self.problems)
        days: set[int] = set()
        for i, item in enumerate(items):
            if not isinstance(item, str) or item not in WEEKDAYS:
                self.add(
                    f"{path}[{i}]",
                    f"must be one of {', '.join(WEEKDAYS)}, got {_describe(item)}",
                )
            elif WEEKDAYS.index(item) in days:
                self.add(f"{path}[{i}]", f"duplicate weekday '{item}'")
            else:
                days.add(WEEKDAYS.index(item))
        return frozenset(days) if len(self.problems) == before else None

    def turns(self, value: object, path: str) -> tuple[TurnBand, ...] | None:
        items = self.sequence(value, path, MAX_TURNS)
        if items is None:
            return None
        if not items:
            self.add(path, "must list at least one turn band")
            return None
        before = len(self.problems)
        bands: list[TurnBand] = []
        previous: int | None = None
        for i, item in enumerate(items):
            band_path = f"{path}[{i}]"
            m = self.mapping(item, band_path, _TURN_KEYS)
            if m is None:
                previous = None
                continue
            max_party = self.integer(m, band_path, "max_party", PARTY)
            minutes = self.integer(m, band_path, "minutes", TURN_MINUTES)
            if max_party is not None and previous is not None and max_party <= previous:
                self.add(
                    band_path,
                    f"max_party {max_party} must be greater than the previous band's "
                    f"{previous} (bands go by increasing party size, never overlap)",
                )
            previous = max_party
            if max_party is not None and minutes is not None:
                bands.append(TurnBand(max_party=max_party, minutes=minutes))
        return tuple(bands) if len(self.problems) == before else None

    def pacing(self, value: object, path: str) -> Pacing | None:
        if value is None:
            return None
        m = self.mapping(value, path, _PACING_KEYS)
        if m is None:
            return None
        covers = self.integer(m, path, "max_covers_per_slot", PACING_LIMIT, nullable=True)
        parties = self.integer(m, path, "max_parties_per_slot", PACING_LIMIT, nullable=True)
        if covers is None and parties is None:
            return None  # no limit at all is the same as no pacing
        return Pacing(max_covers_per_slot=covers, max_parties_per_slot=parties)

    def closures(self, value: object) -> frozenset[date] | None:
        items = self.sequence(value, "policy.closures", MAX_CLOSURES)
        if items is None:
            return None
        before = len(self.problems)
        closures: dict[date, int] = {}
        for i, item in enumerate(items):
            path = f"policy.closures[{i}]"
            day = _as_date(item)
            if day is None:
                self.add(path, f"must be a date YYYY-MM-DD, got {_describe(item)}")
            elif day in closures:
                self.add(
                    path,
                    f"duplicate closure {day.isoformat()} (first at policy.closures[{closures[day]}])",
                )
            else:
                closures[day] = i
        return frozenset(closures) if len(self.problems) == before else None

    def check_no_overlap(self, services: Sequence[tuple[int, Service]]) -> None:
        """Two services may not be open at the same instant of the week, so the
        service of a start time is unique. Windows are half-open: touching is fine.
        A problem names the weekdays on which the overlap happens."""
        spans = [(i, s, _week_spans(s)) for i, s in services]
        for n, (j, _, later_spans) in enumerate(spans):
            for _, earlier, earlier_spans in spans[:n]:
                clash = sorted(
                    {
                        max(a0, b0) // _MINUTES_PER_DAY
                        for a0, a1 in later_spans
                        for b0, b1 in earlier_spans
                        if a0 < b1 and b0 < a1
                    }
                )
                if clash:
                    self.add(
                        f"policy.services[{j}]",
                        f"overlaps service '{earlier.name}' on " + ", ".join(WEEKDAYS[d] for d in clash),
                    )


class _TableEntry(NamedTuple):
    """A table position as far as it could be read: label and zone (None where
    invalid) let adjacency be checked even when the table itself is not usable."""

    label: str | None
    zone: str | None
    table: Table | None


# ----------------------------------------------------------------------------- helpers


def _week_spans(service: Service) -> list[tuple[int, int]]:
    """The service's opening hours as [start, end) minutes of a Monday-based week,
    a Sunday night that runs past midnight wrapping into Monday morning."""
    start = service.start.hour * 60 + service.start.minute
    end = service.end.hour * 60 + service.end.minute
    length = (end - start) % _MINUTES_PER_DAY
    spans = []
    for day in service.days:
        begin = day * _MINUTES_PER_DAY + start
        finish = begin + length
        if finish <= _MINUTES_PER_WEEK:
            spans.append((begin, finish))
        else:
            spans.append((begin, _MINUTES_PER_WEEK))
            spans.append((0, finish - _MINUTES_PER_WEEK))
    return spans


def _within(t: time, start: time, end: time) -> bool:
    """Whether `t` lies in the service window, ends included (a last seating at the
    end is what an absent one means)."""
    if start < end:
        return start <= t <= end
    return t >= start or t <= end


def _as_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value  # YAML reads an unquoted 2026-12-25 as a date
    if isinstance(value, str) and DATE_RE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


@cache
def _known_timezones() -> frozenset[str]:
    """The IANA names of the pinned `tzdata` release (its `zones` list), not whatever
    the host's zoneinfo folder holds: `localtime`, `posixrules` and the like are
    host-dependent files, not zones, and `Factory` is a placeholder."""
    names = resources.files("tzdata").joinpath("zones").read_text().split()
    return frozenset(names) - {"Factory"}


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _show(value: object) -> str:
    return _clip(repr(value))


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    return _show(value)


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return str(problem)


class _DuplicateKey(ValueError):
    pass


def _json_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(f"duplicate key '{_clip(key)}' in a JSON object")
        out[key] = value
    return out


class _StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping repeating a key instead of keeping the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # unhashable key: let SafeLoader report it
                continue
            if duplicate:
                line = key_node.start_mark.line + 1
                raise _DuplicateKey(f"duplicate key {_show(key)} at line {line}")
        return super().construct_mapping(node, deep=deep)
