"""The read-only policy: what the bridge offers and refuses, live over stdio with the ops server."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import types

from mcp_bridge.config import ServerConfig
from mcp_bridge.policy import review
from mcp_bridge.toolbox import Toolbox, ToolRefused, UnknownTool
from tests.bridge.conftest import configs, ops_stdio

READ_ONLY = types.ToolAnnotations(readOnlyHint=True, destructiveHint=False)
WRITES = types.ToolAnnotations(readOnlyHint=False, destructiveHint=False)
DESTROYS = types.ToolAnnotations(readOnlyHint=False, destructiveHint=True)


def tool(name: str, annotations: types.ToolAnnotations | None) -> types.Tool:
    return types.Tool(name=name, inputSchema={"type": "object"}, annotations=annotations)


def server(**policy: Any) -> ServerConfig:
    return ServerConfig(name="ops", command="x", **policy)


def test_read_only_tool_is_offered_by_default() -> None:
    assert review(tool("get_pod", READ_ONLY), server(), "ops_get_pod") is None


@pytest.mark.parametrize("annotations", [None, WRITES, types.ToolAnnotations(title="t")])
def test_tool_not_marked_read_only_is_withheld_on_a_read_only_server(
    annotations: types.ToolAnnotations | None,
) -> None:
    reason = review(tool("scale", annotations), server(), "ops_scale")
    assert reason is not None
    assert "readOnlyHint" in reason
    assert "read_only: false" in reason


def test_tool_that_changes_things_is_offered_when_a_person_sets_read_only_false() -> None:
    assert review(tool("scale", WRITES), server(read_only=False), "ops_scale") is None
    assert review(tool("note", None), server(read_only=False), "ops_note") is None


def test_destructive_tool_is_withheld_even_when_the_server_may_write() -> None:
    reason = review(tool("delete", DESTROYS), server(read_only=False), "ops_delete")
    assert reason is not None
    assert "destructive" in reason


def test_destructive_tool_marked_read_only_too_is_still_destructive() -> None:
    both = types.ToolAnnotations(readOnlyHint=True, destructiveHint=True)
    assert review(tool("wipe", both), server(), "ops_wipe") is not None


def test_destructive_tool_needs_read_only_false_and_its_exact_name_in_allow_tools() -> None:
    destructive = tool("delete", DESTROYS)
    assert (
        review(destructive, server(read_only=False, allow_tools=["ops_delete"]), "ops_delete")
        is None
    )
    assert (
        review(destructive, server(read_only=False, allow_tools=["delete"]), "ops_delete") is None
    )
    assert review(destructive, server(read_only=False, allow_tools=["*"]), "ops_delete") is not None
    assert review(destructive, server(allow_tools=["ops_delete"]), "ops_delete") is not None


def test_allow_globs_match_the_plain_or_the_offered_name() -> None:
    assert review(tool("get_pod", READ_ONLY), server(allow_tools=["get_*"]), "ops_get_pod") is None
    assert (
        review(tool("get_pod", READ_ONLY), server(allow_tools=["ops_get_*"]), "ops_get_pod") is None
    )
    reason = review(tool("list_pods", READ_ONLY), server(allow_tools=["get_*"]), "ops_list_pods")
    assert reason == "not matched by mcpServers.ops.allow_tools"


def test_deny_globs_win_over_allow_globs() -> None:
    config = server(allow_tools=["*"], deny_tools=["*logs*"])
    reason = review(tool("pod_logs", READ_ONLY), config, "ops_pod_logs")
    assert reason == "matched by mcpServers.ops.deny_tools pattern '*logs*'"


async def test_withheld_tools_are_not_offered_and_are_refused_by_name() -> None:
    async with Toolbox.open(configs({"ops": ops_stdio()})) as toolbox:
        offered = {t.name for t in toolbox.tools()}
        assert "ops_pid" in offered
        assert {"ops_note", "ops_scale", "ops_delete_everything"}.isdisjoint(offered)
        with pytest.raises(ToolRefused, match="ops_delete_everything is refused: destructive"):
            await toolbox.call("ops_delete_everything")
        with pytest.raises(ToolRefused, match="ops_scale is refused: not annotated readOnlyHint"):
            await toolbox.call("ops_scale", {"replicas": 3})
        with pytest.raises(ToolRefused):
            toolbox.tool("ops_note")
        with pytest.raises(UnknownTool, match="no MCP tool is named 'ops_nope'"):
            await toolbox.call("ops_nope")
        withheld = {e.name: e.withheld for e in toolbox.catalog() if not e.offered}
        assert set(withheld) == {"ops_note", "ops_scale", "ops_delete_everything"}


async def test_read_only_false_offers_tools_that_change_things_but_not_destructive_ones() -> None:
    async with Toolbox.open(configs({"ops": ops_stdio(read_only=False)})) as toolbox:
        offered = {t.name for t in toolbox.tools()}
        assert {"ops_note", "ops_scale"} <= offered
        assert "ops_delete_everything" not in offered
        result = await toolbox.call("ops_scale", {"replicas": 3})
        assert (result.status, result.structured) == ("success", {"result": "scaled to 3"})
        assert toolbox.tool("ops_scale").metadata == {
            "server": "ops",
            "mcp_name": "scale",
            "read_only": False,
            "annotations": {"readOnlyHint": False, "destructiveHint": False},
        }


async def test_allow_and_deny_globs_narrow_what_is_offered() -> None:
    entry = ops_stdio(allow_tools=["ops_s*", "echo", "pid"], deny_tools=["sleep"])
    async with Toolbox.open(configs({"ops": entry})) as toolbox:
        assert sorted(t.name for t in toolbox.tools()) == ["ops_echo", "ops_pid"]
        with pytest.raises(ToolRefused, match="deny_tools pattern 'sleep'"):
            await toolbox.call("ops_sleep", {"seconds": 0})
