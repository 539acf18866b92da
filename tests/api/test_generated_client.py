"""A client generated from the app's OpenAPI document (openapi-python-client) runs a
booking flow against the live server: the schema is a contract clients can build on.

Stable operationIds give stable function names (`create_booking`, not
`create_booking_v1_restaurants_rid_bookings_post`); named schemas give typed models
(availability, the venue document, a refusal parsed as a Problem).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from seatwise.api.app import create_app
from tests.conftest import ADMIN_KEY, DAY, small_venue

GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Generate the client into a temporary folder and make it importable."""
    out = tmp_path_factory.mktemp("generated")
    spec = out / "openapi.json"
    spec.write_text(json.dumps(create_app(None).openapi()))  # type: ignore[arg-type]  # no runtime needed
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(  # noqa: S603 - our own venv's generator on our own schema
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--output-path",
            str(out / "seatwise_client"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(out))
    yield "seatwise_client"
    sys.path.remove(str(out))
    for name in [m for m in sys.modules if m == "seatwise_client" or m.startswith("seatwise_client.")]:
        del sys.modules[name]


def _module(package: str, name: str) -> ModuleType:
    return importlib.import_module(f"{package}.{name}")


def test_operation_ids_are_stable_names(client_package: str) -> None:
    bookings = _module(client_package, "api.bookings")
    path = Path(bookings.__file__).parent
    names = {p.stem for p in path.glob("*.py")} - {"__init__"}
    assert {"create_booking", "get_availability", "create_hold", "confirm_hold", "get_timeline"} <= names
    seating = Path(_module(client_package, "api.seating").__file__).parent
    assert "optimize_service" in {p.stem for p in seating.glob("*.py")}
    assert hasattr(_module(client_package, "models"), "OptimizationOut")


def test_booking_flow_through_the_generated_client(client_package: str, base_url: str) -> None:
    client_mod = _module(client_package, "client")
    models = _module(client_package, "models")
    api = {
        name: _module(client_package, f"api.{group}.{name}")
        for group, name in (
            ("restaurants", "create_restaurant"),
            ("bookings", "get_availability"),
            ("bookings", "create_hold"),
            ("bookings", "confirm_hold"),
            ("bookings", "create_booking"),
        )
    }
    document: dict[str, Any] = {**small_venue(tables=1), "slug": f"gen-{uuid.uuid4().hex[:12]}"}
    with client_mod.AuthenticatedClient(base_url=base_url, token=ADMIN_KEY) as admin:
        made = api["create_restaurant"].sync_detailed(client=admin, body=models.VenueDocument.from_dict(document))
    assert made.status_code == 201, made.content
    restaurant = made.parsed
    assert isinstance(restaurant, models.RestaurantCreated)
    with client_mod.AuthenticatedClient(base_url=base_url, token=restaurant.api_keys["staff"]) as staff:
        _flow(api, models, staff, restaurant.id)


def _flow(api: dict[str, ModuleType], models: ModuleType, staff: Any, rid: str) -> None:

    availability = api["get_availability"].sync(client=staff, rid=rid, date=DAY, party_size=2, time="19:00")
    assert isinstance(availability, models.AvailabilityOut)
    assert availability.available is True
    assert any(s.time == "19:00" and s.available for s in availability.slots)

    hold = api["create_hold"].sync(client=staff, rid=rid, body=models.HoldIn(party_size=2, start=f"{DAY}T19:00"))
    assert isinstance(hold, models.HoldOut)
    assert hold.tables == ["T1"]
    confirmed = api["confirm_hold"].sync_detailed(
        client=staff, rid=rid, hold_id=hold.id, body=models.ConfirmIn(guest=models.GuestIn(name="Ada"))
    )
    assert confirmed.status_code == 201
    assert isinstance(confirmed.parsed, models.BookingOut)
    assert confirmed.parsed.guest.name == "Ada"

    refused = api["create_booking"].sync_detailed(
        client=staff,
        rid=rid,
        body=models.BookingIn(party_size=2, start=f"{DAY}T19:00", guest=models.GuestIn(name="Late")),
    )
    assert refused.status_code == 409
    problem = refused.parsed
    assert isinstance(problem, models.Problem)
    assert problem.code == models.ProblemCode.CAPACITY_EXCEEDED
    assert problem.status == 409
