"""The ops dashboard in a real browser (Chromium via Playwright) against the real app."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from seatwise.runtime import Runtime
from seatwise.services import webhooks
from tests.conftest import DAY, client_for, small_venue
from tests.web.conftest import axe_serious, screenshot


def sign_in(page: Page, base_url: str, key: str) -> None:
    page.goto(f"{base_url}/ops")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def venue_with_pairs() -> dict[str, Any]:
    """Six four-tops in one zone (T1-T2 adjacent) and a two-top bar zone."""
    doc = small_venue(tables=6, seats=4, adjacency=[["T1", "T2"]], pacing={"max_covers_per_slot": 12})
    doc["zones"].append({"key": "bar", "name": "Bar"})
    doc["tables"].append({"label": "B1", "zone": "bar", "seats": 2, "x": 40, "y": 20, "shape": "round"})
    return doc


@pytest.fixture
def restaurant(create_restaurant: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return create_restaurant(venue_with_pairs())


@pytest.fixture
def staff(base_url: str, restaurant: dict[str, Any]) -> Iterator[httpx.Client]:
    with client_for(base_url, restaurant["api_keys"]["staff"]) as client:
        yield client


def book(
    client: httpx.Client, rid: str, name: str, party: int, at: str, tables: list[str] | None = None
) -> dict[str, Any]:
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


def test_host_books_moves_and_cancels_from_the_timeline(
    page: Page, base_url: str, restaurant: dict[str, Any], staff: httpx.Client
) -> None:
    rid = restaurant["id"]
    book(staff, rid, "Grace Hopper", 4, "19:00", ["T2"])  # T2 is taken at 19:00
    sign_in(page, base_url, restaurant["api_keys"]["staff"])
    page.goto(f"{base_url}/ops/{rid}/timeline?date={DAY}")

    # The slot picker: party size, then a time, then the guest.
    page.get_by_label("Party size", exact=True).fill("4")
    page.get_by_role("button", name="Find times").click()
    page.get_by_role("link", name=re.compile(r"^Book 19:00")).click()
    page.get_by_label("Name", exact=True).fill("Alan Turing")
    page.get_by_role("button", name="Book 19:00").click()
    expect(page.get_by_role("status")).to_have_text("Booking made")
    panel = page.locator("#booking-panel")
    expect(panel).to_contain_text("Alan Turing")
    first_table = page.locator("#booking-tables").inner_text()
    bar = page.locator(f'[data-table="{first_table}"] a.bar', has_text="Alan Turing")
    expect(bar).to_be_visible()

    # Onto T2, which Grace holds at that time: refused, every check in words.
    for box in page.get_by_role("group", name="Move to tables").get_by_role("checkbox").all():
        box.uncheck()
    page.get_by_label("T2", exact=True).check()
    page.get_by_role("button", name="Move", exact=True).click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("Refused")
    checks = page.get_by_role("list", name="Assignment checks")
    expect(checks).to_contain_text("conflict: failed")
    expect(checks).to_contain_text("capacity: passed")
    expect(checks.get_by_role("listitem")).to_have_count(7)
    expect(page.locator(f'[data-table="{first_table}"] a.bar', has_text="Alan Turing")).to_be_visible()

    # Onto T5, free: the bar moves.
    for box in page.get_by_role("group", name="Move to tables").get_by_role("checkbox").all():
        box.uncheck()
    page.get_by_label("T5", exact=True).check()
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Moved to T5")
    expect(page.locator('[data-table="T5"] a.bar', has_text="Alan Turing")).to_be_visible()
    if first_table != "T5":
        expect(page.locator(f'[data-table="{first_table}"] a.bar', has_text="Alan Turing")).to_have_count(0)
    screenshot(page, "ops-timeline")
    assert axe_serious(page) == []

    # Cancel: the bar leaves the table, the booking stays listed as cancelled.
    page.get_by_role("button", name="Cancel booking").click()
    expect(page.get_by_role("status")).to_have_text("Booking cancelled")
    expect(page.locator('[data-table="T5"] a.bar', has_text="Alan Turing")).to_have_count(0)
    expect(page.locator("#booking-status")).to_have_text("cancelled")


def test_host_pins_and_unpins_a_booking(
    page: Page, base_url: str, restaurant: dict[str, Any], staff: httpx.Client
) -> None:
    rid = restaurant["id"]
    booking = book(staff, rid, "Edsger Dijkstra", 4, "19:00")
    sign_in(page, base_url, restaurant["api_keys"]["staff"])
    page.goto(f"{base_url}/ops/{rid}/timeline?date={DAY}&booking={booking['id']}")
    expect(page.locator("#booking-pinned")).to_have_text("no")
    page.get_by_role("button", name="Pin to its tables").click()
    expect(page.get_by_role("status")).to_have_text("Pinned to its tables")
    expect(page.locator("#booking-pinned")).to_contain_text("yes")
    assert staff.get(f"/v1/restaurants/{rid}/bookings/{booking['id']}").json()["pinned"] is True
    assert axe_serious(page) == []
    page.get_by_role("button", name="Unpin from its tables").click()
    expect(page.get_by_role("status")).to_have_text("Unpinned")
    assert staff.get(f"/v1/restaurants/{rid}/bookings/{booking['id']}").json()["pinned"] is False


def test_a_booking_by_another_client_appears_without_a_reload(
    page: Page, base_url: str, restaurant: dict[str, Any]
) -> None:
    rid = restaurant["id"]
    sign_in(page, base_url, restaurant["api_keys"]["staff"])
    page.goto(f"{base_url}/ops/{rid}/timeline?date={DAY}")
    page.evaluate("window.__same_page = true")
    with client_for(base_url, restaurant["api_keys"]["channel"]) as channel:
        booking = book(channel, rid, "Katherine Johnson", 2, "20:00")
    expect(page.locator(f'a[data-booking="{booking["id"]}"]')).to_contain_text("Katherine Johnson", timeout=5_000)
    assert page.evaluate("window.__same_page") is True  # no navigation happened


def test_floor_plan_and_summary_show_the_night(
    page: Page, base_url: str, restaurant: dict[str, Any], staff: httpx.Client
) -> None:
    rid = restaurant["id"]
    ada = book(staff, rid, "Ada", 4, "19:00", ["T1"])
    book(staff, rid, "Bob", 2, "19:00", ["B1"])
    gone = book(staff, rid, "Carol", 3, "20:00", ["T4"])
    assert staff.post(f"/v1/restaurants/{rid}/bookings/{ada['id']}/seat").status_code == 200
    assert staff.post(f"/v1/restaurants/{rid}/bookings/{gone['id']}/no-show").status_code == 200
    sign_in(page, base_url, restaurant["api_keys"]["staff"])

    page.goto(f"{base_url}/ops/{rid}/floor?date={DAY}&time=19:30")
    expect(page.locator('g[data-table="T1"]')).to_have_attribute("data-state", "seated")
    expect(page.locator('g[data-table="B1"]')).to_have_attribute("data-state", "booked")
    expect(page.locator('g[data-table="T4"]')).to_have_attribute("data-state", "free")
    expect(page.locator('g[data-table="B1"] ellipse')).to_have_count(1)  # its position: round at (40, 20)
    expect(page.locator('line[data-edge="T1-T2"]')).to_have_count(1)
    expect(page.locator('g[data-table="T1"]')).to_contain_text("Ada")
    screenshot(page, "ops-floor")
    assert axe_serious(page) == []

    page.goto(f"{base_url}/ops/{rid}/summary?date={DAY}")
    expect(page.locator("#fig-bookings")).to_have_text("2")
    expect(page.locator("#fig-covers")).to_have_text("6")
    expect(page.locator("#fig-no-shows")).to_have_text("1")
    expect(page.locator('rect[data-slot="19:00"]')).to_have_attribute("data-covers", "6")
    expect(page.locator(".chart .limit")).not_to_have_count(0)
    screenshot(page, "ops-summary")
    assert axe_serious(page) == []


def test_venue_editor_shows_the_validation_error_next_to_the_field_and_saves_nothing(
    page: Page, base_url: str, restaurant: dict[str, Any], admin: httpx.Client
) -> None:
    rid = restaurant["id"]
    before = admin.get(f"/v1/restaurants/{rid}/venue").json()
    sign_in(page, base_url, restaurant["api_keys"]["staff"])
    page.goto(f"{base_url}/ops/{rid}/venue")
    assert axe_serious(page) == []
    seats = page.get_by_label("T3 seats")
    seats.fill("0")
    page.get_by_role("button", name="Save venue").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    field = page.get_by_label("T3 seats")
    expect(field).to_have_attribute("aria-invalid", "true")
    described = field.get_attribute("aria-describedby")
    expect(page.locator(f"#{described}")).to_have_text("must be between 1 and 50, got 0")
    assert admin.get(f"/v1/restaurants/{rid}/venue").json() == before
    assert axe_serious(page) == []

    # A valid edit is saved: T3 gets 6 seats.
    page.get_by_label("T3 seats").fill("6")
    page.get_by_role("button", name="Save venue").click()
    expect(page.get_by_role("status")).to_have_text("Venue saved")
    after = admin.get(f"/v1/restaurants/{rid}/venue").json()
    assert next(t for t in after["tables"] if t["label"] == "T3")["seats"] == 6
    assert next(t for t in after["tables"] if t["label"] == "B1")["shape"] == "round"  # positions round-trip


def test_keys_are_created_once_and_revoked(page: Page, base_url: str, restaurant: dict[str, Any]) -> None:
    rid = restaurant["id"]
    sign_in(page, base_url, restaurant["api_keys"]["staff"])
    page.goto(f"{base_url}/ops/{rid}/keys")
    assert axe_serious(page) == []
    page.get_by_label("Role of the new key").select_option("channel")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key-secret").inner_text()
    assert secret.startswith("sw_")
    with client_for(base_url, secret) as fresh:
        assert (
            fresh.get(f"/v1/restaurants/{rid}/availability", params={"date": DAY, "party_size": 2}).status_code == 200
        )
    page.goto(f"{base_url}/ops/{rid}/keys")
    assert secret not in page.content()  # shown once
    rows = page.locator("#keys tbody tr", has_text="channel").filter(has_text="active")
    rows.last.get_by_role("button", name=re.compile("^Revoke")).click()
    with client_for(base_url, secret) as fresh:
        assert (
            fresh.get(f"/v1/restaurants/{rid}/availability", params={"date": DAY, "party_size": 2}).status_code == 401
        )


def test_holds_show_a_countdown_and_blocks_show_on_their_table(
    page: Page, base_url: str, restaurant: dict[str, Any], staff: httpx.Client
) -> None:
    rid = restaurant["id"]
    hold = staff.post(
        f"/v1/restaurants/{rid}/holds", json={"party_size": 2, "start": f"{DAY}T18:00", "table_labels": ["T6"]}
    ).json()
    staff.post(
        f"/v1/restaurants/{rid}/blocks",
        json={"table_labels": ["T4"], "start": f"{DAY}T17:00", "end": f"{DAY}T18:00", "reason": "wobbly leg"},
    ).raise_for_status()
    sign_in(page, base_url, restaurant["api_keys"]["staff"])
    page.goto(f"{base_url}/ops/{rid}/timeline?date={DAY}")
    countdown = page.locator(f'[data-table="T6"] [data-hold="{hold["id"]}"] .countdown')
    expect(countdown).to_have_text(re.compile(r"^[23]:\d\d$"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3_000)  # it ticks
    expect(page.locator('[data-table="T4"] .status-blocked')).to_have_text("Blocked")


def test_keyboard_only_and_tablet_width(
    browser: Any, base_url: str, restaurant: dict[str, Any], staff: httpx.Client
) -> None:
    rid = restaurant["id"]
    booking = book(staff, rid, "Edsger", 2, "18:30", ["T1"])
    context = browser.new_context(viewport={"width": 1024, "height": 768}, has_touch=True)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{base_url}/ops")
        page.keyboard.press("Tab")  # the skip link first
        page.keyboard.press("Tab")
        page.keyboard.type(restaurant["api_keys"]["staff"])
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(f"/ops/{rid}/timeline"))
        page.goto(f"{base_url}/ops/{rid}/timeline?date={DAY}")
        bar = page.locator(f'a[data-booking="{booking["id"]}"]')
        bar.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#booking-panel")).to_contain_text("Edsger")
        page.get_by_role("button", name="Seat", exact=True).focus()
        page.keyboard.press("Enter")
        expect(page.locator("#booking-status")).to_have_text("seated")
        # Nothing wider than the tablet: the grid scrolls inside its own box.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(page, "ops-timeline-tablet")
    finally:
        context.close()


def test_sign_in_pages_pass_the_audit(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/ops")
    assert axe_serious(page) == []
    page.get_by_label("API key").fill("sw_wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown API key")
    assert axe_serious(page) == []
    from tests.conftest import ADMIN_KEY

    page.get_by_label("API key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Restaurant id")).to_be_visible()
    assert axe_serious(page) == []


def test_today_has_a_now_line(page: Page, base_url: str, create_restaurant: Callable[..., dict[str, Any]]) -> None:
    doc = small_venue(tables=2)
    doc["timezone"] = "UTC"
    morning = doc["policy"]["services"][0]
    del morning["last_seating"]
    doc["policy"]["services"].append({**morning, "name": "evening", "start": "12:00", "end": "00:00"})
    morning.update(start="00:00", end="12:00")  # open around the clock: now is on the axis
    restaurant = create_restaurant(doc)
    sign_in(page, base_url, restaurant["api_keys"]["staff"])
    expect(page.locator(".nowline")).to_have_count(2)  # one per table row, today by default
    assert axe_serious(page) == []


def test_webhooks_are_listed_with_deliveries_refused_when_unsafe_and_deleted(
    page: Page, base_url: str, restaurant: dict[str, Any], runtime: Runtime
) -> None:
    rid = restaurant["id"]
    hook = webhooks.register(
        runtime.db,
        rid,
        webhooks.WebhookRequest("http://127.0.0.1:9/hook", ["booking.created"], "kitchen display"),
        runtime.secret_box,
        allow_private=True,  # as SEATWISE_WEBHOOK_ALLOW_PRIVATE=1 would
    )
    sign_in(page, base_url, restaurant["api_keys"]["staff"])
    page.goto(f"{base_url}/ops/{rid}/keys")
    row = page.locator(f'#webhooks [data-webhook="{hook.id}"]')
    expect(row).to_contain_text("http://127.0.0.1:9/hook")
    expect(row).to_contain_text("booking.created")
    expect(row).to_contain_text("none yet")
    assert hook.secret not in page.content()  # the secret was shown once, at creation
    assert axe_serious(page) == []

    # The page checks URLs with the same rule as the API: loopback is refused here.
    page.get_by_label("Webhook URL").fill("http://127.0.0.1:8/other")
    page.get_by_role("checkbox", name="booking.cancelled").check()
    page.get_by_role("button", name="Create webhook").click()
    expect(page.get_by_role("alert")).to_contain_text("http")
    assert [h.url for h in webhooks.list_webhooks(runtime.db, rid)] == ["http://127.0.0.1:9/hook"]

    row.get_by_role("button", name=re.compile("^Delete webhook")).click()
    expect(page.locator(f'#webhooks [data-webhook="{hook.id}"]')).to_have_count(0)
    assert webhooks.list_webhooks(runtime.db, rid) == []
