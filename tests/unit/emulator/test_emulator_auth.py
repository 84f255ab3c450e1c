"""Identities and permissions: every gateway answer, with the service's exact bodies."""

from __future__ import annotations

import uuid

import pytest
from emulator_testkit import EMBED_PATH, MM_PATH, RERANK_PATH, TEXT_PATH, Call, chat_body

from dashscope_ws.emulator import MAIN_KEY, OTHER_WORKSPACE, SUB_KEY, SUB_WORKSPACE

NOT_AUTHORIZED = (
    "Access denied: Either you are not authorized to access this workspace, or the workspace "
    "does not exist. Please:\nVerify the workspace configuration.\nCheck your API endpoint "
    "settings. Ensure you are targeting the correct environment."
)


def assert_error(response, status: int, code: str, message: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"code", "message", "request_id"}
    assert (body["code"], body["message"]) == (code, message)
    uuid.UUID(body["request_id"])


@pytest.mark.parametrize("key", [None, "sk-wrong", ""])
def test_missing_or_unknown_key_is_401(call: Call, key: str | None) -> None:
    assert_error(
        call(TEXT_PATH, chat_body(), key=key), 401, "InvalidApiKey", "Invalid API-key provided."
    )


def test_non_bearer_authorization_is_rejected(call: Call) -> None:
    response = call(TEXT_PATH, chat_body(), key=None, headers={"Authorization": MAIN_KEY})
    assert_error(response, 401, "InvalidApiKey", "Invalid API-key provided.")


@pytest.mark.parametrize("workspace", [None, SUB_WORKSPACE, OTHER_WORKSPACE])
def test_main_key_works_with_or_without_any_known_workspace(
    call: Call, workspace: str | None
) -> None:
    response = call(TEXT_PATH, chat_body(model="qwen3-coder-plus"), workspace=workspace)
    assert response.status_code == 200
    assert response.json()["output"]["choices"][0]["message"]["content"]


@pytest.mark.parametrize("key", [MAIN_KEY, SUB_KEY])
def test_unknown_workspace_is_404(call: Call, key: str) -> None:
    response = call(TEXT_PATH, chat_body(), key=key, workspace="ws-nope")
    assert_error(response, 404, "WorkSpaceNotFound", "WorkSpace can not be found.")


def test_sub_key_without_workspace_is_403(call: Call) -> None:
    response = call(TEXT_PATH, chat_body(), key=SUB_KEY)
    assert_error(response, 403, "Workspace.AccessDenied", "Workspace access denied.")


def test_sub_key_with_another_workspace_is_not_authorized(call: Call) -> None:
    response = call(TEXT_PATH, chat_body(), key=SUB_KEY, workspace=OTHER_WORKSPACE)
    assert_error(response, 401, "NOT AUTHORIZED", NOT_AUTHORIZED)


def test_sub_key_in_its_workspace_calls_granted_models(call: Call) -> None:
    response = call(TEXT_PATH, chat_body(model="qwen-max"), key=SUB_KEY, workspace=SUB_WORKSPACE)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (TEXT_PATH, chat_body(model="qwen3-coder-plus")),
        (TEXT_PATH, chat_body(model="qwen-long")),
        (EMBED_PATH, {"model": "text-embedding-v2", "input": {"texts": ["a"]}}),
        (RERANK_PATH, {"model": "gte-rerank", "input": {"query": "q", "documents": ["d"]}}),
    ],
)
def test_sub_key_on_a_model_not_granted_is_403(call: Call, path: str, body: object) -> None:
    response = call(path, body, key=SUB_KEY, workspace=SUB_WORKSPACE)
    assert_error(response, 403, "Model.AccessDenied", "Model access denied.")


def test_workspace_header_name_is_case_insensitive(call: Call) -> None:
    for name in ("x-dashscope-workspace", "X-DASHSCOPE-WORKSPACE", "X-DashScope-Workspace"):
        response = call(TEXT_PATH, chat_body(), key=SUB_KEY, headers={name: SUB_WORKSPACE})
        assert response.status_code == 200, name


def test_workspace_host_is_honoured(call: Call) -> None:
    host = f"{SUB_WORKSPACE}.cn-beijing.maas.aliyuncs.com"
    response = call(TEXT_PATH, chat_body(), key=SUB_KEY, headers={"Host": host})
    assert response.status_code == 200


def test_unknown_model_is_400(call: Call) -> None:
    response = call(TEXT_PATH, chat_body(model="qwen-imaginary"))
    assert_error(response, 400, "InvalidParameter", "Model not exist.")


def test_missing_model_is_400(call: Call) -> None:
    body = {"input": {"messages": [{"role": "user", "content": "hi"}]}}
    assert_error(
        call(TEXT_PATH, body),
        400,
        "BadRequest.EmptyModel",
        'Required parameter "model" missing from request.',
    )


def test_vl_model_on_text_path_and_text_model_on_multimodal_path(call: Call) -> None:
    url_error = "url error, please check url！"
    assert_error(
        call(TEXT_PATH, chat_body(model="qwen-vl-plus")), 400, "InvalidParameter", url_error
    )
    assert_error(call(MM_PATH, chat_body(model="qwen-plus")), 400, "InvalidParameter", url_error)


def test_auth_is_checked_before_the_body(call: Call) -> None:
    response = call(TEXT_PATH, b"{not json", key="sk-wrong")
    assert response.status_code == 401


def test_unknown_path_is_a_json_404(call: Call) -> None:
    response = call("/services/aigc/nothing/here", chat_body())
    assert_error(response, 404, "NotFound", "Not found!")
