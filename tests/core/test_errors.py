"""Every error code has exactly one exception class, and it renders its own code."""

from __future__ import annotations

import inspect

from seatwise.core import errors
from seatwise.core.errors import ErrorCode, SeatwiseError, error_class


def test_every_code_has_its_class() -> None:
    for code in ErrorCode:
        cls = error_class(code)
        assert cls.code is code
        assert issubclass(cls, SeatwiseError)


def test_classes_are_one_per_code() -> None:
    concrete = [
        c
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, SeatwiseError) and c is not SeatwiseError and not c.__name__.startswith("_")
    ]
    assert sorted(c.code.value for c in concrete) == sorted(code.value for code in ErrorCode)


def test_typed_fields_reach_the_problem_document() -> None:
    problem = errors.CapacityExceeded("full", alternatives=["19:15"]).problem()
    assert problem["code"] == "CAPACITY_EXCEEDED"
    assert problem["status"] == 409
    assert problem["alternatives"] == ["19:15"]
    assert errors.SlugTaken("x").problem()["slug"] == "x"
