"""`sre-agent sandbox`: serve a scenario as a Kubernetes API and a Prometheus API on 127.0.0.1
until interrupted, with a kubeconfig so kubectl and other tools can look at it."""

from __future__ import annotations

import argparse
import asyncio
import signal
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
        return asyncio.run(_serve(scenario, kubeconfig))
    except OSError as exc:
        raise BadInput(f"cannot start the sandbox: {exc}") from None


async def _serve(scenario: Scenario, kubeconfig: Path | None) -> int:
    from mcp_bridge.sandbox import run_sandbox

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with run_sandbox(scenario, kubeconfig_path=kubeconfig) as sandbox:
        _announce(sandbox)
        await stop.wait()
    print("sandbox stopped", flush=True)
    return 0


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
