"""Block Kit builders keep to Slack's limits by construction."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack.render.kit import (
    MAX_SECTION_CHARS,
    chunk_blocks,
    context,
    header,
    sections,
    split_mrkdwn,
)

lines = st.lists(
    st.one_of(st.just("```"), st.text(min_size=0, max_size=4000), st.just("&amp;" * 700)),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(lines)
def test_split_pieces_fit_a_section_and_keep_code_blocks_balanced(parts: list[str]) -> None:
    text = "\n".join(parts)
    pieces = split_mrkdwn(text)
    assert all(len(piece) <= MAX_SECTION_CHARS for piece in pieces)
    balanced = text.count("```") % 2 == 0
    if balanced:
        assert all(piece.count("```") % 2 == 0 for piece in pieces)
    if len(text) <= MAX_SECTION_CHARS:
        assert pieces == ([text] if text else [])


def test_split_keeps_every_line() -> None:
    text = "\n".join(f"line {n} " + "x" * 80 for n in range(200))
    joined = "\n".join(split_mrkdwn(text))
    assert all(f"line {n} " in joined for n in range(200))


def test_long_text_becomes_several_sections() -> None:
    blocks = sections("word " * 2000)
    assert len(blocks) == 4
    assert all(len(b["text"]["text"]) <= MAX_SECTION_CHARS for b in blocks)


def test_header_and_context_limits() -> None:
    assert len(header("x" * 400)["text"]["text"]) <= 150
    assert len(context(*[f"c{n}" for n in range(20)])["elements"]) == 10


def test_blocks_are_grouped_fifty_per_message() -> None:
    groups = chunk_blocks([{"type": "divider"}] * 120)
    assert [len(g) for g in groups] == [50, 50, 20]
