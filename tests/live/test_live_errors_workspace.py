"""Typed errors and workspace handling against the real service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import requests

from dashscope_ws import DashScopeClient
from dashscope_ws.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
)

if TYPE_CHECKING:  # the fixture's type; conftest is not importable as a module
    from conftest import LiveSettings

pytestmark = pytest.mark.live

HELLO = [{"role": "user", "content": "Reply with one short word: hello."}]
MISSING_WORKSPACE = "ws-live-test-missing-0"


def test_invalid_key_is_authentication_error(live: LiveSettings) -> None:
    client = DashScopeClient(api_key="sk-invalid", base_url=live.base_url, max_retries=0)
    with client, pytest.raises(AuthenticationError) as caught:
        client.chat(HELLO, model=live.model, max_tokens=4)
    error = caught.value
    assert error.status_code == 401
    assert error.code == "InvalidApiKey"
    assert error.request_id
    assert "sk-invalid" not in str(error)
    assert "sk-invalid" not in repr(error)


async def test_invalid_key_async_stream(live: LiveSettings) -> None:
    client = DashScopeClient(api_key="sk-invalid", base_url=live.base_url, max_retries=0)
    try:
        with pytest.raises(AuthenticationError) as caught:
            async for _ in client.astream_chat(HELLO, model=live.model, max_tokens=4):
                pass
    finally:
        await client.aclose()
    assert caught.value.request_id


def test_unknown_model(client: DashScopeClient) -> None:
    # The native API answers 400 InvalidParameter "Model not exist."; some endpoints 404.
    with pytest.raises((BadRequestError, NotFoundError)) as caught:
        client.chat(HELLO, model="qwen-no-such-model-live-test", max_tokens=4)
    error = caught.value
    assert isinstance(error, APIStatusError)
    assert error.status_code in {400, 404}
    assert error.code in {"InvalidParameter", "ModelNotFound"}
    assert error.request_id


def test_unknown_model_stream(client: DashScopeClient) -> None:
    with pytest.raises((BadRequestError, NotFoundError)) as caught:
        list(client.stream_chat(HELLO, model="qwen-no-such-model-live-test", max_tokens=4))
    assert caught.value.request_id


@pytest.fixture
def sent_headers(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """Headers of every request ``requests`` actually puts on the wire in this test."""
    sent: list[dict[str, str]] = []
    original = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        sent.append({k.lower(): v for k, v in request.headers.items()})
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    return sent


def test_workspace_header_sent_and_accepted(
    live: LiveSettings, workspace: str, sent_headers: list[dict[str, str]]
) -> None:
    with DashScopeClient(api_key=live.api_key, base_url=live.base_url, max_retries=0) as client:
        assert client.config.workspace == workspace  # resolved from DASHSCOPE_WORKSPACE
        result = client.chat(HELLO, model=live.model, max_tokens=8)
    assert result.text.strip()
    assert sent_headers[-1]["x-dashscope-workspace"] == workspace


def test_per_call_workspace_overrides(
    client: DashScopeClient, live: LiveSettings, sent_headers: list[dict[str, str]]
) -> None:
    # A workspace that does not exist must fail loudly (never fall back to the default one).
    with pytest.raises((AuthenticationError, NotFoundError, PermissionDeniedError)) as caught:
        client.chat(HELLO, model=live.model, workspace=MISSING_WORKSPACE, max_tokens=4)
    assert sent_headers[-1]["x-dashscope-workspace"] == MISSING_WORKSPACE
    error = caught.value
    assert error.status_code in {401, 403, 404}
    assert error.request_id
    # The client itself is unchanged: the next call uses its own workspace (or none).
    client.chat(HELLO, model=live.model, max_tokens=4)
    if live.workspace is None:
        assert "x-dashscope-workspace" not in sent_headers[-1]
    else:
        assert sent_headers[-1]["x-dashscope-workspace"] == live.workspace
