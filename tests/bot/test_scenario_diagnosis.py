"""The diagnosis-quality gate: `sre-agent eval` runs every shipped scenario (and every development
scenario of the offline reasoner) through the sandbox and the offline reasoner, and each must get
its expected category and root-cause keywords."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.cli import main
from mcp_bridge.sandbox.scenario import BUILTIN_DIR

DEV_DIR = Path(__file__).parents[1] / "fixtures" / "scenarios"
SCENARIOS = sorted(BUILTIN_DIR.glob("*.yaml")) + sorted(DEV_DIR.glob("*.yaml"))


@pytest.fixture(autouse=True)
def no_ambient_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KUBECONFIG", "PROMETHEUS_URL", "SRE_AGENT_CONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_scenario_is_diagnosed_as_its_answer_key_says(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", str(path), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["scenarios"]
    assert row["error"] is None
    assert row["got"] == row["expected"], row["root_cause"]
    assert row["missing_keywords"] == [], row["root_cause"]
    # What a person reads names real things: no template placeholder such as `<container>`.
    for text in (row["summary"], row["root_cause"]):
        assert not re.search(r"<[a-z_]+>", text), text
