"""The Prometheus alerting rules are valid (`promtool check rules`) and behave as their
unit tests say (`promtool test rules`): each alert fires when it should and stays
quiet when it should not. promtool comes from Debian's `prometheus` package (.ci/run
installs it); without it this test fails, it never skips."""

from __future__ import annotations

import re
import shutil
import subprocess

import yaml

from tests.conftest import ROOT

RULES = ROOT / "deploy" / "prometheus" / "seatwise-rules.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "seatwise-rules.test.yml"


def _promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool not found: apt-get install -y prometheus (see .ci/run)"
    return found


def _run(*args: str) -> str:
    done = subprocess.run(  # noqa: S603 - promtool on the repository's own files
        [_promtool(), *args], capture_output=True, text=True, timeout=120, check=False, cwd=RULES.parent
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_rules_are_valid() -> None:
    assert "SUCCESS" in _run("check", "rules", RULES.name)


def test_rules_behave_as_their_unit_tests_say() -> None:
    assert "SUCCESS" in _run("test", "rules", RULE_TESTS.name)


def test_every_alert_is_tested_and_has_a_runbook() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    alerts = [r for g in groups for r in g["rules"] if "alert" in r]
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    for alert in alerts:
        assert alert["alert"] in tested, f"{alert['alert']} has no promtool test"
        runbook = ROOT / alert["annotations"]["runbook"]
        assert runbook.exists(), f"{alert['alert']}: {runbook} is missing"
        assert alert["alert"] in runbook.read_text(), f"{runbook} does not name {alert['alert']}"
