"""What arrives from Slack, read once into plain values: a message (from an event, a thread's
root, a slash command) and the few questions asked of it (is it a reply, does it mention the
bot, is it the bot's own)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Message subtypes that are somebody saying something; the rest (edits, deletions, joins,
# topic changes...) are acknowledged and left alone.
SAYING_SUBTYPES = frozenset({None, "bot_message", "thread_broadcast", "file_share"})
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass(frozen=True)
class Identity:
    """Who the bot is in this workspace (from auth.test)."""

    user_id: str
    bot_id: str | None
    team_id: str | None
    team: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class SlackMessage:
    channel: str
    ts: str
    text: str = ""
    user: str | None = None
    bot_id: str | None = None
    username: str | None = None
    subtype: str | None = None
    thread_ts: str | None = None
    channel_type: str | None = None
    attachments: tuple[Mapping[str, Any], ...] = ()
    blocks: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)

    @classmethod
    def from_event(cls, event: Mapping[str, Any], *, channel: str | None = None) -> SlackMessage:
        profile = event.get("bot_profile")
        username = event.get("username") or (
            profile.get("name") if isinstance(profile, Mapping) else None
        )
        return cls(
            channel=str(channel or event.get("channel") or ""),
            ts=str(event.get("ts") or ""),
            text=str(event.get("text") or ""),
            user=_opt(event.get("user")),
            bot_id=_opt(event.get("bot_id")),
            username=_opt(username),
            subtype=_opt(event.get("subtype")),
            thread_ts=_opt(event.get("thread_ts")),
            channel_type=_opt(event.get("channel_type")),
            attachments=tuple(a for a in event.get("attachments") or () if isinstance(a, Mapping)),
            blocks=tuple(b for b in event.get("blocks") or () if isinstance(b, Mapping)),
        )

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def is_direct(self) -> bool:
        return self.channel_type == "im" or self.channel.startswith("D")

    @property
    def thread_root(self) -> str:
        """The ts of the thread this message is in, or would start."""
        return self.thread_ts or self.ts

    def says_something(self) -> bool:
        return self.subtype in SAYING_SUBTYPES

    def is_from(self, identity: Identity) -> bool:
        return (self.bot_id is not None and self.bot_id == identity.bot_id) or (
            self.user is not None and self.user == identity.user_id
        )

    def mentions(self, user_id: str) -> bool:
        return any(m.group(1) == user_id for m in _MENTION.finditer(self.text))


def without_mention(text: str, user_id: str) -> str:
    """The text with the bot's mentions taken out (what is left is the question)."""
    stripped = _MENTION.sub(lambda m: "" if m.group(1) == user_id else m.group(0), text)
    return " ".join(stripped.split()) if "\n" not in stripped else stripped.strip()


def _opt(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
