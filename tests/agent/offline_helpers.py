"""Building blocks for the offline reasoner's tests: alerts, tool outcomes shaped like the bundled
servers' documented results, and a small world of canned tool results served as LangChain tools
the way the MCP bridge serves them (text content plus a `{status, structured}` artifact)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from agent.alert import Alert
from agent.offline.scene import Scene
from agent.tooling import ToolOutcome, ToolStatus, call_key

NOW = datetime(2026, 5, 2, 12, 0, tzinfo=UTC)


def ago(minutes: float) -> str:
    return (NOW - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def alert(starts_minutes_ago: float = 5, **labels: str) -> Alert:
    return Alert(
        source="test",
        dedup_key="k",
        title=labels.get("alertname", "TestAlert"),
        labels={"alertname": "TestAlert", **labels},
        starts_at=NOW - timedelta(minutes=starts_minutes_ago),
    )


def scene(**labels: str) -> Scene:
    return Scene(alert(**labels), now=NOW)


def outcome(
    tool: str,
    arguments: dict[str, Any] | None = None,
    structured: Any = None,
    *,
    status: ToolStatus = ToolStatus.SUCCESS,
    text: str | None = None,
) -> ToolOutcome:
    return ToolOutcome(
        call_id=f"c{abs(hash((tool, json.dumps(arguments, sort_keys=True)))) % 10_000}",
        tool=tool,
        arguments=arguments or {},
        status=status,
        text=text if text is not None else json.dumps(structured),
        structured=structured,
    )


def container(
    name: str = "app",
    *,
    state: dict[str, Any] | None = None,
    last: dict[str, Any] | None = None,
    ready: bool = False,
    restarts: int = 0,
    limits: dict[str, str] | None = None,
    **more: Any,
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "name": name,
        "image": f"registry.example.com/{name}:1.0.0",
        "ports": [],
        "requests": {},
        "limits": limits or {},
        "env": {},
        "env_refs": [],
        "volume_mounts": [],
        "init": False,
        "ready": ready,
        "restart_count": restarts,
        "state": state or {"state": "running", "started_at": ago(60)},
        **more,
    }
    if last is not None:
        detail["last_termination"] = last
    return detail


def pod(
    name: str = "web-6c9f7b8d4-x2k4q",
    namespace: str = "shop",
    *,
    containers: list[dict[str, Any]] | None = None,
    status: str = "Running",
    phase: str = "Running",
    deployment: str | None = "web",
    **more: Any,
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "phase": phase,
        "status": status,
        "ready": "0/1",
        "restarts": 0,
        "age": "3d",
        "node": "node-1",
        "labels": {},
        "node_selector": {},
        "tolerations": [],
        "conditions": [],
        "init_containers": [],
        "containers": containers or [container()],
        "volumes": [],
        "events": [],
        **more,
    }
    if deployment:
        detail["owner"] = {"kind": "ReplicaSet", "name": name.rsplit("-", 1)[0]}
        detail["controller"] = {"kind": "Deployment", "name": deployment}
    return detail


def event(
    reason: str,
    message: str,
    *,
    kind: str = "Pod",
    name: str = "web-6c9f7b8d4-x2k4q",
    namespace: str | None = "shop",
    type_: str = "Warning",
    count: int = 1,
    minutes_ago: float = 1,
    field_path: str | None = None,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "object_kind": kind,
        "object_name": name,
        "type": type_,
        "reason": reason,
        "message": message,
        "count": count,
        "first_seen": ago(minutes_ago + 10),
        "last_seen": ago(minutes_ago),
    }
    if namespace:
        row["namespace"] = namespace
    if field_path:
        row["field_path"] = field_path
    return row


def series(labels: dict[str, str], values: list[float], *, minutes: float = 180) -> dict[str, Any]:
    """A range series of evenly spaced points ending now."""
    step = minutes / max(1, len(values) - 1)
    points = [[ago(minutes - i * step), value] for i, value in enumerate(values)]
    return {
        "labels": labels,
        "summary": {
            "first": values[0],
            "last": values[-1],
            "min": min(values),
            "max": max(values),
            "avg": sum(values) / len(values),
            "points": len(values),
        },
        "points": points,
    }


def range_result(query: str, *curves: dict[str, Any]) -> dict[str, Any]:
    return {
        "query": query,
        "start": ago(180),
        "end": ago(0),
        "step_seconds": 180.0,
        "series": list(curves),
        "series_count": len(curves),
    }


class World:
    """Canned tool results by call: the same call always answers the same, and every call made
    is recorded. Unknown calls answer like the real servers do for a missing object."""

    def __init__(self, answers: dict[str, Any] | None = None, *, default: Any = None) -> None:
        self.answers: dict[str, Any] = answers or {}
        self.default = default
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def on(self, tool: str, arguments: dict[str, Any], structured: Any) -> World:
        self.answers[call_key(tool, arguments)] = structured
        return self

    def tools(self, names: list[str]) -> list[BaseTool]:
        return [self._tool(name) for name in names]

    def _tool(self, name: str) -> BaseTool:
        async def run(**arguments: Any) -> tuple[str, dict[str, Any]]:
            self.calls.append((name, arguments))
            answer = self.answers.get(call_key(name, arguments), self.default)
            if isinstance(answer, Exception):
                return f"Error: {answer}", {"status": "error", "structured": None}
            if answer is None:
                return "not found (the API said: not found)", {
                    "status": "error",
                    "structured": None,
                }
            return json.dumps(answer), {
                "status": "success",
                "structured": answer,
                "truncated": False,
            }

        return StructuredTool.from_function(
            coroutine=run,
            name=name,
            description=name,
            args_schema={"type": "object", "properties": {}, "additionalProperties": True},
            response_format="content_and_artifact",
        )


Factory = Callable[..., Any]
