"""One module per `sre-agent` command: `add_arguments(parser)` and `run(args) -> int`."""
