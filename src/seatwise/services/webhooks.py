"""Webhooks (DESIGN §10): registration, listing, deletion, the delivery log, and the
outbox relay that delivers events to them.

Delivery is at least once, with the event's id as a stable `webhook-id` on every
attempt (receivers dedupe by it), signed as Standard Webhooks specifies. The relay:

1. fans unrelayed outbox events out into deliveries (one per subscribed webhook);
2. claims due deliveries: the claim counts the attempt and leases the delivery in a
   committed transaction (FOR UPDATE SKIP LOCKED), so two relays never make the
   same attempt;
3. resolves the URL's host, refuses any address that is not allowed (so DNS cannot
   rebind a public name onto loopback or a private range between registration and
   delivery) and sends to exactly the address it checked;
4. records the outcome: delivered (any 2xx), retrying (after a jittered backoff), or
   dead after `MAX_ATTEMPTS`.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook as Signer

from seatwise.core import webhooks as rules
from seatwise.core.errors import NotFound, SeatwiseError, UnsafeWebhookUrl
from seatwise.core.timerules import venue_zone
from seatwise.services.common import utcnow
from seatwise.services.ids import parse_id
from seatwise.services.sealing import InvalidToken, SecretBox
from seatwise.services.snapshot import venue_snapshot
from seatwise.store import webhooks as repo
from seatwise.store.db import Database
from seatwise.store.venues import Conn

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
USER_AGENT = "Seatwise-Webhooks/1"
RECENT_ATTEMPTS = 100

Resolver = Callable[[str, int], Sequence[str]]


# --- results --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    url: str
    events: tuple[str, ...]
    description: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CreatedWebhook(Webhook):
    secret: str  # shown in this result only


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    event_id: str
    type: str
    attempt: int
    status: str  # delivered | retrying | dead
    response_status: int | None
    error: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class RelayPass:
    """What one relay pass did."""

    relayed: int  # outbox events fanned out (to zero or more webhooks)
    attempted: int
    delivered: int
    retrying: int
    dead: int

    @property
    def rows(self) -> int:
        return self.attempted

    @property
    def idle(self) -> bool:
        return self.relayed == 0 and self.attempted == 0


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    url: str
    events: Sequence[str]
    description: str = ""


@dataclass(frozen=True, slots=True)
class RelayConfig:
    allow_private: bool
    backoff: tuple[float, ...]  # seconds before attempts 2, 3, ... (the last repeats)
    timeout_seconds: float = 5.0
    batch_size: int = 200
    concurrency: int = 16

    @property
    def lease(self) -> timedelta:
        """How long a claimed attempt is this relay's alone: beyond any request it makes."""
        return timedelta(seconds=2 * self.timeout_seconds + 30)


def event_id_text(event_id: int) -> str:
    return f"evt_{event_id}"


def _webhook_of(row: dict[str, Any], zone: Any) -> Webhook:
    return Webhook(
        id=row["id"],
        url=row["url"],
        events=tuple(row["events"]),
        description=row["description"],
        created_at=row["created_at"].astimezone(zone),
    )


