"""Block Kit primitives that keep to Slack's limits by construction: a section never holds more
than 3,000 characters (long text becomes several sections, code fences closed and reopened at
each cut), a header 150, a context block 10 elements. A message is a `Post`: blocks plus the
plain `text` Slack shows in notifications and where blocks cannot be shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.slack.text import clip

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_FALLBACK_CHARS = 3000
_FENCE = "```"


@dataclass(frozen=True)
class Attachment:
    """A file to share after the message (full tool output), instead of a wall of text."""

    filename: str
    title: str
    content: str


@dataclass(frozen=True)
class Post:
    """One message as the poster sends it. `text` must already be safe (escaped)."""

    text: str
    blocks: list[Block] = field(default_factory=list)
    files: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", clip(self.text, MAX_FALLBACK_CHARS))


def mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def header(text: str) -> Block:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, MAX_HEADER_CHARS), "emoji": True},
    }


def context(*texts: str) -> Block:
    """Small grey lines; empty ones are left out, at most 10 elements."""
    elements = [mrkdwn(clip(t, MAX_SECTION_CHARS)) for t in texts if t][:MAX_CONTEXT_ELEMENTS]
    return {"type": "context", "elements": elements or [mrkdwn(" ")]}


def divider() -> Block:
    return {"type": "divider"}


def sections(text: str) -> list[Block]:
    """`text` as one or more sections of at most 3,000 characters each."""
    return [{"type": "section", "text": mrkdwn(chunk)} for chunk in split_mrkdwn(text)]


def section(text: str) -> Block:
    """One section; text beyond the limit is cut (use `sections` to keep it all)."""
    return {"type": "section", "text": mrkdwn(clip(text, MAX_SECTION_CHARS))}


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value[:2000],
    }
    if style:
        element["style"] = style
    return element


def actions(block_id: str, *elements: Block) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def split_mrkdwn(text: str, limit: int = MAX_SECTION_CHARS) -> list[str]:
    """Cut mrkdwn into pieces of at most `limit` characters: at line ends when possible, and a
    code block cut in two is closed at the end of one piece and reopened in the next."""
    if len(text) <= limit:
        return [text] if text else []
    budget = limit - len(_FENCE) - 1  # room to close a code block cut at the end of a piece
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    in_code = False
    for line in text.split("\n"):
        for segment in _segments(line, budget - len(_FENCE) - 1):
            grown = size + len(segment) + (1 if current else 0)
            if current and grown > budget:
                pieces.append("\n".join(current) + ("\n" + _FENCE if in_code else ""))
                current = [_FENCE] if in_code else []
                size = len(_FENCE) if in_code else 0
            size += len(segment) + (1 if current else 0)
            current.append(segment)
            if segment.count(_FENCE) % 2 == 1:
                in_code = not in_code
    if current and current != [_FENCE]:
        pieces.append("\n".join(current))
    return pieces


def _segments(line: str, room: int) -> list[str]:
    """A line in pieces of at most `room` characters, cut at spaces when possible and never
    inside an entity such as `&amp;`."""
    out: list[str] = []
    while len(line) > room:
        cut = line.rfind(" ", room // 2, room)
        if cut <= 0:
            cut = room
        amp = line.rfind("&", max(0, cut - 6), cut)
        if amp > 0 and ";" not in line[amp:cut]:
            cut = amp
        out.append(line[:cut])
        line = line[cut:]
    out.append(line)
    return out


def chunk_blocks(blocks: list[Block], size: int = MAX_BLOCKS) -> list[list[Block]]:
    """Blocks in groups Slack accepts in one message."""
    return [blocks[i : i + size] for i in range(0, len(blocks), size)] or [[]]
