"""LLM-driven investigations through langchain-openai: provider configuration (`config`), chat
models and the provider probe (`models`), the LLM reasoner (`reasoner`) and what it sends each
turn, redacted, fenced and budgeted (`context`).

This package's own import is light (settings import `agent.llm.config`); langchain-openai is
imported only when a model is built.
"""
