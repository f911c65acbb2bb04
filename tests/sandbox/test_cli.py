"""`sre-agent sandbox` as a person runs it: it prints where everything is, serves until SIGINT
or SIGTERM, and exits 0."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

# `python -m bot.cli` would load bot.cli twice (as __main__ and as bot.cli), and BadInput raised
# by a command would not be the class `main` catches; the console script calls `main` like this.
SRE_AGENT = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]
ROOT = Path(__file__).parents[2]


def start(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(
        [*SRE_AGENT, "sandbox", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    printed: dict[str, str] = {}
    for line in process.stdout:
        if line.startswith("Serving until interrupted"):
            break
        key, _, value = line.partition(":")
        if value and not line.startswith(" "):
            printed[key.strip()] = value.strip()
        elif line.strip().startswith("kubectl"):
            printed["kubectl line"] = line.strip()
    else:
        errors = process.stderr.read() if process.stderr else ""
        raise AssertionError(f"the sandbox exited early ({process.wait()}): {errors}")
    return process, printed


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM])
def test_serves_until_interrupted_and_exits_0(tmp_path: Path, stop_with: signal.Signals) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process, printed = start(
        "--scenario", "orders-missing-config-key", "--kubeconfig", str(kubeconfig)
    )
    try:
        assert printed["kubeconfig"] == str(kubeconfig)
        assert printed["kubectl line"] == f"kubectl --kubeconfig {kubeconfig} get pods -A"
        assert printed["scenario"].startswith("orders-missing-config-key - ")
        version = httpx.get(f"{printed['kubernetes']}/version", timeout=5).json()
        assert version["major"] == "1"
        ready = httpx.get(f"{printed['prometheus']}/api/v1/alerts", timeout=5).json()
        assert ready["data"]["alerts"][0]["labels"]["alertname"] == "KubeDeploymentRolloutStuck"
    finally:
        process.send_signal(stop_with)
        assert process.wait(timeout=20) == 0
    assert kubeconfig.exists()


def test_defaults_to_checkout_oom() -> None:
    process, printed = start()
    try:
        assert printed["scenario"].startswith("checkout-oom - ")
        assert printed["alert"].startswith("KubePodCrashLooping since ")
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0


def test_a_directory_as_kubeconfig_is_bad_input(tmp_path: Path) -> None:
    done = subprocess.run(
        [*SRE_AGENT, "sandbox", "--kubeconfig", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == f"sre-agent: --kubeconfig {tmp_path} is a directory; give a file path\n"
