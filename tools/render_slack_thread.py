"""A picture of the bot's Slack thread for the README: runs one real investigation (the sandbox's
checkout-oom cluster, the real engine and bot, the local Slack from tests/fakes), asks one
follow-up question, then renders what the bot posted (each message as last updated) as HTML
styled like Slack and screenshots it with headless Chromium.

    apt-get install chromium fonts-noto-color-emoji   # once
    .venv/bin/python tools/render_slack_thread.py [--out docs/slack-thread.png] [--html FILE]

The reasoner is the configured chain (the offline reasoner, or an LLM when one is configured);
`--reasoner scripted` uses the tests' scripted one instead. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.engine import default_reasoners, open_engine  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.slack import start_slack  # noqa: E402
from mcp_bridge.sandbox import load_scenario, run_sandbox  # noqa: E402
from tests.bot.slack.reasoners import Script  # noqa: E402
from tests.fakes.slack_server import (  # noqa: E402
    APP_TOKEN,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    FakeSlack,
    Message,
)

CHANNEL = "C0ALERTS01"
WIDTH = 820
QUESTION = "did memory grow after the traffic increase, or was it always close to the limit?"

EMOJI = {
    "red_circle": "🔴",
    "large_orange_circle": "🟠",
    "large_blue_circle": "🔵",
    "white_check_mark": "✅",
    "white_circle": "⚪",
    "x": "❌",
    "no_entry": "⛔",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "mag": "🔍",
    "warning": "⚠️",
    "thought_balloon": "💭",
    "information_source": "\u2139\ufe0f",
    "thumbsup": "👍",
    "thumbsdown": "👎",
    "eyes": "👀",
    "repeat": "🔁",
    "stopwatch": "⏱️",
}


def receiver_post(alert: dict[str, Any]) -> dict[str, Any]:
    """What Alertmanager's Slack receiver posts with the common label-listing text template
    (the shape captured in tests/fixtures/slack/alertmanager-custom-text-firing-2.json)."""
    labels = alert["labels"]
    details = "".join(f"   • *{k}:* `{v}`\n" for k, v in sorted(labels.items()))
    text = (
        f"*Alert:* {alert['annotations']['summary']} - `{labels.get('severity', '')}`\n"
        f"*Description:* {alert['annotations']['description']}\n*Details:*\n{details}"
    )
    return {
        "channel": "#alerts",
        "username": "Alertmanager",
        "attachments": [
            {
                "title": f"[FIRING:1] {labels['alertname']}",
                "title_link": "http://alertmanager.example:9093/#/alerts?receiver=slack",
                "text": text,
                "fallback": f"[FIRING:1] {labels['alertname']}",
                "color": "danger",
                "mrkdwn_in": ["fallback", "pretext", "text"],
            }
        ],
    }


@asynccontextmanager
async def running_bot(reasoner: str) -> AsyncIterator[tuple[FakeSlack, Any]]:
    async with FakeSlack() as slack, run_sandbox(load_scenario("checkout-oom")) as sandbox:
        slack.add_channel("alerts", id=CHANNEL)
        workdir = Path(tempfile.mkdtemp(prefix="slack-thread-"))
        settings = load_settings(
            slack_bot_token=BOT_TOKEN,
            slack_app_token=APP_TOKEN,
            slack_api_url=slack.api_url,
            alert_channels=["alerts"],
            slack_status_interval_s=0.3,
        )
        script = Script(
            answer=(
                "It grew with the traffic: working set went from about 250Mi to the 512Mi "
                "limit over the last 45 minutes, then the kernel OOM-killed the container."
            )
        )
        reasoners = default_reasoners(settings) if reasoner == "default" else [script.factory()]
        async with open_engine(
            settings,
            sandbox=sandbox,
            database_url=f"sqlite+aiosqlite:///{workdir / 'thread.db'}",
            reasoners=reasoners,
        ) as engine:
            bot = await start_slack(engine, settings, Metrics())
            try:
                await slack.wait_connected()
                yield slack, sandbox
            finally:
                await bot.close()


async def record_thread(reasoner: str) -> list[Message]:
    async with running_bot(reasoner) as (slack, sandbox):
        root = await slack.webhook_posts(CHANNEL, receiver_post(sandbox.alert))

        def has_report() -> bool:
            return any(_is_report(m) for m in slack.replies(CHANNEL, root.ts))

        await slack.wait_for(has_report, timeout_s=120, what="the report")
        question = await slack.user_says(
            CHANNEL, f"<@{BOT_USER_ID}> {QUESTION}", thread_ts=root.ts, user="U0DANA"
        )
        await slack.wait_for(
            lambda: question.reactions["white_check_mark"], timeout_s=120, what="the answer"
        )
        await asyncio.sleep(1.0)  # the last status update
        return slack.thread(CHANNEL, root.ts)


def _is_report(message: Message) -> bool:
    return any(b.get("type") == "actions" for b in message.blocks)


# --- Slack-looking HTML --------------------------------------------------------------------------

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>|<(https?://[^>]+)>|<@([A-Z0-9]+)>")
_FENCE = re.compile(r"```(.*?)```\n?", re.DOTALL)
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")
_SHORTCODE = re.compile(r":([a-z0-9_+-]+):")
NAMES = {BOT_USER_ID: "sre-agent", "U0DANA": "Dana"}


def emoji(text: str) -> str:
    return _SHORTCODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


def mrkdwn(text: str) -> str:
    """Slack mrkdwn (already entity-escaped, as Slack requires) to HTML."""
    blocks: list[str] = []

    def keep_fence(match: re.Match[str]) -> str:
        blocks.append(f"<pre>{match.group(1).strip(chr(10))}</pre>")
        return f"\x00{len(blocks) - 1}\x00"

    text = _FENCE.sub(keep_fence, text)
    codes: list[str] = []

    def keep_code(match: re.Match[str]) -> str:
        codes.append(f"<code>{match.group(1)}</code>")
        return f"\x01{len(codes) - 1}\x01"

    text = _CODE.sub(keep_code, text)

    def link(match: re.Match[str]) -> str:
        if match.group(4):
            return f'<span class="mention">@{NAMES.get(match.group(4), match.group(4))}</span>'
        url = match.group(1) or match.group(3)
        label = match.group(2) or url
        return f'<a href="{url}">{label}</a>'

    text = _LINK.sub(link, text)
    text = _BOLD.sub(r"<b>\1</b>", text)
    text = _ITALIC.sub(r"<i>\1</i>", text)
    lines = []
    for line in text.split("\n"):
        if line.startswith("&gt;") or line.startswith(">"):
            body = line[4:] if line.startswith("&gt;") else line[1:]
            lines.append(f'<div class="quote">{body}</div>')
        else:
            lines.append(line + "<br>")
    text = "".join(lines)
    text = re.sub(r"\x01(\d+)\x01", lambda m: codes[int(m.group(1))], text)
    text = re.sub(r"\x00(\d+)\x00", lambda m: blocks[int(m.group(1))], text)
    return emoji(text)


def render_blocks(message: Message) -> str:
    if not message.blocks:
        return f'<div class="text">{mrkdwn(message.text)}</div>'
    out = []
    for block in message.blocks:
        kind = block.get("type")
        if kind == "header":
            out.append(f'<div class="header">{emoji(html.escape(block["text"]["text"]))}</div>')
        elif kind == "section":
            out.append(f'<div class="section">{mrkdwn(block["text"]["text"])}</div>')
        elif kind == "context":
            items = " ".join(
                f"<span>{mrkdwn(e.get('text', ''))}</span>" for e in block.get("elements", [])
            )
            out.append(f'<div class="context">{items}</div>')
        elif kind == "divider":
            out.append("<hr>")
        elif kind == "actions":
            buttons = "".join(
                f'<span class="button">{emoji(html.escape(e["text"]["text"]))}</span>'
                for e in block.get("elements", [])
            )
            out.append(f'<div class="actions">{buttons}</div>')
    return "".join(out)


def render_attachments(message: Message) -> str:
    out = []
    for attachment in message.attachments:
        color = {"danger": "#e01e5a", "good": "#2eb67d"}.get(attachment.get("color", ""), "#ddd")
        title = html.escape(attachment.get("title", ""))
        out.append(
            f'<div class="attachment" style="border-color:{color}">'
            f'<div class="att-title"><a>{title}</a></div>'
            f'<div class="text">{mrkdwn(attachment.get("text", ""))}</div></div>'
        )
    return "".join(out)


def render_files(message: Message) -> str:
    return "".join(
        f'<div class="file"><span class="file-icon">TXT</span><div><b>{html.escape(f["title"])}'
        f'</b><br><span class="muted">{html.escape(f["name"])} · '
        f"{len(f['content'].splitlines())} lines</span></div></div>"
        for f in message.files
    )


def render_message(message: Message, when: str) -> str:
    if message.bot_id == BOT_ID:
        name, avatar, badge = "sre-agent", '<div class="avatar bot">🔍</div>', "APP"
    elif message.username:
        name, avatar, badge = message.username, '<div class="avatar am">🔥</div>', "APP"
    else:
        person = NAMES.get(message.user or "", message.user or "someone")
        name, avatar, badge = person, '<div class="avatar person">D</div>', ""
    reactions = "".join(
        f'<span class="reaction">{EMOJI.get(n, n)} {len(who)}</span>'
        for n, who in message.reactions.items()
        if who
    )
    edited = '<span class="muted"> (edited)</span>' if message.updates else ""
    return (
        f'<div class="message">{avatar}<div class="body">'
        f'<div class="meta"><b>{html.escape(name)}</b>'
        + (f'<span class="badge">{badge}</span>' if badge else "")
        + f'<span class="muted">{when}</span>{edited}</div>'
        f"{render_blocks(message) if message.blocks or message.text else ''}"
        f"{render_attachments(message)}{render_files(message)}"
        + (f'<div class="reactions">{reactions}</div>' if reactions else "")
        + "</div></div>"
    )


STYLE = """
body { margin: 0; background: #fff; font: 15px/1.46 'Lato', 'DejaVu Sans', sans-serif;
       color: #1d1c1d; width: WIDTHpx; }
.pane-title { padding: 14px 20px; border-bottom: 1px solid #ddd; font-weight: 900;
              font-size: 18px; }
.pane-title span { color: #616061; font-weight: 400; font-size: 14px; margin-left: 6px; }
.message { display: flex; padding: 8px 20px; }
.avatar { width: 36px; height: 36px; border-radius: 6px; flex: none; margin-right: 8px;
          display: flex; align-items: center; justify-content: center; font-size: 20px; }
.avatar.bot { background: #1f2937; } .avatar.am { background: #e8e8e8; }
.avatar.person { background: #4a154b; color: #fff; font-weight: 700; font-size: 16px; }
.body { min-width: 0; flex: 1; }
.meta b { font-weight: 900; } .muted { color: #616061; font-size: 12px; margin-left: 6px; }
.badge { background: #e8e8e8; color: #616061; font-size: 10px; font-weight: 700;
         padding: 1px 3px; border-radius: 2px; margin-left: 4px; }
.header { font-weight: 900; font-size: 18px; margin: 4px 0 6px; }
.section { margin: 2px 0 6px; overflow-wrap: anywhere; }
.context { color: #616061; font-size: 13px; margin: 4px 0; }
.context span { margin-right: 8px; }
pre { background: #f8f8f8; border: 1px solid #ddd; border-radius: 4px; padding: 8px;
      font: 12px/1.5 'DejaVu Sans Mono', monospace; white-space: pre-wrap; margin: 4px 0; }
code { background: #f6f6f6; border: 1px solid #e8e8e8; border-radius: 3px; color: #c01343;
       font: 12px 'DejaVu Sans Mono', monospace; padding: 1px 3px; }
a { color: #1264a3; text-decoration: none; }
.mention { background: #e8f5fa; color: #1264a3; border-radius: 3px; padding: 0 2px; }
.quote { border-left: 4px solid #ddd; padding-left: 10px; color: #454245; }
.actions { margin: 8px 0 4px; } .button { display: inline-block; border: 1px solid #bbb;
  border-radius: 4px; padding: 3px 12px; margin-right: 8px; font-weight: 700; font-size: 13px; }
.attachment { border-left: 4px solid; padding: 2px 10px; margin: 4px 0; }
.att-title a { font-weight: 700; color: #1264a3; }
.file { display: flex; align-items: center; border: 1px solid #ddd; border-radius: 8px;
        padding: 8px 12px; margin: 4px 0; width: 460px; }
.file-icon { background: #1264a3; color: #fff; font-size: 11px; font-weight: 700;
             border-radius: 4px; padding: 8px 6px; margin-right: 10px; }
.reactions { margin-top: 4px; } .reaction { display: inline-block; background: #e8f5fa;
  border: 1px solid #1d9bd1; border-radius: 12px; padding: 0 8px; font-size: 12px;
  margin-right: 4px; }
.replies { display: flex; align-items: center; color: #616061; font-size: 13px;
           padding: 4px 20px; }
.replies::after { content: ""; flex: 1; border-top: 1px solid #ddd; margin-left: 10px; }
""".replace("WIDTH", str(WIDTH))


def thread_html(messages: list[Message]) -> str:
    start = datetime(2025, 6, 1, 9, 41, tzinfo=UTC)
    parts = ['<div class="pane-title">Thread<span># alerts</span></div>']
    root, *replies = messages
    parts.append(render_message(root, start.strftime("%-I:%M %p")))
    parts.append(f'<div class="replies">{len(replies)} replies</div>')
    for n, message in enumerate(replies):
        when = start.replace(minute=41 + n // 4).strftime("%-I:%M %p")
        parts.append(render_message(message, when))
    body = "".join(parts)
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><style>{STYLE}</style></head>'
        f"<body>{body}</body></html>"
    )


# --- the screenshot ----------------------------------------------------------------------------


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("needs Chromium: apt-get install chromium fonts-noto-color-emoji")


def chromium_flags(profile: Path) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ]


def page_height(page: Path) -> int:
    """Lay the page out once and read its height (written into the DOM by a script)."""
    probe = page.with_suffix(".probe.html")
    probe.write_text(
        page.read_text().replace(
            "</body>",
            "<script>document.body.setAttribute('data-height', "
            "Math.ceil(document.documentElement.scrollHeight))</script></body>",
        )
    )
    with tempfile.TemporaryDirectory() as profile:
        dumped = subprocess.run(  # noqa: S603  (a fixed Chromium command line)
            [
                chromium(),
                *chromium_flags(Path(profile)),
                f"--window-size={WIDTH},800",
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
    found = re.search(r'data-height="(\d+)"', dumped)
    if found is None:
        raise SystemExit("could not measure the page height with Chromium")
    return int(found.group(1)) + 8


def screenshot(page: Path, out: Path) -> None:
    height = page_height(page)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(  # noqa: S603  (a fixed Chromium command line)
            [
                chromium(),
                *chromium_flags(Path(profile)),
                f"--window-size={WIDTH},{height}",
                f"--screenshot={out}",
                page.as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "slack-thread.png")
    parser.add_argument("--html", type=Path, help="also keep the HTML here")
    parser.add_argument("--reasoner", choices=("scripted", "default"), default="default")
    args = parser.parse_args()
    messages = asyncio.run(record_thread(args.reasoner))
    with tempfile.TemporaryDirectory() as work:
        page = args.html or Path(work) / "thread.html"
        page.write_text(thread_html(messages))
        screenshot(page, args.out)
    print(f"wrote {args.out} ({len(messages)} messages)")


if __name__ == "__main__":
    main()
