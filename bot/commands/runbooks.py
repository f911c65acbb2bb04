"""`sre-agent runbooks list|lint`: what runbooks are in effect, and what is wrong with them."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.runbooks import LintProblem, Runbook, RunbookLibrary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="runbooks_action", metavar="ACTION", required=True)
    for name, help_text in (
        ("list", "list the runbooks in effect: name, priority, match, steps, source file"),
        ("lint", "check runbook files; exit 1 when there are errors (warnings are allowed)"),
    ):
        action = actions.add_parser(name, help=help_text, description=help_text)
        action.add_argument(
            "--dir",
            dest="dirs",
            action="append",
            type=Path,
            default=[],
            metavar="DIR",
            help="a directory of runbooks (repeatable); earlier ones override later ones, the "
            "configured runbook_dirs and the built-ins, by name",
        )
        action.add_argument(
            "--no-builtin", action="store_true", help="leave out the built-in runbooks"
        )
        action.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace) -> int:
    from agent.runbooks import RunbookLibrary

    library = RunbookLibrary.load(_directories(args), builtin=not args.no_builtin)
    if args.runbooks_action == "list":
        return _list(library, as_json=args.json)
    return _lint(library, as_json=args.json)


def _directories(args: argparse.Namespace) -> list[Path]:
    from bot.cli import BadInput
    from bot.settings import ConfigError, load_settings

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        raise BadInput(str(exc)) from None
    for directory in args.dirs:
        if not directory.is_dir():
            raise BadInput(f"--dir {directory}: not a directory")
    for directory in settings.runbook_dirs:
        if not directory.is_dir():
            raise BadInput(f"runbook_dirs: {directory} is not a directory")
    return [*args.dirs, *settings.runbook_dirs]


def _list(library: RunbookLibrary, *, as_json: bool) -> int:
    overrides: dict[str, list[str]] = {}
    for hidden in library.shadowed:
        overrides.setdefault(hidden.name, []).append(hidden.source)
    if as_json:
        document = {
            "runbooks": [
                {
                    "name": rb.name,
                    "description": rb.description,
                    "priority": rb.priority,
                    "match": rb.match.model_dump(exclude_none=True),
                    "tools": rb.tools,
                    "steps": len(rb.steps),
                    "source": rb.source,
                    "overrides": overrides.get(rb.name, []),
                }
                for rb in _by_priority(library.runbooks)
            ],
            "problems": [problem.model_dump() for problem in library.problems],
        }
        print(json.dumps(document, indent=2))
        return 0
    rows = [("NAME", "PRIORITY", "MATCH", "STEPS", "SOURCE")]
    for rb in _by_priority(library.runbooks):
        source = _shown(rb.source)
        if rb.name in overrides:
            source += f" (overrides {', '.join(_shown(s) for s in overrides[rb.name])})"
        rows.append((rb.name, str(rb.priority), _match_text(rb), str(len(rb.steps)), source))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        print("  ".join([*cells, row[4]]).rstrip())
    if library.problems:
        files = len({problem.file for problem in library.problems})
        print(
            f"\n{files} runbook file(s) could not be loaded; "
            "run `sre-agent runbooks lint` to see why."
        )
    return 0


def _lint(library: RunbookLibrary, *, as_json: bool) -> int:
    from agent.runbooks import CATALOGUE_TOOLS

    problems = library.lint(CATALOGUE_TOOLS, tool_arguments=CATALOGUE_TOOLS)
    errors = sum(problem.severity == "error" for problem in problems)
    warnings = len(problems) - errors
    checked = len(
        [rb for rb in [*library.runbooks, *library.shadowed] if rb.source.endswith(".md")]
    )
    if as_json:
        document: dict[str, Any] = {
            "ok": errors == 0,
            "errors": errors,
            "warnings": warnings,
            "runbooks": checked,
            "problems": [problem.model_dump() for problem in problems],
        }
        print(json.dumps(document, indent=2))
    else:
        for problem in problems:
            print(_problem_line(problem))
        print(f"{checked} runbooks loaded; {errors} errors, {warnings} warnings")
    return 1 if errors else 0


def _by_priority(runbooks: list[Runbook]) -> list[Runbook]:
    return sorted(runbooks, key=lambda rb: (-rb.priority, rb.name))


def _match_text(rb: Runbook) -> str:
    parts = [f"alertname={rb.match.alertname}"] if rb.match.alertname is not None else []
    parts.extend(f"{name}={pattern}" for name, pattern in rb.match.labels.items())
    return " ".join(parts) or "(everything)"


def _problem_line(problem: LintProblem) -> str:
    return str(problem.model_copy(update={"file": _shown(problem.file)}))


def _shown(path: str) -> str:
    """A path relative to the working directory when it is under it: shorter to read."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative
