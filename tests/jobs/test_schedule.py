"""The sweeper's period as a procrastinate cron (seconds in the 6th field)."""

from __future__ import annotations

import pytest

from seatwise.jobs.worker import interval_cron


def test_interval_cron() -> None:
    assert interval_cron(60) == "*/1 * * * *"
    assert interval_cron(15) == "* * * * * */15"
    assert interval_cron(300) == "*/5 * * * *"
    assert interval_cron(7200) == "0 */2 * * *"
    for bad in (0, 7, 90, 3660):
        with pytest.raises(ValueError, match="SWEEP_INTERVAL"):
            interval_cron(bad)
