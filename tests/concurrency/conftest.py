"""Racers reach the database together here: the in-process gates (services.gates)
would line up one server's racers per slot before the database sees them, and the
database's own protection would be tested less. A test parametrized with
`gated=True` keeps them (the same race, through the gates)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager

import pytest

from seatwise.services import gates


@asynccontextmanager
async def _open_gate(
    _self: gates.Gates, _key: Hashable, _look: Callable[[], Awaitable[None]] | None, _patience: float = 0
) -> AsyncIterator[None]:
    yield


@pytest.fixture
def gated(request: pytest.FixtureRequest) -> bool:
    """Whether this race goes through the gates (`database_alone` reads the parameter)."""
    return bool(request.param)


@pytest.fixture(autouse=True)
def database_alone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("gated"):
        return
    monkeypatch.setattr(gates.Gates, "passage", _open_gate)
