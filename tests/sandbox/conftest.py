"""One sandbox per module and scenario, served from a thread (see `running.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mcp_bridge.sandbox import Sandbox

from .running import LAB, sandbox_in_thread


@pytest.fixture(scope="module")
def lab() -> Iterator[Sandbox]:
    with sandbox_in_thread(LAB) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def checkout() -> Iterator[Sandbox]:
    with sandbox_in_thread("checkout-oom") as sandbox:
        yield sandbox
