"""`sre-agent demo` serves its sandbox from a child process (`bot.sandbox_process`): it reports
where it serves, a bad scenario is bad input (exit 2, one line), any other failure says how the
child ended, and the child never outlives the command: not on a normal exit, not on Ctrl-C, not
when the parent is killed outright."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from bot.cli import BadInput, main
from bot.sandbox_process import SandboxFailed, SandboxProcess

ROOT = Path(__file__).parents[2]


def gone(pid: int, within_s: float = 10.0) -> bool:
    """True once no process `pid` exists (reaped, or a zombie of a parent that is gone)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split(") ")[-1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def test_serves_the_scenario_and_stops_with_its_kubeconfig_removed() -> None:
    with SandboxProcess.start("orders-missing-config-key") as process:
        served = asyncio.run(process.ready())
        assert served.scenario_name == "orders-missing-config-key"
        assert served.alert["labels"]["alertname"] == "KubeDeploymentRolloutStuck"
        assert served.kubeconfig_path.exists()
        assert f"server: {served.kubernetes_url}" in served.kubeconfig_path.read_text()
        version = httpx.get(f"{served.kubernetes_url}/version", timeout=5).json()
        assert version["major"] == "1"
        alerts = httpx.get(f"{served.prometheus_url}/api/v1/alerts", timeout=5).json()
        assert alerts["data"]["alerts"][0]["labels"] == served.alert["labels"]
        pid = process.pid
    assert gone(pid, within_s=0)  # close() waited for it
    assert not served.kubeconfig_path.exists()  # it stopped cleanly, not killed


def test_a_bad_scenario_is_bad_input_with_the_childs_reason(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\nclsuter: []\n")
    with SandboxProcess.start(broken) as process, pytest.raises(BadInput) as raised:
        asyncio.run(process.ready())
    assert str(broken) in str(raised.value)
    assert "required key 'description' is missing" in str(raised.value)


def test_demo_with_a_bad_scenario_file_exits_2_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\nclsuter: []\n")
    assert main(["demo", "--scenario", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sre-agent: {broken}")
    assert len(err.strip().splitlines()) == 1


def fake_child(code: str) -> SandboxProcess:
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - the SandboxProcess closes it
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    return SandboxProcess(process, stderr)


def test_a_child_that_crashes_says_how_it_ended_and_its_last_words() -> None:
    crash = (
        "import sys; print('Traceback ...', file=sys.stderr); "
        "print('OSError: boom', file=sys.stderr); sys.exit(1)"
    )
    with fake_child(crash) as process, pytest.raises(SandboxFailed) as raised:
        asyncio.run(process.ready())
    assert str(raised.value) == "the sandbox process exited with code 1: OSError: boom"


def test_a_child_that_says_something_unexpected_is_a_failure() -> None:
    with fake_child("print('hello'); import time; time.sleep(30)") as process:
        with pytest.raises(SandboxFailed, match="said something unexpected"):
            asyncio.run(process.ready())
        pid = process.pid
    assert gone(pid, within_s=0)


def test_a_child_that_never_serves_is_stopped_after_the_timeout() -> None:
    with fake_child("import time; time.sleep(60)") as process:
        started = time.monotonic()
        with pytest.raises(SandboxFailed, match="did not start serving within 1s"):
            asyncio.run(process.ready(timeout_s=1.0))
        assert time.monotonic() - started < 10
        pid = process.pid
    assert gone(pid, within_s=0)


def test_a_child_that_ignores_eof_is_terminated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.sandbox_process._STOP_TIMEOUT_S", 0.5)
    with fake_child(
        "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(60)"
    ) as process:
        pid = process.pid
    assert gone(pid, within_s=0)


def test_ctrl_c_in_the_parent_stops_the_child() -> None:
    def interrupted() -> None:
        nonlocal served, pid
        with SandboxProcess.start("checkout-oom") as process:
            served = asyncio.run(process.ready())
            pid = process.pid
            raise KeyboardInterrupt

    served, pid = None, 0
    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert served is not None
    assert gone(pid, within_s=0)
    assert not served.kubeconfig_path.exists()


def test_a_parent_killed_outright_takes_its_sandbox_along() -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import asyncio, time\n"
            "from bot.sandbox_process import SandboxProcess\n"
            "process = SandboxProcess.start('checkout-oom')\n"
            "asyncio.run(process.ready())\n"
            "print(process.pid, flush=True)\n"
            "time.sleep(60)\n",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        os.kill(child, 0)  # serving
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        assert gone(child)
    finally:
        parent.stdout.close()
        if not gone(child, within_s=0):
            os.kill(child, signal.SIGKILL)
