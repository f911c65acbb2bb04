"""The Dockerfile, read as instructions (no Docker engine runs here; `docker build` is in the
README): a slim Python base, dependencies only from the hash-pinned lock, the bundled MCP servers
inside, a non-root user, a health check on /healthz and `sre-agent serve` as the entrypoint."""

from __future__ import annotations

import fnmatch
import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined: list[str] = []
    current = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        joined.append(current + stripped)
        current = ""
    pairs = []
    for entry in joined:
        keyword, _, rest = entry.partition(" ")
        pairs.append((keyword.upper(), rest.strip()))
    return pairs


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, rest))
    return found


def final_stage() -> list[tuple[str, str]]:
    return stages()[-1]


def args(keyword: str, stage: list[tuple[str, str]] | None = None) -> list[str]:
    return [rest for key, rest in (stage or instructions()) if key == keyword]


def test_bases_are_slim_python_images() -> None:
    (default,) = [a for a in args("ARG") if a.startswith("PYTHON_IMAGE=")]
    image = default.split("=", 1)[1]
    assert re.fullmatch(r"python:3\.1[1-9][\w.]*-slim(-\w+)?", image), image
    for base in args("FROM"):
        assert base.startswith("${PYTHON_IMAGE}"), base


def test_dependencies_come_only_from_the_hashed_lock() -> None:
    runs = " ".join(args("RUN"))
    installs = re.findall(r"pip install ([^&]+)", runs)
    assert installs
    for install in installs:
        assert "--no-deps" in install, install
        assert "--require-hashes" in install or re.search(r"/wheels/sre_agent-\S+\.whl", install)
    assert "-r requirements.lock" in runs
    assert "--no-build-isolation" in runs  # the build backend comes from the lock too


def test_the_package_with_its_bundled_mcp_servers_is_in_the_image() -> None:
    copied = " ".join(args("COPY"))
    for package in ("agent", "bot", "mcp_bridge", "runbooks"):
        assert re.search(rf"\b{package}\b", copied), package
    assert (ROOT / "mcp_bridge" / "servers" / "kubernetes").is_dir()
    assert (ROOT / "mcp_bridge" / "servers" / "prometheus").is_dir()
    runtime = final_stage()
    assert any("--from=build /opt/sre-agent" in rest for key, rest in runtime if key == "COPY")


def test_the_runtime_runs_as_a_non_root_user() -> None:
    (user,) = args("USER", final_stage())
    name = user.split(":")[0]
    assert name not in ("root", "0")
    assert name.isdigit()  # numeric, so Kubernetes' runAsNonRoot can verify it
    assert f"--uid {name}" in " ".join(args("RUN", final_stage()))


def test_health_check_and_entrypoint() -> None:
    (check,) = args("HEALTHCHECK", final_stage())
    assert "/healthz" in check
    command = json.loads(check.split("CMD", 1)[1].strip())
    assert command[0] == "python"  # the slim image has no curl
    (entrypoint,) = args("ENTRYPOINT", final_stage())
    assert json.loads(entrypoint) == ["sre-agent", "serve"]
    env = " ".join(args("ENV", final_stage()))
    assert "SRE_AGENT_HTTP_PORT=8080" in env
    assert "8080" in args("EXPOSE", final_stage())


def test_the_console_script_the_entrypoint_runs_exists() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    found = re.search(r'^sre-agent = "([\w.]+):(\w+)"$', pyproject, re.MULTILINE)
    assert found, "pyproject declares no `sre-agent` console script"
    module, name = found.groups()
    assert callable(getattr(importlib.import_module(module), name))


@pytest.mark.parametrize(
    "needed",
    [
        "requirements.lock",
        "requirements-dev.lock",
        "pyproject.toml",
        "README.md",
        "agent/service.py",
        "mcp_bridge/servers/kubernetes/server.py",
        "runbooks",
    ],
)
def test_dockerignore_keeps_what_the_build_copies(needed: str) -> None:
    """`.dockerignore` lists exclusions then `!` exceptions; the last match wins."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    included = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(needed, body) or needed.startswith(body + "/") or needed == body:
            included = negated
    assert included, needed
