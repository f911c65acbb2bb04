"""The sandbox: one scenario file served as a live Kubernetes API and Prometheus API on 127.0.0.1,
so the agent, kubectl and the official clients can investigate an incident with no cluster."""

from .runner import Sandbox, run_sandbox
from .scenario import (
    Expectation,
    MetricSeries,
    Scenario,
    ScenarioError,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
    parse_scenario_yaml,
)

__all__ = [
    "Expectation",
    "MetricSeries",
    "Sandbox",
    "Scenario",
    "ScenarioError",
    "builtin_scenarios",
    "load_scenario",
    "parse_scenario",
    "parse_scenario_yaml",
    "run_sandbox",
]
