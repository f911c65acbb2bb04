"""Which channels are alert channels. `SRE_AGENT_ALERT_CHANNELS` may name them by ID or by
name; names are resolved once at start (conversations.list), and a name that does not resolve
then (the bot was not invited yet, a private channel) is checked again, once per channel ID,
the first time a message arrives from a channel the bot does not know."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from bot.slack.poster import SlackPoster

log = logging.getLogger("sre_agent.slack")

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
_PAGES = 50


def looks_like_channel_id(value: str) -> bool:
    return _CHANNEL_ID.match(value) is not None


class AlertChannels:
    def __init__(self, configured: Sequence[str], poster: SlackPoster) -> None:
        self._poster = poster
        self.ids: set[str] = {c for c in configured if looks_like_channel_id(c)}
        self.unresolved: set[str] = {c.lower() for c in configured if not looks_like_channel_id(c)}
        self._checked: set[str] = set()

    @property
    def watching(self) -> bool:
        return bool(self.ids or self.unresolved)

    async def resolve(self) -> None:
        """Turn configured names into IDs (public and private channels the bot can see)."""
        if not self.unresolved:
            return
        found = await self._names()
        for name in list(self.unresolved):
            if name in found:
                self.ids.add(found[name])
                self.unresolved.discard(name)
        if self.unresolved:
            log.warning(
                "alert channels not found (yet): %s; invite the bot (/invite) or use channel IDs",
                ", ".join(sorted("#" + n for n in self.unresolved)),
            )

    async def resolve_one(self, name_or_id: str) -> str | None:
        """The ID of one channel given by ID or name (the HTTP alert channel)."""
        if looks_like_channel_id(name_or_id):
            return name_or_id
        found = await self._names()
        channel = found.get(name_or_id.lower())
        if channel is None:
            log.warning("channel #%s not found; posting to it by name", name_or_id)
            return "#" + name_or_id
        return channel

    async def contains(self, channel: str) -> bool:
        if channel in self.ids:
            return True
        if not self.unresolved or channel in self._checked or channel.startswith("D"):
            return False
        self._checked.add(channel)
        info = await self._poster.read("conversations_info", channel=channel)
        name = str(((info or {}).get("channel") or {}).get("name") or "").lower()
        if name in self.unresolved:
            self.unresolved.discard(name)
            self.ids.add(channel)
            log.info("now watching #%s (%s) for alerts", name, channel)
            return True
        return False

    async def _names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        cursor = ""
        for _ in range(_PAGES):
            page = await self._poster.read(
                "conversations_list",
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor or None,
            )
            if page is None:
                break
            for channel in page.get("channels") or []:
                if channel.get("name") and channel.get("id"):
                    names[str(channel["name"]).lower()] = str(channel["id"])
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        return names
