"""`sre-agent sandbox`: serve a scenario as a Kubernetes API and a Prometheus API on 127.0.0.1
until interrupted, with a kubeconfig so kubectl and other tools can look at it.

For programs, `--json` prints one line when it serves (`{"scenario", "description",
"kubernetes_url", "prometheus_url", "kubeconfig", "now", "alert"}`) instead of the text, and
`--stop-on-eof` also stops it when its standard input closes, so a parent that dies, however it
dies, takes it along (`sre-agent demo` runs its sandbox that way)."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp_bridge.sandbox import Sandbox, Scenario

DEFAULT_SCENARIO = "checkout-oom"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario",
        metavar="NAME|FILE",
        default=DEFAULT_SCENARIO,
        help=f"a built-in scenario name or a scenario YAML file (default: {DEFAULT_SCENARIO})",
    )
    parser.add_argument(
        "--kubeconfig",
        metavar="PATH",
        type=Path,
        help="write the kubeconfig here (default: a temporary file, removed at exit)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON line when serving, for programs"
    )
    parser.add_argument(
        "--stop-on-eof",
        action="store_true",
        help="also stop when standard input closes (for a parent process)",
    )


def run(args: argparse.Namespace) -> int:
    from bot.cli import BadInput
    from mcp_bridge.sandbox import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        raise BadInput(str(exc)) from None
    kubeconfig: Path | None = args.kubeconfig
    if kubeconfig is not None and kubeconfig.is_dir():
        raise BadInput(f"--kubeconfig {kubeconfig} is a directory; give a file path")
    try:
        return asyncio.run(
            _serve(scenario, kubeconfig, as_json=args.json, stop_on_eof=args.stop_on_eof)
        )
    except OSError as exc:
        raise BadInput(f"cannot start the sandbox: {exc}") from None


async def _serve(
    scenario: Scenario, kubeconfig: Path | None, *, as_json: bool = False, stop_on_eof: bool = False
) -> int:
    from mcp_bridge.sandbox import run_sandbox

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if stop_on_eof:

        def wait_for_eof() -> None:
            sys.stdin.buffer.read()
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=wait_for_eof, name="stop-on-eof", daemon=True).start()
    async with run_sandbox(scenario, kubeconfig_path=kubeconfig) as sandbox:
        if as_json:
            print(json.dumps(served(sandbox), ensure_ascii=False), flush=True)
        else:
            _announce(sandbox)
        await stop.wait()
    if not as_json:
        print("sandbox stopped", flush=True)
    return 0


def served(sandbox: Sandbox) -> dict[str, object]:
    """What `--json` prints: where the sandbox is and the alert it serves."""
    return {
        "scenario": sandbox.scenario.name,
        "description": sandbox.scenario.description,
        "kubernetes_url": sandbox.kubernetes_url,
        "prometheus_url": sandbox.prometheus_url,
        "kubeconfig": str(sandbox.kubeconfig_path),
        "now": sandbox.now,
        "alert": sandbox.alert,
    }


def _announce(sandbox: Sandbox) -> None:
    scenario = sandbox.scenario
    lines = [
        f"scenario:   {scenario.name} - {scenario.description}",
        f"alert:      {sandbox.alert['labels'].get('alertname')} since {sandbox.alert['startsAt']}",
        f"kubernetes: {sandbox.kubernetes_url}",
        f"prometheus: {sandbox.prometheus_url}",
        f"kubeconfig: {sandbox.kubeconfig_path}",
        "",
        f"  kubectl --kubeconfig {sandbox.kubeconfig_path} get pods -A",
        f"  curl '{sandbox.prometheus_url}/api/v1/alerts'",
        "",
        "Serving until interrupted (Ctrl-C).",
    ]
    print("\n".join(lines), flush=True)
