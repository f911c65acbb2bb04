"""Renderers: investigation events and reports for a medium (terminal, Markdown, JSON). They
only consume events and reports; they never run anything."""
