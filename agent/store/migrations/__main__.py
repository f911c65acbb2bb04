"""Alembic's command line, pointed at the store's migrations (no alembic.ini needed).

    python -m agent.store.migrations heads
    SRE_AGENT_DATABASE_URL=sqlite+aiosqlite:///scratch.db \
        python -m agent.store.migrations upgrade head
    SRE_AGENT_DATABASE_URL=sqlite+aiosqlite:///scratch.db \
        python -m agent.store.migrations revision --autogenerate --rev-id 0002 -m "what changes"

A new revision is written next to the others as `versions/v<rev>_<slug>.py`; read it, keep it
explicit (no imports from agent.store.schema), and the test that compares the migrated schema
with `agent.store.schema` tells you when the two disagree.
"""

from __future__ import annotations

from alembic.config import CommandLine, Config

from agent.store.engine import MIGRATIONS


def main(argv: list[str] | None = None) -> None:
    command_line = CommandLine(prog="python -m agent.store.migrations")
    options = command_line.parser.parse_args(argv)
    if not hasattr(options, "cmd"):
        command_line.parser.error("name an Alembic command, e.g. heads, upgrade, revision")
    config = Config(cmd_opts=options)
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    # New revision files come out lint-clean and formatted (ruff is a dev dependency).
    hooks = {
        "hooks": "ruff_fix, ruff_format",
        "ruff_fix.type": "module",
        "ruff_fix.module": "ruff",
        "ruff_fix.options": "check --fix --quiet REVISION_SCRIPT_FILENAME",
        "ruff_format.type": "module",
        "ruff_format.module": "ruff",
        "ruff_format.options": "format --quiet REVISION_SCRIPT_FILENAME",
    }
    for name, value in hooks.items():
        config.set_section_option("post_write_hooks", name, value)
    command_line.run_cmd(config, options)


if __name__ == "__main__":
    main()
