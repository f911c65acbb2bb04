"""kubectl, end to end, through the kubeconfig the sandbox writes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mcp_bridge.sandbox import Sandbox

KUBECTL = shutil.which("kubectl")
pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed"),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kubectl-home")


def kubectl(sandbox: Sandbox, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run(
        [
            KUBECTL,
            "--kubeconfig",
            str(sandbox.kubeconfig_path),
            "--cache-dir",
            str(home / "cache"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(home)},
        check=False,
    )


def test_get_pods_in_all_namespaces(checkout: Sandbox, home: Path) -> None:
    done = kubectl(checkout, home, "get", "pods", "-A")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    crashing = next(line for line in lines if "x2k4q" in line).split()
    assert crashing[:4] == ["shop", "checkout-6c9f7b8d4-x2k4q", "0/1", "CrashLoopBackOff"]
    assert re.fullmatch(r"5 \(7\ds ago\)", " ".join(crashing[4:7]))


def test_describe_pod(checkout: Sandbox, home: Path) -> None:
    done = kubectl(checkout, home, "describe", "pod", "checkout-6c9f7b8d4-x2k4q", "-n", "shop")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "Controlled By:  ReplicaSet/checkout-6c9f7b8d4" in text
    assert "Reason:       OOMKilled" in text
    assert "Exit Code:    137" in text
    assert "memory:  512Mi" in text
    # describe finds the pod's events by involvedObject name, namespace, kind and uid.
    assert "Back-off restarting failed container app" in text
    assert "(x11 over 23m)" in text


def test_logs_previous(checkout: Sandbox, home: Path) -> None:
    done = kubectl(
        checkout, home, "logs", "checkout-6c9f7b8d4-x2k4q", "-n", "shop", "--previous", "--tail=1"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "WARN  [Thread-14] c.e.shop.checkout.metrics.MemoryReporter : heap used 377MB"
    )


def test_get_events_in_all_namespaces(lab: Sandbox, home: Path) -> None:
    done = kubectl(lab, home, "get", "events", "-A")
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["NAMESPACE", "LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("FailedCreate" in row and "replicaset/batch-5f6d7c8b9" in row for row in rows)
    assert any(row.startswith("default") and "node/node-b" in row for row in rows)


def test_errors_read_like_a_real_cluster(lab: Sandbox, home: Path) -> None:
    secret = kubectl(lab, home, "get", "secret", "web-secret", "-n", "lab")
    assert secret.returncode == 1
    assert 'Error from server (Forbidden): secrets "web-secret" is forbidden' in secret.stderr
    missing = kubectl(lab, home, "get", "pod", "nope", "-n", "lab")
    assert 'Error from server (NotFound): pods "nope" not found' in missing.stderr
    delete = kubectl(lab, home, "delete", "pod", "api-0", "-n", "lab")
    assert 'cannot delete resource "pods"' in delete.stderr
    logs = kubectl(lab, home, "logs", "web-7d4b9c-fghij", "-n", "lab", "-c", "app")
    assert "is waiting to start: trying and failing to pull image" in logs.stderr
