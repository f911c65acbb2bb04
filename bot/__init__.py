"""The process: command line, settings, Slack app, HTTP endpoint, and the wiring between them."""
