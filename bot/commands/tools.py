"""`sre-agent tools` (not built yet)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    del args
    print("sre-agent tools is not built yet", file=sys.stderr)
    return 1
