"""dashscope_ws: a workspace-aware core client for Alibaba Cloud DashScope (Model Studio)."""

from __future__ import annotations
