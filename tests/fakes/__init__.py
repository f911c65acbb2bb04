"""Test doubles that sit behind a wire protocol (Slack, OpenAI-compatible) or at a seam the
code under test is handed (a scripted reasoner)."""
