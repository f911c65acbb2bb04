"""Built-in runbooks: Markdown files with YAML front matter, shipped as package data."""
