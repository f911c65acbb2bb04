"""Untrusted text on its way to Slack: secrets redacted, then Slack's control syntax escaped, so
alert text, logs, tool output and model output never ping, link or break out of a code block.

Slack reads `<...>` as a mention or a link (`<!channel>`, `<@U123>`, `<https://x|click>`) and `&`
as the start of an entity; escaping `&`, `<` and `>` turns all of them into plain text. Bare
`@here`/`@channel`/`@everyone` only notify when a client asks for `link_names`, which the poster
never does; a word joiner after the `@` makes sure no client turns them into one either.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from mcp_bridge.redaction import redact

_WORD_JOINER = "\u2060"
_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone)\b)", re.IGNORECASE)
_FENCE = re.compile(r"`{3,}")


def escape(text: str) -> str:
    """Slack-escape text that is not ours (no redaction: see `untrusted`)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@" + _WORD_JOINER, escaped)


def untrusted(text: str) -> str:
    """Redact secrets, then escape: for every piece of text that came from outside the bot."""
    return escape(redact(text))


def code_block(text: str) -> str:
    """Untrusted text as a ``` block it cannot close early."""
    body = _FENCE.sub(lambda m: "`" + _WORD_JOINER + "`" * (len(m.group(0)) - 1), untrusted(text))
    return f"```{body.strip(chr(10)) or ' '}```"


def inline_code(text: str) -> str:
    """Untrusted text as `inline code` (backticks inside become a look-alike)."""
    return "`" + untrusted(text).replace("`", "\u02cb").replace("\n", " ") + "`"


def clip(text: str, limit: int, *, marker: str = "…") -> str:
    """`text` cut to at most `limit` characters, on a word boundary when one is near."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - len(marker))]
    space = cut.rfind(" ")
    if space > limit * 0.7:
        cut = cut[:space]
    return cut.rstrip() + marker


def first_lines(text: str, *, lines: int, chars: int) -> tuple[str, bool]:
    """The head of `text` (at most `lines` lines and `chars` characters), and whether it was cut."""
    kept = text.strip("\n").split("\n")
    head = "\n".join(kept[:lines])
    cut = len(kept) > lines
    if len(head) > chars:
        head, cut = head[:chars].rstrip(), True
    return head, cut


def link(url: str | None, label: str) -> str | None:
    """A Slack link to an http(s) URL from an alert, or None when the URL is not one.

    The URL is untrusted: characters that would end Slack's `<url|label>` syntax are
    percent-encoded, and the label is ours (escaped anyway).
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    safe = quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%-._~")
    safe = safe.replace("&", "&amp;")
    return f"<{safe}|{escape(label)}>"