# --- URL safety -----------------------------------------------------------------------


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def resolve_target(target: rules.Target, *, allow_private: bool, resolve: Resolver = system_resolver) -> str:
    """The address to connect to: every address the host resolves to must be allowed
    (a name that also points at a private range is refused as a whole)."""
    literal = rules.ip_literal(target.host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = list(resolve(target.host, target.port))
        except (OSError, UnicodeError) as exc:
            raise UnsafeWebhookUrl(f"{target.host} does not resolve: {exc}") from None
    if not addresses:
        raise UnsafeWebhookUrl(f"{target.host} does not resolve")
    for address in addresses:
        parsed = rules.ip_literal(address.split("%", 1)[0])
        if parsed is None or not rules.address_allowed(parsed, allow_private=allow_private):
            raise UnsafeWebhookUrl(f"{target.host} resolves to {address}, which is not a public address")
    return addresses[0]


def check_url(url: str, *, allow_private: bool, resolve: Resolver = system_resolver) -> rules.Target:
    """Registration's check: the URL's shape, and its addresses when the name resolves
    now (a name that does not resolve yet is accepted: delivery checks it again)."""
    target = rules.parse_target(url, allow_private=allow_private)
    try:
        resolve_target(target, allow_private=allow_private, resolve=resolve)
    except UnsafeWebhookUrl as exc:
        if "does not resolve" not in exc.detail:
            raise
    return target


# --- registration ---------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def register(db: Database, rid: str, request: WebhookRequest, box: SecretBox, *, allow_private: bool) -> CreatedWebhook:
    check_url(request.url, allow_private=allow_private)
    events = rules.subscribed_events(request.events)
    secret = new_secret()
    webhook_id = str(uuid.uuid4())

    def use_case(conn: Conn) -> CreatedWebhook:
        zone = venue_zone(venue_snapshot(conn, rid))
        row = repo.insert_webhook(conn, rid, webhook_id, request.url, events, request.description, box.seal(secret))
        made = _webhook_of(row, zone)
        return CreatedWebhook(made.id, made.url, made.events, made.description, made.created_at, secret)

    return db.run(rid, use_case)


def list_webhooks(db: Database, rid: str) -> list[Webhook]:
    def use_case(conn: Conn) -> list[Webhook]:
        zone = venue_zone(venue_snapshot(conn, rid))
        return [_webhook_of(row, zone) for row in repo.list_webhooks(conn, rid)]

    return db.run(rid, use_case)


def delete_webhook(db: Database, rid: str, webhook_id: str) -> None:
    webhook_id = parse_id(webhook_id, "webhook")

    def use_case(conn: Conn) -> None:
        if not repo.delete_webhook(conn, rid, webhook_id):
            raise NotFound("no such webhook")

    db.run(rid, use_case)


def deliveries(db: Database, rid: str, webhook_id: str, limit: int = RECENT_ATTEMPTS) -> list[DeliveryAttempt]:
    """The webhook's most recent attempts, newest first."""
    webhook_id = parse_id(webhook_id, "webhook")

    def use_case(conn: Conn) -> list[DeliveryAttempt]:
        zone = venue_zone(venue_snapshot(conn, rid))
        if not repo.webhook_exists(conn, rid, webhook_id):
            raise NotFound("no such webhook")
        return [
            DeliveryAttempt(
                event_id=event_id_text(row["event_id"]),
                type=row["event_type"],
                attempt=row["attempt"],
                status=row["status"],
                response_status=row["response_status"],
                error=row["error"],
                at=row["at"].astimezone(zone),
            )
            for row in repo.recent_attempts(conn, rid, webhook_id, limit)
        ]

    return db.run(rid, use_case)


# --- delivery -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Outcome:
    response_status: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300


def signed_request(claim: dict[str, Any], secret: str, now: float) -> tuple[bytes, dict[str, str]]:
    """The body and Standard Webhooks headers of one attempt."""
    msg_id = event_id_text(claim["event_id"])
    body = json.dumps(
        {
            "id": msg_id,
            "type": claim["event"],
            "created_at": claim["created_at"].astimezone(UTC).isoformat(),
            "restaurant_id": claim["restaurant_id"],
            "data": claim["payload"],
        },
        separators=(",", ":"),
    )
    timestamp = datetime.fromtimestamp(int(now), UTC)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now)),
        "webhook-signature": Signer(secret).sign(msg_id, timestamp, body),
    }
    return body.encode(), headers


