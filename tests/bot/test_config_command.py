"""`sre-agent config check` as a user runs it: a subprocess, providers at local fake servers,
exit 0 when everything configured works, 1 when something fails, 2 for a bad configuration."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from tests.fakes.openai_server import say, serve_openai, unused_port

REPO = Path(__file__).resolve().parents[2]


async def config_check(
    tmp_path: Path, config: str, *extra: str, **env: str
) -> tuple[int, str, str]:
    path = tmp_path / "sre-agent.yaml"
    path.write_text(config)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(path),
        "config",
        "check",
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO), **env},
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def base(tmp_path: Path, providers: str = "") -> str:
    return (
        f"database_url: sqlite+aiosqlite:///{tmp_path / 'check.db'}\n"
        "mcpServers:\n  kubernetes: {enabled: false}\n  prometheus: {enabled: false}\n" + providers
    )


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{c['part']} {c['name']}": c for c in document["checks"]}


async def test_config_check_reaches_each_provider_and_says_which_work(tmp_path: Path) -> None:
    async with serve_openai(api_key="good-key") as server:
        server.respond_with(lambda _: say("ok"))
        url = server.base_url
        providers = (
            "llm_providers:\n"
            f"  - {{name: good, model: m1, base_url: '{url}', api_key_env: GOOD_KEY}}\n"
            f"  - {{name: wrongkey, model: m1, base_url: '{url}', api_key_env: BAD_KEY}}\n"
            f"  - {{name: down, model: m2, base_url: 'http://127.0.0.1:{unused_port()}/v1'}}\n"
            f"  - {{name: nokey, model: m3, base_url: '{url}', api_key_env: MISSING_KEY}}\n"
        )
        code, out, err = await config_check(
            tmp_path, base(tmp_path, providers), "--json", GOOD_KEY="good-key", BAD_KEY="bad-key"
        )
    assert code == 1, err
    checks = by_name(json.loads(out))
    assert checks["llm good:m1"]["ok"]
    assert not checks["llm wrongkey:m1"]["ok"]
    assert "HTTP 401" in checks["llm wrongkey:m1"]["detail"]
    assert not checks["llm down:m2"]["ok"]
    assert "connection failed" in checks["llm down:m2"]["detail"]
    assert checks["llm nokey"]["detail"] == "not used: MISSING_KEY is not set"
    assert checks["store " + f"sqlite+aiosqlite:///{tmp_path / 'check.db'}"]["ok"]
    assert checks["mcp kubernetes"]["detail"] == "disabled"
    assert checks["runbooks runbooks"]["ok"]
    assert "good-key" not in out + err
    assert "bad-key" not in out + err


async def test_config_check_exits_0_when_everything_configured_works(tmp_path: Path) -> None:
    async with serve_openai() as server:
        server.respond_with(lambda _: say("ok"))
        providers = (
            f"llm_providers:\n  - {{name: local, model: m, base_url: '{server.base_url}'}}\n"
        )
        code, out, err = await config_check(tmp_path, base(tmp_path, providers))
        assert len(server.chat_requests) == 1
    assert code == 0, err
    assert "local:m" in out
    assert "answered in" in out
    assert out.strip().endswith("everything configured works")


async def test_config_check_without_an_llm_says_the_offline_reasoner_answers(
    tmp_path: Path,
) -> None:
    code, out, err = await config_check(tmp_path, base(tmp_path))
    assert code == 0, err
    assert "no LLM configured: investigations use the offline reasoner" in out


async def test_config_check_with_an_invalid_configuration_exits_2_in_one_line(
    tmp_path: Path,
) -> None:
    code, out, err = await config_check(
        tmp_path, base(tmp_path, "llm_providers:\n  - {name: x, kind: bard, model: m}\n")
    )
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "llm_providers.0.kind" in err


async def test_config_check_reports_a_server_that_does_not_start_and_a_store_that_does_not_open(
    tmp_path: Path,
) -> None:
    config = (
        f"database_url: postgresql+asyncpg://bot@127.0.0.1:{unused_port()}/sre\n"
        "mcpServers:\n  kubernetes: {enabled: false}\n  prometheus: {enabled: false}\n"
        f"  broken: {{command: {tmp_path / 'no-such-server'}}}\n"
    )
    code, out, err = await config_check(tmp_path, config, "--json")
    assert code == 1, err
    document = json.loads(out)
    assert not document["ok"]
    checks = by_name(document)
    assert checks["mcp broken"]["detail"].startswith("FAILED")
    (store,) = [c for c in document["checks"] if c["part"] == "store"]
    assert not store["ok"]
    assert "cannot open the store" in store["detail"]
