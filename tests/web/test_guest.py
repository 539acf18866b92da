"""The public guest page (`/book/{slug}`) in a real browser: Debian's Chromium driven
by Playwright against the real app and a real PostgreSQL.

Each step's screenshot is saved as tests/artifacts/guest-*.png.
"""

from __future__ import annotations

import concurrent.futures
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from seatwise.services.guest_booking import UNKNOWN_ADDRESS
from tests.conftest import ADMIN_KEY, DAY, client_for, small_venue
from tests.web.conftest import axe_serious, screenshot

NAME = "Grace Hopper"


@pytest.fixture
def room(create_restaurant: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return create_restaurant(small_venue(tables=3))


@pytest.fixture
def staff(base_url: str, room: dict[str, Any]) -> Iterator[httpx.Client]:
    with client_for(base_url, room["api_keys"]["staff"]) as c:
        yield c


def book_url(base_url: str, r: dict[str, Any]) -> str:
    return f"{base_url}/book/{r['slug']}"


def bookings_of(staff: httpx.Client, r: dict[str, Any]) -> list[dict[str, Any]]:
    response = staff.get(f"/v1/restaurants/{r['id']}/bookings", params={"date": DAY})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def search(page: Page, url: str, party: int = 2, day: str = DAY) -> None:
    page.goto(url)
    page.get_by_label("Party size").fill(str(party))
    page.get_by_label("Date").fill(day)
    page.get_by_role("button", name="Show times").click()


def choose(page: Page, time_text: str) -> None:
    page.get_by_role("button", name=time_text, exact=True).first.click()
    expect(page.get_by_role("heading", name="Your table is held")).to_be_visible()


def secrets_of(r: dict[str, Any]) -> list[str]:
    return [*r["api_keys"].values(), ADMIN_KEY]


def no_key_in(html: str, r: dict[str, Any]) -> None:
    for key in secrets_of(r):
        assert key not in html
    assert not re.search(r"sw_[0-9a-f]{32}_", html), "something shaped like an API key is in the page"


def fits(page: Page, width: int = 375) -> None:
    """Nothing wider than the phone's screen: no sideways scrolling."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width}px wide on a {width}px screen"


def focused_text(page: Page) -> str:
    text: str = page.evaluate("document.activeElement ? document.activeElement.textContent : ''")
    return " ".join(text.split())


def test_books_end_to_end_on_a_phone(phone: Page, base_url: str, room: dict[str, Any], staff: httpx.Client) -> None:
    console: list[str] = []
    phone.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
    sources: list[str] = []

    phone.goto(book_url(base_url, room))
    expect(phone.get_by_role("heading", name="Book a table")).to_be_visible()
    fits(phone)
    sources.append(phone.content())
    screenshot(phone, "guest-1-start")

    search(phone, book_url(base_url, room), party=2)
    expect(phone.get_by_role("button", name="19:00", exact=True)).to_be_visible()
    assert focused_text(phone).startswith("Times for 2 on Wednesday 10 March 2027"), "focus moves to the times"
    fits(phone)
    sources.append(phone.content())
    screenshot(phone, "guest-2-times")

    choose(phone, "19:00")
    assert focused_text(phone) == "Your table is held"
    expect(phone.locator("#countdown")).to_have_text(re.compile(r"^[23]:\d\d$"))
    expect(phone.get_by_role("timer")).to_be_visible()
    expect(phone.locator("[aria-live=polite]#countdown-status")).to_have_count(1)
    expect(phone.get_by_text("Table for 2 on Wednesday 10 March 2027 at 19:00.")).to_be_visible()
    fits(phone)
    sources.append(phone.content())
    screenshot(phone, "guest-3-held")

    phone.get_by_label("Name").fill(NAME)
    phone.get_by_label("Phone").fill("+44 20 7946 0001")
    phone.get_by_label("Email").fill("grace@example.com")
    phone.get_by_label("Notes").fill("A quiet table, please.")
    phone.get_by_role("button", name="Confirm booking").click()
    expect(phone.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    assert focused_text(phone) == "Booking confirmed"
    expect(phone.locator("#booking-time")).to_have_text("19:00")
    expect(phone.locator("#booking-party")).to_have_text("2")
    reference = phone.locator("#booking-reference").inner_text()
    fits(phone)
    sources.append(phone.content())
    screenshot(phone, "guest-4-confirmed")

    [booking] = bookings_of(staff, room)
    assert booking["status"] == "confirmed"
    assert booking["start"] == f"{DAY}T19:00:00+00:00"
    assert booking["party_size"] == 2
    assert booking["guest"] == {"name": NAME, "phone": "+44 20 7946 0001", "email": "grace@example.com"}
    assert booking["notes"] == "A quiet table, please."
    assert booking["channel"] == "channel"  # the page acts with the restaurant's channel access
    assert booking["id"].replace("-", "").upper().startswith(reference)
    for html in sources:
        no_key_in(html, room)
    assert console == [], f"the browser complained (a CSP violation?): {console}"


def test_every_step_passes_the_accessibility_audit(
    page: Page, phone: Page, base_url: str, room: dict[str, Any]
) -> None:
    for pg in (page, phone):
        pg.goto(book_url(base_url, room))
        assert axe_serious(pg) == []
        search(pg, book_url(base_url, room), party=3)
        expect(pg.get_by_role("button", name="20:00", exact=True)).to_be_visible()
        assert axe_serious(pg) == []
        choose(pg, "20:00")
        assert axe_serious(pg) == []
        pg.get_by_role("button", name="Confirm booking").click()  # no name: the error step
        expect(pg.locator("#name-error")).to_have_text("Enter your name.")
        assert axe_serious(pg) == []
        pg.get_by_label("Name").fill(NAME)
        pg.get_by_role("button", name="Confirm booking").click()
        expect(pg.get_by_role("heading", name="Booking confirmed")).to_be_visible()
        assert axe_serious(pg) == []


def test_keyboard_alone_books_a_table(
    browser: Browser, base_url: str, room: dict[str, Any], staff: httpx.Client
) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="en-US")
    kb = context.new_page()
    kb.set_default_timeout(10_000)
    try:
        kb.goto(book_url(base_url, room))
        kb.keyboard.press("Tab")  # the restaurant's name (a link home)
        kb.keyboard.press("Tab")
        assert kb.evaluate("document.activeElement.id") == "party_size"
        kb.keyboard.press("Control+A")
        kb.keyboard.type("4")
        kb.keyboard.press("Tab")
        assert kb.evaluate("document.activeElement.id") == "date"
        kb.keyboard.type("03102027")  # en-US: month, day, year
        kb.keyboard.press("Enter")
        expect(kb.get_by_role("button", name="17:00", exact=True)).to_be_visible()
        kb.keyboard.press("Tab")  # from the focused heading to the first time
        assert focused_text(kb) == "17:00"
        kb.keyboard.press("Tab")
        assert focused_text(kb) == "17:15"
        kb.keyboard.press("Enter")
        expect(kb.get_by_role("heading", name="Your table is held")).to_be_visible()
        kb.keyboard.press("Tab")
        assert kb.evaluate("document.activeElement.id") == "name"
        kb.keyboard.type(NAME)
        for _ in range(4):  # phone, email, notes, then the button
            kb.keyboard.press("Tab")
        assert focused_text(kb) == "Confirm booking"
        kb.keyboard.press("Enter")
        expect(kb.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    finally:
        context.close()
    [booking] = bookings_of(staff, room)
    assert (booking["party_size"], booking["start"], booking["guest"]["name"]) == (4, f"{DAY}T17:15:00+00:00", NAME)


def test_without_javascript_the_plain_forms_book(
    browser: Browser, base_url: str, room: dict[str, Any], staff: httpx.Client
) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, java_script_enabled=False)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    try:
        search(pg, book_url(base_url, room), party=2)
        choose(pg, "18:30")
        expect(pg.locator("#countdown")).to_have_text(re.compile(r"^[23]:\d\d$"))  # rendered by the server
        pg.get_by_label("Name").fill(NAME)
        pg.get_by_role("button", name="Confirm booking").click()
        expect(pg.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    finally:
        context.close()
    assert [b["start"] for b in bookings_of(staff, room)] == [f"{DAY}T18:30:00+00:00"]


def test_a_time_taken_meanwhile_offers_the_alternatives(
    phone: Page, base_url: str, create_restaurant: Callable[..., dict[str, Any]]
) -> None:
    r = create_restaurant(small_venue(tables=1))
    search(phone, book_url(base_url, r), party=2)
    expect(phone.get_by_role("button", name="19:00", exact=True)).to_be_visible()
    with client_for(base_url, r["api_keys"]["channel"]) as channel:  # another guest, by another channel
        taken = channel.post(
            f"/v1/restaurants/{r['id']}/bookings",
            json={"party_size": 2, "start": f"{DAY}T19:00", "guest": {"name": "Someone Else"}},
        )
        assert taken.status_code == 201, taken.text
    phone.get_by_role("button", name="19:00", exact=True).click()
    notice = phone.get_by_role("alert")
    expect(notice).to_contain_text("Sorry, 19:00 is no longer free for 2. These times are still free:")
    assert focused_text(phone).startswith("Sorry, 19:00 is no longer free")
    offered = phone.get_by_role("group", name="Nearest free times").get_by_role("button")
    assert offered.all_inner_texts() == ["18:00", "20:00", "17:45", "20:15"]
    fits(phone)
    assert axe_serious(phone) == []
    screenshot(phone, "guest-5-taken")
    offered.first.click()
    expect(phone.get_by_text("Table for 2 on Wednesday 10 March 2027 at 18:00.")).to_be_visible()


def test_an_expired_hold_says_so_and_offers_the_times_again(
    phone: Page, base_url: str, create_restaurant: Callable[..., dict[str, Any]], owner_url: str
) -> None:
    r = create_restaurant(small_venue(tables=1, hold_ttl_seconds=2))
    search(phone, book_url(base_url, r), party=2)
    choose(phone, "19:00")
    phone.get_by_label("Name").fill(NAME)
    expect(phone.locator("#countdown-status")).to_contain_text("Your hold has expired", timeout=5_000)
    phone.get_by_role("button", name="Confirm booking").click()
    expect(phone.get_by_role("alert")).to_contain_text("Your hold on 19:00 has expired")
    expect(phone.get_by_role("button", name="19:00", exact=True)).to_be_visible()  # free again, offered again
    assert axe_serious(phone) == []
    screenshot(phone, "guest-6-expired")
    with psycopg.connect(owner_url) as conn:
        row = conn.execute("SELECT count(*) FROM bookings WHERE restaurant_id = %s", [r["id"]]).fetchone()
    assert row == (0,)
    choose(phone, "19:00")  # and the guest can hold it again


def test_a_double_clicked_confirm_makes_one_booking(
    browser: Browser, phone: Page, base_url: str, room: dict[str, Any], staff: httpx.Client, owner_url: str
) -> None:
    search(phone, book_url(base_url, room), party=2)
    choose(phone, "19:00")
    phone.get_by_label("Name").fill(NAME)
    posts: list[str] = []
    phone.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    phone.get_by_role("button", name="Confirm booking").dblclick()
    expect(phone.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    assert len(posts) == 1, "the page's script sends a form once"
    confirmed_at = phone.url
    phone.reload()  # a reload of the confirmation is a GET: nothing is made
    phone.go_back()  # back to the held page: it is confirmed now, so it shows the booking
    expect(phone.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    assert phone.url == confirmed_at

    # Without the page's script (nothing to stop a second submit) the server settles it.
    context = browser.new_context(java_script_enabled=False)
    plain = context.new_page()
    try:
        search(plain, book_url(base_url, room), party=2)
        choose(plain, "20:00")
        plain.get_by_label("Name").fill("Second Guest")
        plain.get_by_role("button", name="Confirm booking").dblclick()
        expect(plain.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    finally:
        context.close()
    assert sorted(b["start"] for b in bookings_of(staff, room)) == [f"{DAY}T19:00:00+00:00", f"{DAY}T20:00:00+00:00"]
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            "SELECT guest_name, count(*) FROM bookings WHERE restaurant_id = %s GROUP BY guest_name ORDER BY 1",
            [room["id"]],
        ).fetchall()
    assert rows == [(NAME, 1), ("Second Guest", 1)]


def test_resubmitting_the_form_returns_the_same_booking(
    base_url: str, room: dict[str, Any], staff: httpx.Client
) -> None:
    """Back and resubmit, or two submits at once: the same hold gives the same booking."""
    with httpx.Client(base_url=base_url, timeout=30) as web:
        held = web.post(f"/book/{room['slug']}/holds", data={"party_size": "2", "date": DAY, "time": "19:00"})
        assert held.status_code == 303
        page = web.get(held.headers["location"])
        key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
        assert key is not None
        confirm = held.headers["location"] + "/confirm"
        form = {"idempotency_key": key.group(1), "name": NAME, "phone": "", "email": "", "notes": ""}
        answers = [web.post(confirm, data=form) for _ in range(3)]
        assert {a.status_code for a in answers} == {303}
        assert len({a.headers["location"] for a in answers}) == 1
        other_key = web.post(confirm, data={**form, "idempotency_key": "another-render-of-the-form"})
        assert other_key.headers["location"] == answers[0].headers["location"]
        [booking] = bookings_of(staff, room)

        # Eight submits of one fresh form at once: one booking, every answer leads to it.
        second = web.post(f"/book/{room['slug']}/holds", data={"party_size": "2", "date": DAY, "time": "20:00"})
        second_key = re.search(r'name="idempotency_key" value="([^"]+)"', web.get(second.headers["location"]).text)
        assert second_key is not None
        racing_form = {**form, "idempotency_key": second_key.group(1), "name": "Racing Guest"}
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            racing = list(
                pool.map(
                    lambda _: httpx.post(f"{base_url}{second.headers['location']}/confirm", data=racing_form),
                    range(8),
                )
            )
        assert {a.status_code for a in racing} == {303}
        assert len({a.headers["location"] for a in racing}) == 1
        assert [b["guest"]["name"] for b in bookings_of(staff, room)].count("Racing Guest") == 1

        # The confirmation page tells the truth later too.
        cancelled = staff.post(f"/v1/restaurants/{room['id']}/bookings/{booking['id']}/cancel")
        assert cancelled.status_code == 200
        later = web.get(answers[0].headers["location"])
        assert "This booking is cancelled" in later.text
        assert "Booking confirmed" not in later.text


def test_the_page_never_contains_an_api_key(base_url: str, room: dict[str, Any]) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as web:
        pages = [
            web.get(f"/book/{room['slug']}"),
            web.get(f"/book/{room['slug']}", params={"party_size": "2", "date": DAY}),
        ]
        held = web.post(f"/book/{room['slug']}/holds", data={"party_size": "2", "date": DAY, "time": "19:00"})
        pages.append(web.get(held.headers["location"]))
        confirmed = web.post(held.headers["location"] + "/confirm", data={"name": NAME, "idempotency_key": "k"})
        pages.append(web.get(confirmed.headers["location"]))
        pages.append(web.get("/static/guest.js"))
        for p in pages:
            assert p.status_code == 200
            no_key_in(p.text, room)


def test_a_fourth_concurrent_hold_from_one_address_is_refused(
    phone: Page, base_url: str, room: dict[str, Any], owner_url: str
) -> None:
    """Eight holds at once from one address: exactly three are taken, five are 429."""
    url = f"/book/{room['slug']}/holds"

    def take(at: str) -> httpx.Response:
        with httpx.Client(base_url=base_url, timeout=30) as web:
            return web.post(url, data={"party_size": "2", "date": DAY, "time": at})

    times = ["17:00", "17:30", "18:00", "18:30", "19:00", "19:30", "20:00", "20:30"]
    with concurrent.futures.ThreadPoolExecutor(len(times)) as pool:
        answers = list(pool.map(take, times))
    assert sorted(a.status_code for a in answers) == [303] * 3 + [429] * 5
    for refused in (a for a in answers if a.status_code == 429):
        assert "already holding 3 tables" in refused.text
    with psycopg.connect(owner_url) as conn:
        live = conn.execute(
            "SELECT host(client_address), count(*) FROM holds WHERE restaurant_id = %s GROUP BY 1", [room["id"]]
        ).fetchall()
    assert live == [("127.0.0.1", 3)]

    # The same refusal in the browser, plainly worded, with the times still there.
    search(phone, book_url(base_url, room), party=2)
    phone.get_by_role("button", name="21:00", exact=True).click()
    expect(phone.get_by_role("alert")).to_contain_text("You are already holding 3 tables here")
    assert axe_serious(phone) == []
    screenshot(phone, "guest-7-rate-limited")

    # Giving one back makes room for another.
    first = next(a for a in answers if a.status_code == 303)
    with httpx.Client(base_url=base_url, timeout=30) as web:
        released = web.post(first.headers["location"] + "/release")
        assert released.status_code == 303
        assert web.post(url, data={"party_size": "2", "date": DAY, "time": "21:00"}).status_code == 303


def test_holds_over_the_api_do_not_count_against_the_page(base_url: str, room: dict[str, Any]) -> None:
    with client_for(base_url, room["api_keys"]["channel"]) as channel:
        for at in ("17:00", "18:00", "19:00"):
            hold = channel.post(f"/v1/restaurants/{room['id']}/holds", json={"party_size": 2, "start": f"{DAY}T{at}"})
            assert hold.status_code == 201
    with httpx.Client(base_url=base_url, timeout=30) as web:
        page_hold = web.post(f"/book/{room['slug']}/holds", data={"party_size": "2", "date": DAY, "time": "20:00"})
    assert page_hold.status_code == 303


def test_closed_days_and_hours_outside_service_are_said_plainly(
    phone: Page, base_url: str, create_restaurant: Callable[..., dict[str, Any]]
) -> None:
    doc = small_venue(tables=2)
    doc["policy"]["services"][0]["days"] = ["mon", "tue", "wed", "thu", "fri", "sat"]
    doc["policy"]["closures"] = ["2027-03-11"]
    r = create_restaurant(doc)
    search(phone, book_url(base_url, r), party=2, day="2027-03-11")
    expect(phone.locator("#closed")).to_have_text("Test Room is closed on Thursday 11 March 2027.")
    assert axe_serious(phone) == []
    screenshot(phone, "guest-8-closed")
    search(phone, book_url(base_url, r), party=2, day="2027-03-14")
    expect(phone.locator("#closed")).to_have_text("Test Room is not open on Sundays.")
    with httpx.Client(base_url=base_url, timeout=30) as web:
        outside = web.post(f"/book/{r['slug']}/holds", data={"party_size": "2", "date": DAY, "time": "03:00"})
    assert outside.status_code == 422
    assert "03:00 on Wednesday 10 March 2027 is outside the restaurant&#39;s opening hours." in outside.text


def test_bad_input_is_shown_next_to_its_field(phone: Page, base_url: str, room: dict[str, Any]) -> None:
    search(phone, book_url(base_url, room), party=99, day="2001-01-01")
    expect(phone.locator("#party_size-error")).to_have_text("Party size must be between 1 and 20.")
    expect(phone.locator("#date-error")).to_have_text("That date has passed. Choose today or a later date.")
    expect(phone.get_by_label("Party size")).to_have_attribute("aria-invalid", "true")
    search(phone, book_url(base_url, room), party=2)
    choose(phone, "19:00")
    phone.get_by_label("Name").fill(NAME)
    phone.get_by_label("Email").fill("not an address")
    phone.get_by_role("button", name="Confirm booking").click()
    expect(phone.locator("#email-error")).to_have_text("Enter an email address like name@example.com.")
    expect(phone.get_by_label("Name")).to_have_value(NAME)  # what the guest typed is kept
    with httpx.Client(base_url=base_url, timeout=30) as web:
        for data in (
            {"party_size": "x", "date": DAY, "time": "19:00"},
            {"party_size": "2", "date": "2027-02-30", "time": "19:00"},
            {"party_size": "2", "date": DAY, "time": "25:00"},
            {},
        ):
            answer = web.post(f"/book/{room['slug']}/holds", data=data)
            assert answer.status_code == 422, data
            assert answer.headers["content-type"].startswith("text/html")
        for junk in (b"x" * 20_000, b"&".join(b"f%d=1" % i for i in range(50)), b"\xff\xfe=%%%"):
            answer = web.post(f"/book/{room['slug']}/holds", content=junk)
            assert answer.status_code == 422
            assert answer.headers["content-type"].startswith("text/html")
        assert web.get("/book/no-such-restaurant").status_code == 404
        phone.goto(f"{base_url}/book/no-such-restaurant")
        expect(phone.get_by_role("heading", name="Not found")).to_be_visible()
        assert axe_serious(phone) == []
        assert web.get(f"/book/{room['slug']}/holds/not-a-uuid").status_code == 404
        assert web.get(f"/book/{room['slug']}/bookings/00000000-0000-0000-0000-000000000000").status_code == 404


def test_every_answer_under_book_carries_a_strict_content_security_policy(base_url: str, room: dict[str, Any]) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as web:
        answers = [
            web.get(f"/book/{room['slug']}"),
            web.get(f"/book/{room['slug']}", params={"party_size": "2", "date": DAY}),
            web.post(f"/book/{room['slug']}/holds", data={"party_size": "2", "date": DAY, "time": "19:00"}),
            web.get("/book/no-such-restaurant"),
        ]
        api = web.get("/healthz")
    for a in answers:
        csp = a.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "script-src 'self'" in csp
        assert "style-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert a.headers["x-content-type-options"] == "nosniff"
        if a.headers.get("content-type", "").startswith("text/html"):
            assert not re.search(r"<script(?![^>]*\bsrc=)", a.text), "an inline script"
            assert not re.search(r"<style|\sstyle=", a.text), "an inline style"
    assert "content-security-policy" not in api.headers  # scoped to the guest page


def test_the_limit_is_per_address(base_url: str, room: dict[str, Any], owner_url: str) -> None:
    """Through a trusted proxy (uvicorn trusts 127.0.0.1) each guest has their own three."""
    url = f"/book/{room['slug']}/holds"
    with httpx.Client(base_url=base_url, timeout=30) as web:
        for address, times, last in (
            ("203.0.113.7", ("17:00", "17:15", "17:30", "17:45"), 429),
            ("2001:db8::1", ("18:00", "18:15", "18:30", "18:45"), 429),
            ("not-an-address", ("19:00", "19:15", "19:30", "19:45"), 429),  # one shared bucket, never a 500
        ):
            answers = [
                web.post(url, data={"party_size": "1", "date": DAY, "time": t}, headers={"X-Forwarded-For": address})
                for t in times
            ]
            assert [a.status_code for a in answers] == [303, 303, 303, last], address
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            "SELECT host(client_address), count(*) FROM holds WHERE restaurant_id = %s GROUP BY 1 ORDER BY 1",
            [room["id"]],
        ).fetchall()
    assert rows == [(UNKNOWN_ADDRESS, 3), ("2001:db8::1", 3), ("203.0.113.7", 3)]