class Relay:
    """The outbox relay. One per worker process; several relays (threads or
    processes) may run at once: claims never overlap."""

    def __init__(
        self,
        jobs: Database,
        db: Database,
        box: SecretBox,
        config: RelayConfig,
        *,
        resolve: Resolver = system_resolver,
    ) -> None:
        self.jobs, self.db, self.box, self.config, self.resolve = jobs, db, box, config, resolve
        # No proxies from the environment: the address checked is the address contacted.
        # TCP_NODELAY: httpx writes headers and body apart, and Nagle's algorithm with the
        # receiver's delayed ACK would add ~40 ms to every kept-alive POST.
        transport = httpx.HTTPTransport(
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            limits=httpx.Limits(max_connections=config.concurrency * 2),
        )
        self.client = httpx.Client(
            timeout=httpx.Timeout(config.timeout_seconds), follow_redirects=False, trust_env=False, transport=transport
        )
        self.pool = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="relay")

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def run_once(self) -> RelayPass:
        """Fan out what is unrelayed, then make every attempt that is due (one batch)."""
        relayed = 0
        with self.jobs.autocommit() as conn:
            while True:
                n = repo.fan_out(conn, self.config.batch_size)
                relayed += n
                if n < self.config.batch_size:
                    break
            claims = repo.claim_deliveries(conn, self.config.batch_size, self.config.lease, rules.MAX_ATTEMPTS)
        attempts = list(self.pool.map(self._attempt, claims))
        by_restaurant: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for claim, attempt in zip(claims, attempts, strict=True):
            by_restaurant[claim["restaurant_id"]].append(attempt)
        for rid, made in sorted(by_restaurant.items()):  # one transaction per restaurant
            self.db.run(rid, partial(repo.record_attempts, rid=rid, attempts=made))
        statuses = [a["status"] for a in attempts]
        return RelayPass(
            relayed=relayed,
            attempted=len(claims),
            delivered=statuses.count("delivered"),
            retrying=statuses.count("retrying"),
            dead=statuses.count("dead"),
        )

    def _attempt(self, claim: dict[str, Any]) -> dict[str, Any]:
        """Make one claimed attempt; what `store.webhooks.record_attempts` records of it."""
        outcome = self._send(claim)
        now = utcnow()
        if outcome.ok:
            status, next_at = "delivered", now
        else:
            delay = rules.retry_delay(claim["attempt"], self.config.backoff, random.uniform(-1, 1))  # noqa: S311 - jitter
            status, next_at = ("dead", now) if delay is None else ("retrying", now + timedelta(seconds=delay))
        return {
            "webhook": claim["webhook_id"],
            "event": claim["event_id"],
            "type": claim["event"],
            "attempt": claim["attempt"],
            "status": status,
            "next_at": next_at,
            "response": outcome.response_status,
            "error": outcome.error,
            "ms": outcome.duration_ms,
        }

    def _send(self, claim: dict[str, Any]) -> _Outcome:
        started = time.perf_counter()

        def failed(error: str, status: int | None = None) -> _Outcome:
            return _Outcome(status, error[:500], int((time.perf_counter() - started) * 1000))

        try:
            secret = self.box.open(claim["secret_sealed"])
        except InvalidToken:
            return failed("the webhook secret cannot be opened with this SEATWISE_WEBHOOK_KEY")
        allow = self.config.allow_private
        try:
            target = rules.parse_target(claim["url"], allow_private=allow)
            address = resolve_target(target, allow_private=allow, resolve=self.resolve)
        except SeatwiseError as exc:
            return failed(f"refused: {exc.detail}")
        body, headers = signed_request(claim, secret, time.time())
        headers["host"] = target.host_header
        host = f"[{address}]" if ":" in address else address
        extensions: dict[str, Any] = {}
        if target.scheme == "https" and rules.ip_literal(target.host) is None:
            extensions["sni_hostname"] = target.host  # TLS names the host; the socket goes to `address`
        try:
            response = self.client.post(
                f"{target.scheme}://{host}:{target.port}{target.path}",
                content=body,
                headers=headers,
                extensions=extensions,
            )
        except httpx.HTTPError as exc:
            return failed(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        if 200 <= response.status_code < 300:
            return _Outcome(response.status_code, None, int((time.perf_counter() - started) * 1000))
        return failed(f"answered {response.status_code}", response.status_code)
