"""``python -m dashscope_ws.models``: print the docs/models.md table of the registry."""

from __future__ import annotations

from dashscope_ws.models import markdown_table

print(markdown_table(), end="")
