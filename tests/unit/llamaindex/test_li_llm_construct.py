"""DashScope LLM construction, secrets, settings, metadata and tool preparation (no server)."""

from __future__ import annotations

import copy
import pickle

import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.tools import FunctionTool

from dashscope_ws.models import (
    BUILTIN_MODELS,
    DEFAULT_MODEL,
    lookup,
    register_model,
    unregister_model,
)
from llamaindex_dashscope_ws import DashScope

KEY = "sk-very-secret-123"


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def mul(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def test_key_never_in_repr_str_dump_dict_or_json() -> None:
    llm = DashScope(api_key=KEY, workspace="ws-1")
    llm._get_client()  # a built client must not leak it either
    for text in (repr(llm), str(llm), str(llm.model_dump()), str(llm.to_dict()), llm.to_json()):
        assert KEY not in text
    assert llm.to_dict()["workspace"] == "ws-1"


def test_every_argument_is_honoured() -> None:
    llm = DashScope(
        model="qwen-max",
        api_key=KEY,
        workspace="ws-1",
        base_url="http://127.0.0.1:9/api/v1",
        timeout=12.5,
        max_retries=5,
        temperature=0.2,
        top_p=0.9,
        top_k=5,
        max_tokens=64,
        seed=7,
        stop=["END"],
        enable_search=True,
        enable_thinking=False,
        thinking_budget=100,
        additional_kwargs={"presence_penalty": 0.5},
    )
    config = llm._get_client().config
    assert (config.workspace, config.base_url, config.timeout, config.max_retries) == (
        "ws-1",
        "http://127.0.0.1:9/api/v1",
        12.5,
        5,
    )
    assert config.api_key.get_secret_value() == KEY
    _, options = llm._call_args([ChatMessage(role="user", content="x")], {})
    assert options["model"] == "qwen-max"
    assert options["workspace"] is None  # the client's own workspace applies
    assert {k: options[k] for k in ("temperature", "top_p", "top_k", "max_tokens", "seed")} == {
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 5,
        "max_tokens": 64,
        "seed": 7,
    }
    assert options["stop"] == ["END"]
    assert (options["enable_search"], options["enable_thinking"], options["thinking_budget"]) == (
        True,
        False,
        100,
    )
    assert options["presence_penalty"] == 0.5


def test_no_output_cap_by_default() -> None:
    _, options = DashScope(api_key=KEY)._call_args([], {})
    assert options.get("max_tokens") is None  # unset: the service default (no cap)


def test_per_call_options_do_not_mutate_instance() -> None:
    llm = DashScope(api_key=KEY, temperature=0.1)
    _, options = llm._call_args(
        [], {"workspace": "ws-2", "model": "qwen-turbo", "temperature": 1.0}
    )
    assert (options["workspace"], options["model"], options["temperature"]) == (
        "ws-2",
        "qwen-turbo",
        1.0,
    )
    assert (llm.model, llm.temperature, llm.workspace) == ("qwen-plus", 0.1, None)


def test_model_name_alias() -> None:
    assert DashScope(model_name="qwen-max", api_key=KEY).model == "qwen-max"
    assert DashScope(api_key=KEY).model == "qwen-plus"
    with pytest.raises(TypeError, match="pass model or model_name, not both"):
        DashScope(model="qwen-max", model_name="qwen-plus", api_key=KEY)


def test_invalid_workspace_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="invalid workspace"):
        DashScope(api_key=KEY, workspace="bad workspace!")


def test_settings_resolve_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    monkeypatch.setenv("DASHSCOPE_WORKSPACE", "ws-env")
    config = DashScope()._get_client().config
    assert config.api_key.get_secret_value() == "sk-from-env"
    assert config.workspace == "ws-env"
    # Arguments win over the environment.
    assert DashScope(api_key=KEY, workspace="ws-arg")._get_client().config.workspace == "ws-arg"


def test_missing_key_raises_on_use_not_construction() -> None:
    llm = DashScope()
    with pytest.raises(ValueError, match="no DashScope API key"):
        llm.chat([ChatMessage(role="user", content="hi")])


def test_client_cached_per_instance_and_rebuilt_on_change() -> None:
    one, two = DashScope(api_key=KEY, workspace="ws-1"), DashScope(api_key="sk-other")
    assert one._get_client() is one._get_client()
    assert one._get_client() is not two._get_client()
    assert two._get_client().config.api_key.get_secret_value() == "sk-other"
    first = one._get_client()
    one.workspace = "ws-9"
    assert one._get_client() is not first
    assert one._get_client().config.workspace == "ws-9"


def test_pickle_and_deepcopy_keep_key_and_build_their_own_client() -> None:
    llm = DashScope(api_key=KEY, workspace="ws-1")
    original = llm._get_client()
    clone = pickle.loads(pickle.dumps(llm))  # noqa: S301 -- our own bytes
    assert clone._get_client().config.api_key.get_secret_value() == KEY
    assert clone._get_client() is not original
    deep = copy.deepcopy(llm)
    assert deep._get_client() is not original
    assert deep.workspace == "ws-1"
    shallow = llm.model_copy()
    assert shallow._get_client() is not original  # a copy owns (and closes) its own client
    assert llm._get_client() is original


def test_close_releases_the_client_and_the_next_call_builds_another() -> None:
    llm = DashScope(api_key=KEY)
    first = llm._get_client()
    with llm as entered:
        assert entered is llm
    rebuilt = llm._get_client()
    assert rebuilt is not first
    assert rebuilt.config.api_key.get_secret_value() == KEY
    llm.close()
    llm.close()  # idempotent, also with nothing built


