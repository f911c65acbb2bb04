"""Untrusted text never pings, links, leaks a secret or breaks out of a code block."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.slack.text import clip, code_block, escape, inline_code, link, untrusted


def test_slack_control_syntax_is_escaped() -> None:
    text = escape("<!channel> <!here|here> <@U123> <#C1|x> <https://evil|click> a & b")
    assert "<" not in text
    assert ">" not in text
    assert text.startswith("&lt;!channel&gt;")
    assert "a &amp; b" in text


def test_bare_broadcasts_cannot_become_mentions() -> None:
    for word in ("@here", "@channel", "@everyone", "@HERE"):
        assert word not in escape(f"hey {word} look")


def test_secrets_are_redacted_before_escaping() -> None:
    shown = untrusted("password=hunter2 <token> xoxb-123456789012-abcdefghijkl")
    assert "hunter2" not in shown
    assert "xoxb-1234" not in shown
    assert "[REDACTED:" in shown


def test_code_block_cannot_be_closed_by_the_text() -> None:
    shown = code_block("a ``` <!channel> ``` b")
    assert shown.startswith("```")
    assert shown.endswith("```")
    assert shown[3:-3].count("```") == 0


def test_inline_code_keeps_to_one_span() -> None:
    shown = inline_code("a`b\nc")
    assert shown.count("`") == 2
    assert "\n" not in shown


def test_links_only_for_web_urls_and_never_break_the_syntax() -> None:
    assert link("javascript:alert(1)", "x") is None
    assert link("file:///etc/passwd", "x") is None
    assert link("", "x") is None
    made = link("https://grafana.example/d?a=1&b=<2>|x", "Dashboard")
    assert made is not None
    assert made.startswith("<https://grafana.example/d?a=1&amp;b=%3C2%3E%7Cx|Dashboard>")


@given(st.text())
def test_escaped_text_has_no_angle_brackets(text: str) -> None:
    shown = escape(text)
    assert "<" not in shown
    assert ">" not in shown


@given(st.text(), st.integers(min_value=1, max_value=500))
def test_clip_keeps_to_the_limit(text: str, limit: int) -> None:
    assert len(clip(text, limit)) <= max(limit, 1)
