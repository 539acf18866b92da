"""Pure webhook rules: addresses, URLs, subscriptions, backoff."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatwise.core import webhooks as rules
from seatwise.core.errors import UnsafeWebhookUrl, ValidationFailed

PRIVATE = [
    "127.0.0.1",
    "10.0.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",  # noqa: S104 - an address under test, nothing binds it
    "::1",
    "fe80::1",
    "fc00::1",
    "::ffff:10.0.0.1",
    "::ffff:127.0.0.1",
    "224.0.0.1",
    "ff02::1",
]
PUBLIC = ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"]


@pytest.mark.parametrize("address", PRIVATE)
def test_private_addresses_are_refused(address: str) -> None:
    assert not rules.address_allowed(ipaddress.ip_address(address), allow_private=False)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert rules.address_allowed(ipaddress.ip_address(address), allow_private=False)


def test_allow_private_allows_loopback_but_never_multicast() -> None:
    assert rules.address_allowed(ipaddress.ip_address("127.0.0.1"), allow_private=True)
    assert not rules.address_allowed(ipaddress.ip_address("224.0.0.1"), allow_private=True)


def test_targets() -> None:
    t = rules.parse_target("https://Hooks.Example.com./a/b?x=1", allow_private=False)
    assert (t.scheme, t.host, t.port, t.path, t.host_header) == (
        "https",
        "hooks.example.com",
        443,
        "/a/b?x=1",
        "hooks.example.com",
    )
    assert rules.parse_target("https://\u00e9t\u00e9.example/", allow_private=False).host == "xn--t-9fab.example"
    t = rules.parse_target("http://[::1]:8080", allow_private=True)
    assert (t.host, t.port, t.path, t.host_header) == ("::1", 8080, "/", "[::1]:8080")
    for url in (
        "http://hooks.example.com/",
        "https://localhost/",
        "https://a:b@hooks.example.com/",
        "https://hooks.example.com/#f",
        "https:///x",
        "https://[::1/",
        "https://a..b/",
        "https://a b/",
        "https://-a.example/",
        "https://" + "a" * 64 + ".example/",
    ):
        with pytest.raises(UnsafeWebhookUrl):
            rules.parse_target(url, allow_private=False)
    with pytest.raises(ValidationFailed):
        rules.parse_target("https://a.example/" + "x" * 2000, allow_private=False)


def test_subscriptions() -> None:
    assert rules.subscribed_events(["booking.created", "hold.expired", "booking.created"]) == (
        "booking.created",
        "hold.expired",
    )
    assert rules.subscribed_events(["booking.created", "*"]) == ("*",)
    for bad in ([], ["booking.*"], ["nope"]):
        with pytest.raises(ValidationFailed):
            rules.subscribed_events(bad)


def test_backoff_follows_the_schedule_then_dead() -> None:
    schedule = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 10800.0)
    assert [rules.retry_delay(n, schedule, 0.0) for n in range(1, 9)] == [*schedule, None]


@given(st.integers(1, 7), st.floats(-5, 5))
def test_jitter_is_bounded(attempt: int, draw: float) -> None:
    schedule = (5.0, 30.0, 120.0)
    delay = rules.retry_delay(attempt, schedule, draw)
    base = schedule[min(attempt, 3) - 1]
    assert delay is not None
    assert base * (1 - rules.JITTER) <= delay <= base * (1 + rules.JITTER)