def test_connection_fields_match_the_langchain_mixin() -> None:
    from langchain_dashscope_ws._settings import DashScopeClientSettings as LangChainSettings
    from llamaindex_dashscope_ws._settings import DashScopeClientSettings

    # One table in the docs describes both: the field sets must not drift apart.
    langchain_fields = set(LangChainSettings.model_fields) - {"api_key"}
    assert set(DashScopeClientSettings.model_fields) == langchain_fields
    llm = DashScope(
        api_key=KEY,
        workspace_in_host=True,
        region="cn-beijing",
        workspace="ws-1",
        connect_timeout=3.0,
        allow_insecure_http=True,
    )
    config = llm._get_client().config
    assert (config.workspace_in_host, config.connect_timeout, config.allow_insecure_http) == (
        True,
        3.0,
        True,
    )
    assert "ws-1" in config.url("x")  # workspace_in_host puts the workspace in the host


# --------------------------------------------------------------------------- metadata


@pytest.mark.parametrize(
    ("model", "window"),
    [
        ("qwen-plus", 131_072),
        ("qwen-plus-latest", 1_000_000),
        ("qwen-max", 32_768),
        ("qwen3-max", 262_144),
        ("qwen3-max-2025-09-23", 262_144),
        ("qwen-turbo", 1_000_000),
        ("qwq-plus", 131_072),
        ("qwen-long", 10_000_000),
    ],
)
def test_metadata_context_window(model: str, window: int) -> None:
    meta = DashScope(model=model, api_key=KEY).metadata
    assert meta.context_window == window
    assert meta.model_name == model
    assert meta.is_chat_model is True
    assert meta.is_function_calling_model is True
    assert meta.num_output == lookup(model).max_output_tokens


def test_metadata_fallback_and_overrides() -> None:
    unknown = DashScope(model="my-custom-model", api_key=KEY).metadata
    assert (unknown.context_window, unknown.num_output) == (
        DEFAULT_MODEL.context_window,
        DEFAULT_MODEL.max_output_tokens,
    )
    assert DashScope(model="qwen-plus", max_tokens=100, api_key=KEY).metadata.num_output == 100
    assert DashScope(model="qwen-mt-turbo", api_key=KEY).metadata.is_function_calling_model is False


def test_every_chat_row_is_sane() -> None:
    chat = [info for info in BUILTIN_MODELS if info.kind == "chat"]
    assert len(chat) > 30
    for info in chat:
        assert info.context_window > info.max_output_tokens > 0, info.prefix


@pytest.mark.parametrize(
    ("model", "window", "tools", "inputs"),
    [
        ("qwen3.6-plus", 1_000_000, True, ("text", "image", "video")),
        ("qwen3-vl-plus", 262_144, True, ("text", "image", "video")),
        ("qwen-vl-max", 131_072, False, ("text", "image", "video")),
        ("qwen-audio-turbo", 8_192, False, ("text", "audio")),
        ("qwen-plus", 131_072, True, ("text",)),
    ],
)
def test_metadata_and_modalities_read_the_registry(
    model: str, window: int, tools: bool, inputs: tuple[str, ...]
) -> None:
    llm = DashScope(model=model, api_key=KEY)
    assert (llm.metadata.context_window, llm.metadata.is_function_calling_model) == (window, tools)
    assert llm.input_modalities == inputs


def test_metadata_follows_a_registered_model() -> None:
    register_model("acme-long-", context_window=2_000_000, max_output_tokens=1_000)
    try:
        meta = DashScope(model="acme-long-1", api_key=KEY).metadata
        assert (meta.context_window, meta.num_output) == (2_000_000, 1_000)
    finally:
        unregister_model("acme-long-")
    assert DashScope(model="acme-long-1", api_key=KEY).metadata.context_window == 32_768


# --------------------------------------------------------------------------- tools


def test_prepare_chat_with_tools_shape() -> None:
    llm = DashScope(api_key=KEY)
    history = [ChatMessage(role="system", content="sys")]
    prepared = llm._prepare_chat_with_tools(
        [FunctionTool.from_defaults(add)],
        user_msg="2+3?",
        chat_history=history,
        tool_required=True,
        workspace="ws-2",
    )
    assert len(history) == 1  # the caller's history is not mutated
    assert [m.content for m in prepared["messages"]] == ["sys", "2+3?"]
    (spec,) = prepared["tools"]
    assert spec["type"] == "function"
    assert spec["function"]["name"] == "add"
    assert spec["function"]["description"].endswith("Add two integers.")
    assert spec["function"]["parameters"]["required"] == ["a", "b"]
    assert set(spec["function"]["parameters"]["properties"]) == {"a", "b"}
    assert "required" not in spec["function"]
    assert prepared["tool_choice"] == {"type": "function", "function": {"name": "add"}}
    assert prepared["parallel_tool_calls"] is False
    assert prepared["workspace"] == "ws-2"


def test_prepare_chat_with_tools_parallel_and_required_of_many() -> None:
    llm = DashScope(api_key=KEY)
    tools = [FunctionTool.from_defaults(add), FunctionTool.from_defaults(mul)]
    prepared = llm._prepare_chat_with_tools(tools, user_msg="x", allow_parallel_tool_calls=True)
    assert prepared["parallel_tool_calls"] is True
    assert prepared["tool_choice"] is None
    with pytest.raises(ValueError, match="single named function"):
        llm._prepare_chat_with_tools(tools, user_msg="x", tool_required=True)
    named = llm._prepare_chat_with_tools(tools, user_msg="x", tool_choice="mul")
    assert named["tool_choice"] == {"type": "function", "function": {"name": "mul"}}
