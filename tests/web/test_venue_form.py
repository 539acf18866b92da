"""The venue editor's form and its parser agree: the form of a venue, posted back
untouched, is the same venue; and the configured session secret wins over a
generated one."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from seatwise.config import load_settings
from seatwise.web.ops.session import session_secret
from seatwise.web.ops.venue_form import form_to_document

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class FormFields(HTMLParser):
    """What a browser would submit from the page's venue form (no button pressed)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._in_venue = False
        self._select: str | None = None
        self._option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._in_venue = a.get("action", "").endswith("/venue")
        if not self._in_venue:
            return
        if tag == "input" and "name" in a:
            kind = a.get("type", "text")
            if kind == "checkbox":
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value") or "on"))
            else:
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select is not None and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))
        elif tag == "textarea" and "name" in a:
            self.fields.append((a["name"], ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "form":
            self._in_venue = False


@pytest.fixture
def signed_in(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as c:
        yield c


@pytest.mark.parametrize("priorities", [False, True])
def test_the_form_of_a_venue_posted_back_is_the_same_venue(
    signed_in: httpx.Client,
    create_restaurant: Callable[..., dict[str, Any]],
    admin: httpx.Client,
    demo_document: dict[str, Any],
    priorities: bool,
) -> None:
    # The demo bistro: three zones, two services, pacing, a closure; and with a zone's
    # and a table's priority, which the form must keep.
    doc = copy.deepcopy(demo_document)
    if priorities:
        doc["zones"][0]["priority"] = 10
        doc["tables"][1]["priority"] = 3
    created = create_restaurant(doc)
    rid = created["id"]
    token = CSRF.search(signed_in.get("/ops").text)
    assert token
    signed_in.post("/ops/sign-in", data={"csrf": token.group(1), "api_key": created["api_keys"]["staff"]})
    page = signed_in.get(f"/ops/{rid}/venue")
    parser = FormFields()
    parser.feed(page.text)
    before = admin.get(f"/v1/restaurants/{rid}/venue").json()
    assert form_to_document([(k, v) for k, v in parser.fields if k not in ("csrf", "action")]) == {
        **before,
        "tables": [{k: v for k, v in t.items() if v is not None} for t in before["tables"]],
    }
    data: dict[str, list[str]] = {"action": ["save"]}
    for k, v in parser.fields:
        data.setdefault(k, []).append(v)
    saved = signed_in.post(f"/ops/{rid}/venue", data=data)
    assert saved.status_code == 200
    assert "Venue saved" in saved.text
    assert admin.get(f"/v1/restaurants/{rid}/venue").json() == before


def test_the_session_secret_is_generated_once_unless_configured(tmp_path: Path) -> None:
    settings = replace(load_settings(), data_dir=tmp_path, session_secret=None)
    first = session_secret(settings)
    assert len(first) >= 40
    assert session_secret(settings) == first
    assert (tmp_path / "session-secret").stat().st_mode & 0o077 == 0
    configured = replace(settings, session_secret="configured")  # noqa: S106 - a test value, not a secret
    assert session_secret(configured) == "configured"
