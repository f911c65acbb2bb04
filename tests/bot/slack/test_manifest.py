"""The app manifest asks for exactly the scopes the code needs: every Web API method the bot
calls and every event it listens to is covered, and nothing more is requested."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[3]
MANIFEST = ROOT / "slack_app_manifest.yml"

# What Slack documents for each method and event the bot uses.
METHOD_SCOPES: dict[str, set[str]] = {
    "chat_postMessage": {"chat:write"},
    "chat_update": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "chat_getPermalink": set(),  # no scope required
    "reactions_add": {"reactions:write"},
    "reactions_remove": {"reactions:write"},
    "files_upload_v2": {"files:write"},
    "conversations_replies": {"channels:history", "groups:history"},
    "conversations_list": {"channels:read", "groups:read"},
    "conversations_info": {"channels:read", "groups:read"},
}
EVENT_SCOPES = {
    "app_mention": {"app_mentions:read"},
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "message.im": {"im:history"},
}
# auth.test and apps.connections.open need no bot scope (the app token carries
# connections:write); the slash command needs `commands`.
_CALLED = re.compile(r"""(?:_write|_call|read)\(\s*"([a-z]+_[A-Za-z0-9_]+)\"""")


def methods_in_code() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "bot" / "slack").rglob("*.py"):
        found.update(_CALLED.findall(path.read_text()))
    return found


def test_every_method_the_code_calls_has_its_scope_and_no_scope_is_extra() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    granted = set(manifest["oauth_config"]["scopes"]["bot"])
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    called = methods_in_code()
    assert called, "found the Web API calls in bot/slack"
    unknown = called - METHOD_SCOPES.keys()
    assert not unknown, f"add the scopes these methods need to this test: {unknown}"
    needed = {"commands"}
    for method in called:
        needed |= METHOD_SCOPES[method]
    for event in events:
        needed |= EVENT_SCOPES[event]
    assert granted == needed


def test_socket_mode_command_events_and_interactivity() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert set(settings["event_subscriptions"]["bot_events"]) == set(EVENT_SCOPES)
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/investigate"
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
