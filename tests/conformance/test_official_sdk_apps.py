"""Fidelity: the official SDK's ``dashscope.Application.call`` parses the emulator's app answers."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import dashscope  # a [dev] dependency: missing must fail, not skip
import pytest

from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator

QUESTION = "What is the price in yuan of the Bailian X1?"


@pytest.fixture
def sdk(dashscope_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setattr(dashscope, "base_http_api_url", dashscope_emulator.base_url)
    monkeypatch.setattr(dashscope, "api_key", None, raising=False)
    monkeypatch.setenv("DASHSCOPE_DISABLE_SDK_HEADERS", "1")
    return dashscope_emulator


def application(**kwargs: Any) -> Any:
    kwargs.setdefault("api_key", SUB_KEY)
    kwargs.setdefault("workspace", SUB_WORKSPACE)
    kwargs.setdefault("app_id", "app-emu-rag")
    kwargs.setdefault("prompt", QUESTION)
    return dashscope.Application.call(**kwargs)


def test_rag_answer_with_thoughts_and_references(sdk: Emulator) -> None:
    response = application(has_thoughts=True, rag_options={"pipeline_ids": ["idx-emu-manual"]})
    assert response.status_code == HTTPStatus.OK
    assert "2999" in response.output.text
    assert response.output.finish_reason == "stop"
    assert response.output.session_id
    reference = response.output.doc_references[0]
    assert reference.doc_id == "doc-emu-x1"
    assert reference.doc_name == "Bailian X1 phone"
    assert reference.page_number == [1]
    assert response.output.thoughts[0].action_name == "searchDocument"
    assert response.usage.models[0].model_id == "qwen-plus"
    assert response.usage.models[0].output_tokens > 0
    sent = sdk.requests[-1]
    assert sent.path == "/api/v1/apps/app-emu-rag/completion"
    assert sent.json["parameters"]["rag_options"] == {"pipeline_ids": ["idx-emu-manual"]}


def test_session_continues_through_the_sdk(sdk: Emulator) -> None:
    first = application(
        app_id="app-emu-agent", api_key=MAIN_KEY, workspace=None, prompt="My name is Ada."
    )
    second = application(
        app_id="app-emu-agent", api_key=MAIN_KEY, workspace=None,
        prompt="What is my name?", session_id=first.output.session_id,
    )  # fmt: skip
    assert second.output.session_id == first.output.session_id
    assert "Ada" in second.output.text


def test_incremental_stream(sdk: Emulator) -> None:
    whole = application().output.text
    chunks = list(application(stream=True, incremental_output=True))
    assert len(chunks) >= 3
    assert all(c.status_code == HTTPStatus.OK for c in chunks)
    assert "".join(c.output.text for c in chunks) == whole
    assert chunks[-1].output.finish_reason == "stop"
    assert chunks[-1].output.doc_references[0].doc_id == "doc-emu-x1"


def test_default_stream_mode(sdk: Emulator) -> None:
    whole = application().output.text
    chunks = list(application(stream=True))
    assert chunks[-1].output.text == whole
    assert chunks[-1].output.finish_reason == "stop"


def test_workflow_message(sdk: Emulator) -> None:
    response = application(
        app_id="app-emu-flow", prompt="Plan a trip", biz_params={"city": "Hangzhou"}
    )
    assert response.status_code == HTTPStatus.OK
    assert response.output.workflow_message["message"]["content"] == response.output.text


@pytest.mark.parametrize(
    ("app_id", "workspace", "status", "code"),
    [
        ("app-emu-missing", SUB_WORKSPACE, 400, "InvalidAppId"),
        ("app-emu-other", SUB_WORKSPACE, 403, "App.AccessDenied"),
        ("app-emu-draft", SUB_WORKSPACE, 400, "FlowNotPublished"),
    ],
)
def test_errors(sdk: Emulator, app_id: str, workspace: str, status: int, code: str) -> None:
    response = application(app_id=app_id, workspace=workspace, api_key=MAIN_KEY)
    assert response.status_code == status
    assert response.code == code
    assert response.request_id
