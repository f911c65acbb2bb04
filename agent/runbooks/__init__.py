"""Runbooks: Markdown with YAML front matter that say which tools to use and which evidence to
gather for an alert, plus the fetcher for `runbook_url` annotations."""

from agent.runbooks.catalogue import CATALOGUE_TOOLS
from agent.runbooks.fetch import (
    FetchedRunbook,
    RunbookFetcher,
    RunbookUnavailable,
    github_raw_url,
    is_blocked_address,
)
from agent.runbooks.library import (
    DEFAULT_RUNBOOK,
    LintProblem,
    RunbookLibrary,
    check_runbook,
    parse_runbook,
)
from agent.runbooks.model import (
    PlannedStep,
    Runbook,
    RunbookMatch,
    RunbookSpec,
    RunbookStep,
    template_values,
)

__all__ = [
    "CATALOGUE_TOOLS",
    "DEFAULT_RUNBOOK",
    "FetchedRunbook",
    "LintProblem",
    "PlannedStep",
    "Runbook",
    "RunbookFetcher",
    "RunbookLibrary",
    "RunbookMatch",
    "RunbookSpec",
    "RunbookStep",
    "RunbookUnavailable",
    "check_runbook",
    "github_raw_url",
    "is_blocked_address",
    "parse_runbook",
    "template_values",
]
