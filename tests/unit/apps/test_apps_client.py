"""app_completion / retrieve through DashScopeClient against the emulator, sync and async."""

from __future__ import annotations

import pytest
from apps_testkit import MakeClient, call

from dashscope_ws.apps import AppResult
from dashscope_ws.emulator import OTHER_WORKSPACE, SUB_KEY, SUB_WORKSPACE, Emulator
from dashscope_ws.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
)

MODES = pytest.mark.parametrize("mode", ["sync", "async"])


@MODES
def test_agent_app_answers_and_reports_usage(mode: str, make_client: MakeClient) -> None:
    result = call(
        mode, make_client(), "app_completion", "app-emu-agent", prompt="Tell me about otters"
    )
    assert isinstance(result, AppResult)
    assert "otters" in result.text
    assert result.finish_reason == "stop"
    assert result.session_id
    assert result.request_id
    [usage] = result.usage
    assert usage.model_id == "qwen-plus"
    assert usage.input_tokens is not None
    assert usage.output_tokens is not None
    assert usage.output_tokens > 0
    assert result.doc_references == ()
    assert result.thoughts == ()


@MODES
def test_session_remembers_earlier_turns(mode: str, make_client: MakeClient) -> None:
    first = call(mode, make_client(), "app_completion", "app-emu-agent", prompt="My name is Ada.")
    second = call(
        mode, make_client(), "app_completion", "app-emu-agent",
        prompt="What is my name?", session_id=first.session_id,
    )  # fmt: skip
    assert second.session_id == first.session_id
    assert "Ada" in second.text
    stranger = call(
        mode, make_client(), "app_completion", "app-emu-agent", prompt="What is my name?"
    )
    assert "Ada" not in stranger.text
    assert stranger.session_id != first.session_id


