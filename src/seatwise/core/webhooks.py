"""Webhook rules that need no I/O: which URLs and addresses may receive events, which
events a subscription takes, and when a failed delivery is tried again (DESIGN §10).

Invariants:
- Without `allow_private`, only `https` URLs are accepted and only globally routable
  addresses are ever contacted (no loopback, link-local, private, shared, multicast or
  reserved range, in IPv4 or IPv6, IPv4-mapped IPv6 included).
- A delivery makes at most `MAX_ATTEMPTS` attempts; the wait before attempt n+1 is
  `schedule[n-1]` (the last entry repeats) scaled by a jitter factor in
  [1 - JITTER, 1 + JITTER].
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from seatwise.core.errors import UnsafeWebhookUrl, ValidationFailed
from seatwise.core.events import EventType

MAX_ATTEMPTS = 8
JITTER = 0.2
ALL_EVENTS = "*"
MAX_URL_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class Target:
    """Where a webhook URL points: what to resolve and what to send as Host."""

    scheme: str
    host: str  # a hostname or an IP literal (without brackets)
    port: int
    path: str  # path and query, at least "/"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_target(url: str, *, allow_private: bool) -> Target:
    """The target of a webhook URL, or `UnsafeWebhookUrl`. An IP literal is checked
    here; a hostname's addresses are checked when it is resolved (see `address_allowed`)."""
    if len(url) > MAX_URL_LENGTH:
        raise ValidationFailed(f"url: at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeWebhookUrl(f"not a valid URL: {exc}") from None
    schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in schemes:
        raise UnsafeWebhookUrl(f"the URL must use {' or '.join(sorted(schemes))}")
    if not parts.hostname:
        raise UnsafeWebhookUrl("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeWebhookUrl("the URL may not carry credentials")
    if parts.fragment:
        raise UnsafeWebhookUrl("the URL may not have a fragment")
    host = _host_name(parts.hostname)
    if not allow_private and (host == "localhost" or host.endswith(".localhost")):
        raise UnsafeWebhookUrl("the URL points at this machine")
    literal = ip_literal(host)
    if literal is not None and not address_allowed(literal, allow_private=allow_private):
        raise UnsafeWebhookUrl(f"{literal} is not a public address")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path)


_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _host_name(raw: str) -> str:
    """An IP literal as is, or a host name in its ASCII (IDNA) form; else refused."""
    host = raw.rstrip(".").lower()
    if ip_literal(host) is not None:
        return host
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise UnsafeWebhookUrl(f"{raw!r} is not a valid host name") from None
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in ascii_host.split(".")):
        raise UnsafeWebhookUrl(f"{raw!r} is not a valid host name")
    return ascii_host


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_private: bool) -> bool:
    """True when events may be sent to `address`."""
    if allow_private:
        return not (address.is_multicast or address.is_unspecified)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def subscribed_events(events: Sequence[str]) -> tuple[str, ...]:
    """A subscription's event list, validated: known event types, or `["*"]`."""
    if not events:
        raise ValidationFailed('events: at least one event type, or ["*"]')
    known = {e.value for e in EventType}
    unknown = sorted({e for e in events if e not in known and e != ALL_EVENTS})
    if unknown:
        raise ValidationFailed(
            f"events: unknown event type {unknown[0]!r}",
            errors=[{"path": "events", "message": f"unknown event type {e!r}"} for e in unknown],
        )
    if ALL_EVENTS in events:
        return (ALL_EVENTS,)
    return tuple(sorted(set(events)))


def retry_delay(attempt: int, schedule: Sequence[float], jitter: float) -> float | None:
    """Seconds to wait after failed attempt `attempt` (1-based), or None: dead.

    `jitter` is a draw from [-1, 1] (the caller's random source)."""
    if attempt >= MAX_ATTEMPTS or not schedule:
        return None
    base = schedule[min(attempt, len(schedule)) - 1]
    return max(0.0, base * (1 + JITTER * max(-1.0, min(1.0, jitter))))
