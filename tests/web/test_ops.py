"""The ops dashboard in a real browser (Chromium via Playwright) against the real app."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import DAY, client_for, small_venue
from tests.web.conftest import axe_serious, screenshot


def sign_in(page: Page, base_url: str, key: str) -> None:
    page.goto(f"{base_url}/ops")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def venue_with_pairs() -> dict[str, Any]:
    """Six four-tops in one zone (T1-T2 adjacent) and a two-top bar zone."""
    doc = small_venue(tables=6, seats=4, adjacency=[["T1", "T2"]])
    doc["zones"].append({"key": "bar", "name": "Bar"})
    doc["tables"].append({"label": "B1", "zone": "bar", "seats": 2, "x": 40, "y": 300, "shape": "round"})
    return doc


@pytest.fixture
def restaurant(create_restaurant: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return create_restaurant(venue_with_pairs())


@pytest.fixture
def staff(base_url: str, restaurant: dict[str, Any]) -> Iterator[httpx.Client]:
    with client_for(base_url, restaurant["api_keys"]["staff"]) as client:
        yield client


def book(client: httpx.Client, rid: str, name: str, party: int, at: str, tables: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"party_size": party, "start": f"{DAY}T{at}", "guest": {"name": name}}
    if tables:
        body["table_labels"] = tables
    response = client.post(f"/v1/restaurants/{rid}/bookings", json=body)
    assert response.status_code == 201, response.text
    booking: dict[str, Any] = response.json()
    return booking


def test_timeline_shows_a_booking_made_over_the_api(
    page: Page, base_url: str, restaurant: dict[str, Any], staff: httpx.Client
) -> None:
    rid = restaurant["id"]
    booking = book(staff, rid, "Ada Lovelace", 4, "19:00", ["T3"])
    sign_in(page, base_url, restaurant["api_keys"]["staff"])
    expect(page).to_have_url(re.compile(f"/ops/{rid}/timeline"))
    page.goto(f"{base_url}/ops/{rid}/timeline?date={DAY}")
    bar = page.locator(f'[data-table="T3"] a[data-booking="{booking["id"]}"]')
    expect(bar).to_contain_text("Ada Lovelace")
    expect(bar).to_contain_text("4")
    assert axe_serious(page) == []
