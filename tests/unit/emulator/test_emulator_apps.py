"""The emulator's apps and knowledge bases over raw HTTP: config, streams, rules."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from emulator_testkit import Call, sse_events

from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator, EmulatorConfig
from dashscope_ws.emulator.apps import AppSessions

RAG = "/apps/app-emu-rag/completion"
QUESTION = "What is the price in yuan of the Bailian X1?"


@pytest.mark.parametrize("incremental", [False, True])
def test_rag_stream_in_both_modes_ends_with_references_and_thoughts(
    call: Call, incremental: bool
) -> None:
    body = {
        "input": {"prompt": QUESTION},
        "parameters": {"incremental_output": incremental, "has_thoughts": True},
    }
    response = call(RAG, body, key=SUB_KEY, workspace=SUB_WORKSPACE, stream=True)
    assert response.status_code == 200
    events = sse_events(response.content)
    outputs = [e["data"]["output"] for e in events]
    assert len(outputs) >= 3
    texts = [o["text"] for o in outputs]
    if incremental:
        answer = "".join(texts)
    else:
        assert all(b.startswith(a) for a, b in itertools.pairwise(texts))
        answer = texts[-1]
    assert "2999" in answer
    assert [o["finish_reason"] for o in outputs[:-1]] == ["null"] * (len(outputs) - 1)
    assert outputs[-1]["finish_reason"] == "stop"
    assert outputs[-1]["doc_references"][0]["doc_id"] == "doc-emu-x1"
    assert outputs[-1]["thoughts"][-1] == {
        "thought": "Answer the user.",
        "action_type": "response",
        "response": answer,
    }
    assert len({o["session_id"] for o in outputs}) == 1


def test_workflow_stream_carries_node_messages(call: Call) -> None:
    body = {"input": {"prompt": "Plan a trip"}, "parameters": {"incremental_output": True}}
    events = sse_events(
        call("/apps/app-emu-flow/completion", body, workspace=SUB_WORKSPACE, stream=True).content
    )
    messages = [e["data"]["output"]["workflow_message"] for e in events]
    assert [m["node_is_completed"] for m in messages] == [False] * (len(messages) - 1) + [True]
    assert [m["node_msg_seq_id"] for m in messages] == list(range(1, len(messages) + 1))
    assert "".join(m["message"]["content"] for m in messages) == "".join(
        e["data"]["output"]["text"] for e in events
    )


def test_rag_without_a_matching_document_says_so(call: Call) -> None:
    body = {"input": {"prompt": "zebra quantum saxophone"}}
    answer = call(RAG, body, workspace=SUB_WORKSPACE).json()["output"]
    assert answer["text"] == "I could not find that in the knowledge base."
    assert "doc_references" not in answer


@pytest.mark.parametrize(
    ("path", "key", "workspace", "status", "code"),
    [
        ("/apps/nope/completion", MAIN_KEY, None, 400, "InvalidAppId"),
        (RAG, MAIN_KEY, None, 403, "App.AccessDenied"),
        ("/apps/app-emu-other/completion", MAIN_KEY, SUB_WORKSPACE, 403, "App.AccessDenied"),
        ("/apps/app-emu-draft/completion", SUB_KEY, SUB_WORKSPACE, 400, "FlowNotPublished"),
        (RAG, SUB_KEY, None, 403, "Workspace.AccessDenied"),
        (RAG, "sk-wrong", SUB_WORKSPACE, 401, "InvalidApiKey"),
    ],
)
def test_app_refusals(
    call: Call, path: str, key: str, workspace: str | None, status: int, code: str
) -> None:
    response = call(path, {"input": {"prompt": "hi"}}, key=key, workspace=workspace)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["request_id"]


def test_pipeline_lookup_is_workspace_scoped(emu: Emulator) -> None:
    import requests

    def lookup(workspace: str | None) -> requests.Response:
        headers = {"Authorization": f"Bearer {MAIN_KEY}"}
        if workspace:
            headers["X-DashScope-WorkSpace"] = workspace
        return requests.get(
            emu.base_url + "/indices/pipeline_simple",
            params={"pipeline_name": "emu-manual"},
            headers=headers,
            timeout=30,
        )

    found = lookup(SUB_WORKSPACE)
    assert found.status_code == 200
    assert found.json()["code"] == "Success"
    assert found.json()["id"] == "idx-emu-manual"
    assert lookup(None).status_code == 404


def test_retrieve_validates_its_body(call: Call) -> None:
    path = "/indices/pipeline/idx-emu-manual/retrieve"
    assert call(path, {"query": ""}, workspace=SUB_WORKSPACE).status_code == 400
    too_many = {"query": "x", "dense_similarity_top_k": 100, "sparse_similarity_top_k": 101}
    assert call(path, too_many, workspace=SUB_WORKSPACE).status_code == 400
    plain = {"query": "phone", "enable_reranking": False, "dense_similarity_top_k": 2}
    plain["sparse_similarity_top_k"] = 1  # one ranking here: the union is the larger top-k
    nodes = call(path, plain, workspace=SUB_WORKSPACE).json()["nodes"]
    assert len(nodes) == 2
    assert set(nodes[0]["node"]) == {"id_", "text", "metadata"}


def test_config_file_defines_apps_and_indices(tmp_path: Path) -> None:
    document = {
        "keys": {"sk-team": "ws-team"},
        "workspaces": ["ws-team"],
        "apps": {
            "app-kb": {
                "workspace": "ws-team",
                "kind": "rag",
                "documents": [{"name": "Otters", "text": "Sea otters hold hands while sleeping."}],
            },
            "app-wip": {"workspace": "ws-team", "kind": "workflow", "published": False},
        },
        "indices": {
            "kb-1": {"workspace": "ws-team", "name": "team-kb", "documents": ["Plain text."]}
        },
    }
    path = tmp_path / "emu.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    config = EmulatorConfig.load(path)
    assert set(config.apps) == {"app-kb", "app-wip"}
    assert config.apps["app-kb"].documents[0].doc_id == "app-kb-doc-1"
    assert config.apps["app-wip"].published is False
    assert config.indices["kb-1"].documents[0].text == "Plain text."
    with Emulator(config) as emu:
        import requests

        answer = requests.post(
            emu.base_url + "/apps/app-kb/completion",
            json={"input": {"prompt": "What do sea otters hold while sleeping?"}},
            headers={"Authorization": "Bearer sk-team", "X-DashScope-WorkSpace": "ws-team"},
            timeout=30,
        ).json()
    assert answer["output"]["text"] == "Sea otters hold hands while sleeping."
    assert answer["output"]["doc_references"][0]["doc_name"] == "Otters"


def test_defaults_follow_the_configured_workspaces() -> None:
    config = EmulatorConfig.from_dict({"workspaces": ["ws-x"], "keys": {"sk-x": "ws-x"}})
    assert set(config.apps) == {"app-emu-agent"}  # the others live in absent workspaces
    assert config.indices == {}


@pytest.mark.parametrize(
    "section",
    [
        {"apps": {"a": {"kind": "chatbot"}}},
        {"apps": {"a": {"workspace": "ws-nowhere"}}},
        {"apps": {"a": {"documents": [{"name": "no text"}]}}},
        {"indices": {"i": {"workspace": "ws-nowhere"}}},
    ],
)
def test_bad_app_config_is_refused(section: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"kind|workspace|text"):
        EmulatorConfig.from_dict(section)


def test_sessions_are_bounded() -> None:
    sessions = AppSessions(limit=2)
    for name in ("a", "b", "c"):
        sessions.add(name, name)
    assert sessions.turns("a") == []
    assert sessions.turns("c") == ["c"]
