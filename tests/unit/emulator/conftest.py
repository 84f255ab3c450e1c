"""Shared helpers for the emulator's own tests: raw HTTP only (never the project client)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from emulator_testkit import Call

from dashscope_ws.emulator import MAIN_KEY, Emulator


@pytest.fixture
def emu(dashscope_emulator: Emulator) -> Emulator:
    return dashscope_emulator


@pytest.fixture
def call(emu: Emulator) -> Call:
    """POST to the emulator: call(path, body, key=MAIN_KEY, workspace=None, stream=False)."""

    def post(
        path: str,
        body: Any,
        *,
        key: str | None = MAIN_KEY,
        workspace: str | None = None,
        stream: bool = False,
        headers: dict[str, str] | None = None,
        root: str | None = None,
    ) -> requests.Response:
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        if workspace is not None:
            sent["X-DashScope-WorkSpace"] = workspace
        if stream:
            sent["X-DashScope-SSE"] = "enable"
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        sent.setdefault("Content-Type", "application/json")
        return requests.post((root or emu.base_url) + path, data=data, headers=sent, timeout=30)

    return post
