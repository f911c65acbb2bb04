"""`python -m bot` runs the `sre-agent` command line."""

import sys

from bot.cli import entry

sys.exit(entry())