@MODES
def test_rag_app_in_sub_workspace_cites_its_documents(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    client = make_client(api_key=SUB_KEY, workspace=SUB_WORKSPACE)
    result = call(
        mode, client, "app_completion", "app-emu-rag",
        prompt="What is the price in yuan of the Bailian X1?", has_thoughts=True,
        rag_options={"pipeline_ids": ["idx-emu-manual"]}, doc_reference_type="indexed",
    )  # fmt: skip
    assert "2999" in result.text
    assert "<ref>[1]</ref>" in result.text
    assert result.doc_references
    top = result.doc_references[0]
    assert top.doc_id == "doc-emu-x1"
    assert top.doc_name == "Bailian X1 phone"
    assert top.title == "Bailian X1 product introduction"
    assert top.doc_url == "https://example.invalid/x1.pdf"
    assert top.page_number == (1,)
    assert top.index_id == "1"
    assert "2999" in top.text
    assert [t.action_type for t in result.thoughts] == ["api", "response"]
    assert result.thoughts[0].action_name == "searchDocument"
    [request] = dashscope_emulator.requests
    assert request.headers["X-DashScope-WorkSpace"] == SUB_WORKSPACE
    assert request.json["parameters"]["has_thoughts"] is True
    assert request.json["input"]["doc_reference_type"] == "indexed"


@MODES
def test_workflow_app_returns_its_workflow_message(mode: str, make_client: MakeClient) -> None:
    result = call(
        mode, make_client(), "app_completion", "app-emu-flow", prompt="Plan a trip",
        biz_params={"city": "Hangzhou"}, workspace=SUB_WORKSPACE,
    )  # fmt: skip
    assert '"city": "Hangzhou"' in result.text
    flow = result.workflow_message
    assert flow is not None
    assert flow.node_is_completed is True
    assert flow.content == result.text
    assert flow.role == "assistant"


@MODES
def test_every_input_field_reaches_the_wire(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    call(
        mode, make_client(), "app_completion", "app-emu-agent",
        messages=[{"role": "user", "content": "Hi"}], memory_id="mem-1",
        image_list=["https://img/1.png"], file_list=["https://f/1.pdf"],
        parameters={"temperature": 0.5},
    )  # fmt: skip
    [request] = dashscope_emulator.requests
    assert request.path == "/api/v1/apps/app-emu-agent/completion"
    assert request.json["model"] == ""
    assert request.json["input"] == {
        "messages": [{"role": "user", "content": "Hi"}],
        "memory_id": "mem-1",
        "image_list": ["https://img/1.png"],
        "file_list": ["https://f/1.pdf"],
    }
    assert request.json["parameters"] == {"temperature": 0.5}


@MODES
@pytest.mark.parametrize(
    ("app_id", "settings", "error", "code"),
    [
        ("app-emu-missing", {}, BadRequestError, "InvalidAppId"),
        ("app-emu-rag", {}, PermissionDeniedError, "App.AccessDenied"),
        ("app-emu-other", {"workspace": SUB_WORKSPACE}, PermissionDeniedError, "App.AccessDenied"),
        ("app-emu-draft", {"workspace": SUB_WORKSPACE}, BadRequestError, "FlowNotPublished"),
        (
            "app-emu-other",
            {"api_key": SUB_KEY, "workspace": OTHER_WORKSPACE},
            AuthenticationError,
            "NOT AUTHORIZED",
        ),
    ],
)
def test_app_errors_are_typed(
    mode: str,
    make_client: MakeClient,
    app_id: str,
    settings: dict[str, str],
    error: type[Exception],
    code: str,
) -> None:
    with pytest.raises(error) as caught:
        call(mode, make_client(**settings), "app_completion", app_id, prompt="Hi")
    assert getattr(caught.value, "code", None) == code
    assert getattr(caught.value, "request_id", None)


# ------------------------------------------------------------------ knowledge bases


@MODES
def test_retrieve_ranks_the_index_documents(mode: str, make_client: MakeClient) -> None:
    client = make_client(api_key=SUB_KEY, workspace=SUB_WORKSPACE)
    nodes = call(mode, client, "retrieve", "idx-emu-manual", "warranty for the phone", top_k=2)
    assert len(nodes) == 2
    assert nodes[0].metadata["doc_id"] == "doc-emu-warranty"
    assert nodes[0].metadata["doc_name"] == "Warranty policy"
    assert "warranty" in nodes[0].text
    assert nodes[0].score is not None
    assert nodes[1].score is not None
    assert 0 < nodes[1].score <= nodes[0].score < 1


@MODES
def test_retrieve_by_name_and_min_score(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    client = make_client(api_key=SUB_KEY, workspace=SUB_WORKSPACE)
    everything = call(
        mode, client, "retrieve", query="Bailian watch heart rate", index_name="emu-manual"
    )
    assert everything[0].metadata["doc_id"] == "doc-emu-watch"
    assert len(everything) == 3
    lookup, retrieve = dashscope_emulator.requests[:2]
    assert lookup.method == "GET"
    assert lookup.path == "/api/v1/indices/pipeline_simple"
    assert retrieve.path == "/api/v1/indices/pipeline/idx-emu-manual/retrieve"
    floor = (everything[0].score + everything[1].score) / 2
    strict = call(
        mode, make_client(api_key=SUB_KEY, workspace=SUB_WORKSPACE), "retrieve",
        "idx-emu-manual", "Bailian watch heart rate", rerank_min_score=floor,
    )  # fmt: skip
    assert [n.metadata["doc_id"] for n in strict] == ["doc-emu-watch"]


@MODES
def test_retrieve_errors_are_typed(mode: str, make_client: MakeClient) -> None:
    with pytest.raises(PermissionDeniedError):
        call(mode, make_client(workspace=OTHER_WORKSPACE), "retrieve", "idx-emu-manual", "x")
    with pytest.raises(NotFoundError):
        call(mode, make_client(workspace=SUB_WORKSPACE), "retrieve", "idx-nope", "x")
    with pytest.raises(NotFoundError):
        call(mode, make_client(workspace=SUB_WORKSPACE), "retrieve", query="x", index_name="nope")
    with pytest.raises(BadRequestError):
        call(
            mode, make_client(workspace=SUB_WORKSPACE), "retrieve", "idx-emu-manual", "x",
            dense_similarity_top_k=101,
        )  # fmt: skip


@MODES
def test_retrieve_scripted_failure_is_retried_then_typed(
    mode: str, make_client: MakeClient, dashscope_emulator: Emulator
) -> None:
    from dashscope_ws import RetryPolicy
    from dashscope_ws.emulator import ScriptedReply
    from dashscope_ws.errors import InternalServerError

    dashscope_emulator.enqueue(ScriptedReply(status=500, code="InternalError", kind="retrieve"))
    client = make_client(
        api_key=SUB_KEY, workspace=SUB_WORKSPACE, retry_policy=RetryPolicy(1, base_delay=0.01)
    )
    nodes = call(mode, client, "retrieve", "idx-emu-manual", "phone")
    assert nodes
    assert len(dashscope_emulator.requests) == 2
    dashscope_emulator.enqueue(
        ScriptedReply(status=500, code="InternalError", kind="retrieve", times=2)
    )
    with pytest.raises(InternalServerError):
        call(
            mode,
            make_client(api_key=SUB_KEY, workspace=SUB_WORKSPACE),
            "retrieve",
            "idx-emu-manual",
            "x",
        )
