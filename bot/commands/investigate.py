"""`sre-agent investigate (--alert FILE | --text "...") [--sandbox SCENARIO] [--json]`: one
investigation of an alert file (any JSON shape the HTTP endpoint takes) or of free text, against
the configured tools and store (or a scenario's sandbox)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.alert import Alert


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--alert",
        metavar="FILE",
        help="a JSON alert: Alertmanager or Grafana webhook, one Alertmanager alert, or generic "
        "JSON with a title; '-' reads standard input",
    )
    source.add_argument("--text", metavar="TEXT", help="a free-text description of the problem")
    parser.add_argument(
        "--sandbox",
        metavar="SCENARIO",
        help="investigate against this scenario's sandbox (name or file) instead of the "
        "configured cluster and Prometheus",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from bot.commands._investigation import (
        announce_reasoner,
        cli_settings,
        finish,
        investigate,
        load_scenario_or_exit,
    )
    from bot.commands.demo import terminal_renderer

    settings = cli_settings(args.config)
    alert, remarks = read_alert(args.alert, args.text)
    scenario = load_scenario_or_exit(args.sandbox) if args.sandbox else None
    announce_reasoner(settings)
    for remark in remarks:
        print(f"sre-agent: {remark}", file=sys.stderr)
    renderer = None if args.json else terminal_renderer()
    outcome = asyncio.run(
        investigate(
            settings,
            alert,
            scenario=scenario,
            on_event=renderer.event if renderer else None,
            reference=f"file:{args.alert}" if args.alert else "text",
        )
    )
    return finish(outcome, as_json=args.json)


def read_alert(path: str | None, text: str | None) -> tuple[Alert, list[str]]:
    """The alert to investigate, and what the user should know about it. Raises BadInput with
    the reason when the input cannot be an alert."""
    from agent.intake import AlertParseError, parse_json, parse_text
    from bot.cli import BadInput

    remarks: list[str] = []
    if text is not None:
        try:
            alert = parse_text(text, source="cli")
        except AlertParseError as exc:
            raise BadInput(f"--text: {exc}") from None
    else:
        assert path is not None
        raw = _read(path)
        try:
            intake = parse_json(raw)
        except AlertParseError as exc:
            raise BadInput(f"{path}: {exc}") from None
        if not intake.alerts:
            raise BadInput(f"{path}: no firing alert to investigate ({intake.describe()})")
        alert = intake.alerts[0]
        if len(intake.alerts) > 1:
            remarks.append(
                f"{path} holds {len(intake.alerts)} firing alerts; investigating the first "
                f"({alert.name})"
            )
    if not alert.labels:
        remarks.append(
            "the alert has no labels: no namespace, pod, workload or node to look at, so only "
            "cluster-wide checks can run"
        )
    elif alert.kubernetes.is_empty():
        remarks.append(
            "the alert names no Kubernetes object (namespace, pod, deployment, node, PVC): "
            "checks that need one are skipped"
        )
    return alert, remarks


def _read(path: str) -> str:
    from bot.cli import BadInput

    try:
        if path == "-":
            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BadInput(f"cannot read the alert file {path}: {reason}") from None
