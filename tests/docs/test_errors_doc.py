"""docs/errors.md is generated from the ErrorCode enum; they must not drift."""

from __future__ import annotations

import re

from seatwise.core.errors import ERROR_CATALOGUE, ErrorCode, error_for
from seatwise.docs import errors_markdown
from tests.conftest import ROOT


def test_errors_md_is_current() -> None:
    committed = (ROOT / "docs" / "errors.md").read_text()
    assert committed == errors_markdown(), "docs/errors.md is stale: run `make docs`"


def test_every_code_is_catalogued_and_documented() -> None:
    assert set(ERROR_CATALOGUE) == set(ErrorCode)
    documented = re.findall(r"^\| `([A-Z_]+)` \| (\d{3}) \|", (ROOT / "docs" / "errors.md").read_text(), re.M)
    assert [(c.value, str(ERROR_CATALOGUE[c][0])) for c in ErrorCode] == documented


def test_every_code_renders_a_problem_document() -> None:
    for code in ErrorCode:
        problem = error_for(code, "because", extra=1).problem()
        assert problem["code"] == code.value == code.value.upper()
        assert problem["status"] == ERROR_CATALOGUE[code][0]
        assert problem["title"]
        assert problem["type"].startswith("https://")
        assert problem["extra"] == 1


def test_fields_never_override_standard_members() -> None:
    problem = error_for(ErrorCode.ILLEGAL_TRANSITION, "x", status="cancelled", code_hint=1).problem()
    assert problem["status"] == 409
    assert problem["code"] == "ILLEGAL_TRANSITION"
