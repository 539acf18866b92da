"""The Locust side of the load test (issue 14): one night of guests, channels and staff.

Run by bench/loadtest.py in its own process (headless, loopback only). It reads the
restaurants from LOADTEST_MANIFEST, stops itself after LOADTEST_MAX_REQUESTS requests
(the run time bounds it too), and writes every request it made (start, name, status,
problem code, milliseconds) plus its own CPU time to LOADTEST_EVENTS, so that the
orchestrator can compute percentiles, error counts and fault windows itself.

The mix (task weights): 75 availability reads, 15 holds then confirmations (one in
five holds abandoned to expire), 5 direct bookings with an Idempotency-Key (one in
four retried with the same key and body), 5 cancellations and staff table moves.
Requested times lean on the 19:00 peak (a normal curve over the 17:00-21:30 seatings).
"""

from __future__ import annotations

import json
import math
import os
import random
import resource
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import gevent
from locust import FastHttpUser, constant, events, task

MANIFEST = json.loads(open(os.environ["LOADTEST_MANIFEST"]).read())
EVENTS_PATH = os.environ["LOADTEST_EVENTS"]
MAX_REQUESTS = int(os.environ.get("LOADTEST_MAX_REQUESTS", "1000000"))
SEED = int(os.environ.get("LOADTEST_SEED", "14"))

TIMES = [f"{h:02d}:{m:02d}" for h in range(17, 22) for m in (0, 15, 30, 45) if (h, m) <= (21, 30)]
# Weight of each seating: a normal curve centred on 19:00 (sd 50 minutes).
WEIGHTS = [math.exp(-((((int(t[:2]) * 60 + int(t[3:])) - 19 * 60) / 50) ** 2) / 2) for t in TIMES]
FIRST_DAY = datetime.now(UTC).date() + timedelta(days=2)
DAYS = 21

records: list[tuple[float, str, int, str, float]] = []


@events.request.add_listener
def _record(
    request_type: str,  # noqa: ARG001 - Locust's hook signature
    name: str,
    response_time: float,
    response_length: int,  # noqa: ARG001
    response: Any,
    exception: BaseException | None,
    start_time: float,
    **_: Any,
) -> None:
    status = int(getattr(response, "status_code", 0) or 0)
    code = ""
    if status >= 400:
        try:
            code = str(response.json().get("code", ""))
        except Exception:  # a body that is not problem+json is recorded as such
            code = "NOT_PROBLEM_JSON"
    elif status == 0:
        code = type(exception).__name__ if exception else "NO_RESPONSE"
    records.append((start_time, name, status, code, response_time))
    if len(records) == MAX_REQUESTS:
        runner = _env.runner if _env else None
        if runner is not None:
            gevent.spawn(runner.quit)


_env: Any = None


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    global _env  # Locust hands the environment over once
    _env = environment


@events.quitting.add_listener
def _write(**_: Any) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(EVENTS_PATH, "w") as f:
        json.dump({"cpu_s": usage.ru_utime + usage.ru_stime, "records": records}, f)


def peak_time(rng: random.Random) -> str:
    return rng.choices(TIMES, WEIGHTS)[0]


def some_day(rng: random.Random) -> date:
    return FIRST_DAY + timedelta(days=rng.randrange(DAYS))


class Guest(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.rng = random.Random(f"{SEED}-{id(self)}-{time.time_ns()}")
        self.mine: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (restaurant, booking)

    def restaurant(self) -> dict[str, Any]:
        return self.rng.choice(MANIFEST["restaurants"])

    def _headers(self, key: str, idem: str | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {key}"}
        if idem:
            h["Idempotency-Key"] = idem
        return h

    def _party(self) -> int:
        return self.rng.choices([1, 2, 3, 4, 5, 6, 8], [3, 40, 12, 28, 6, 8, 3])[0]

    @task(75)
    def availability(self) -> None:
        r = self.restaurant()
        params = f"date={some_day(self.rng).isoformat()}&party_size={self._party()}"
        if self.rng.random() < 0.5:
            params += f"&time={peak_time(self.rng)}"
        self.client.get(
            f"/v1/restaurants/{r['id']}/availability?{params}",
            headers=self._headers(r["channel"]),
            name="availability",
        )

    def _start(self) -> str:
        return f"{some_day(self.rng).isoformat()}T{peak_time(self.rng)}"

    def _guest(self) -> dict[str, str]:
        return {"name": f"Guest {self.rng.randrange(10**6)}"}

    @task(15)
    def hold_then_confirm(self) -> None:
        r = self.restaurant()
        body = {"party_size": self._party(), "start": self._start()}
        resp = self.client.post(
            f"/v1/restaurants/{r['id']}/holds", json=body, headers=self._headers(r["channel"]), name="hold"
        )
        if resp.status_code != 201:
            return
        if self.rng.random() < 0.2:
            return  # abandoned: left to expire (hold_ttl_seconds)
        hold = resp.json()
        booked = self.client.post(
            f"/v1/restaurants/{r['id']}/holds/{hold['id']}/confirm",
            json={"guest": self._guest()},
            headers=self._headers(r["channel"], str(uuid.uuid4())),
            name="confirm",
        )
        if booked.status_code == 201:
            self.mine.append((r, booked.json()))

    @task(5)
    def direct_booking(self) -> None:
        r = self.restaurant()
        body = {"party_size": self._party(), "start": self._start(), "guest": self._guest()}
        key = str(uuid.uuid4())
        path = f"/v1/restaurants/{r['id']}/bookings"
        resp = self.client.post(path, json=body, headers=self._headers(r["channel"], key), name="booking")
        if self.rng.random() < 0.25:  # the client did not trust its first answer
            self.client.post(path, json=body, headers=self._headers(r["channel"], key), name="booking (retry)")
        if resp.status_code == 201:
            self.mine.append((r, resp.json()))

    @task(5)
    def cancel_or_move(self) -> None:
        if not self.mine:
            self.availability()
            return
        r, booking = self.mine.pop(self.rng.randrange(len(self.mine)))
        base = f"/v1/restaurants/{r['id']}/bookings/{booking['id']}"
        if self.rng.random() < 0.5:
            self.client.post(f"{base}/cancel", headers=self._headers(r["staff"]), name="cancel")
            return
        size, taken = booking["party_size"], booking["tables"]
        fits = [t["label"] for t in r["tables"] if t["seats"] >= size and t["label"] not in taken]
        if not fits:
            return
        resp = self.client.put(
            f"{base}/tables",
            json={"table_labels": [self.rng.choice(fits)]},
            headers=self._headers(r["staff"]),
            name="move",
        )
        if resp.status_code == 200:
            self.mine.append((r, resp.json()))
