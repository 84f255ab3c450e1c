"""The framework-agnostic helpers both adapters share (dashscope_ws.adapters)."""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
import threading
from typing import Any, ClassVar

import pytest

from dashscope_ws import _adapter_settings
from dashscope_ws.adapters import (
    CLIENT_OBJECTS,
    CLIENT_SETTINGS,
    ClientHolder,
    ClientLifecycle,
    ToolArgumentsError,
    check_content_for_model,
    client_settings,
    json_schema_response_format,
    media_part,
    parse_tool_arguments,
    text_part,
    wire_tool_choice,
)
from dashscope_ws.config import ClientConfig
from dashscope_ws.protocol import build_chat_request
from dashscope_ws.settings import ClientSettings

KEY = "sk-holder-secret"

# --------------------------------------------------------------------------- ClientHolder


class FakeClient:
    """Stands in for DashScopeClient: records how it was built and closed."""

    built: ClassVar[list[FakeClient]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.closed = 0
        self.aclosed = 0
        FakeClient.built.append(self)

    def close(self) -> None:
        self.closed += 1

    async def aclose(self) -> None:
        self.aclosed += 1


@pytest.fixture
def fake_client(monkeypatch: pytest.MonkeyPatch) -> type[FakeClient]:
    FakeClient.built = []
    monkeypatch.setattr(_adapter_settings, "DashScopeClient", FakeClient)
    return FakeClient


def test_holder_builds_once_per_settings(fake_client: type[FakeClient]) -> None:
    holder = ClientHolder()
    assert not holder.built
    first = holder.get({"api_key": KEY, "workspace": "ws-1"})
    assert holder.get({"api_key": KEY, "workspace": "ws-1"}) is first
    assert holder.built
    assert len(fake_client.built) == 1
    assert first.kwargs == {"api_key": KEY, "workspace": "ws-1"}  # type: ignore[attr-defined]


def test_changed_settings_close_the_old_client_and_build_a_new_one(
    fake_client: type[FakeClient],
) -> None:
    holder = ClientHolder()
    settings = {"api_key": KEY, "workspace": "ws-1"}
    old = holder.get(settings)
    settings["workspace"] = "ws-2"  # the caller's dict changing must not fool the cache
    new = holder.get(settings)
    assert new is not old
    assert old.closed == 1  # type: ignore[attr-defined]
    assert new.kwargs["workspace"] == "ws-2"  # type: ignore[attr-defined]
    assert holder.get({"api_key": KEY, "workspace": "ws-2"}) is new


@pytest.mark.parametrize(
    "duplicate",
    [copy.copy, copy.deepcopy, lambda h: pickle.loads(pickle.dumps(h))],  # noqa: S301
    ids=["copy", "deepcopy", "pickle"],
)
def test_copies_start_empty_and_leave_the_original_alone(
    fake_client: type[FakeClient], duplicate: Any
) -> None:
    holder = ClientHolder()
    original = holder.get({"api_key": KEY})
    clone = duplicate(holder)
    assert isinstance(clone, ClientHolder)
    assert not clone.built
    assert clone.get({"api_key": KEY}) is not original
    clone.close()
    assert original.closed == 0  # type: ignore[attr-defined]
    assert holder.get({"api_key": KEY}) is original


def test_holder_inside_a_deep_copied_object_is_fresh(fake_client: type[FakeClient]) -> None:
    owner = {"holder": ClientHolder()}
    owner["holder"].get({"api_key": KEY})
    assert not copy.deepcopy(owner)["holder"].built


async def test_close_and_aclose_release_and_the_next_get_rebuilds(
    fake_client: type[FakeClient],
) -> None:
    holder = ClientHolder()
    holder.close()  # nothing built: a no-op
    first = holder.get({"api_key": KEY})
    holder.close()
    holder.close()
    assert first.closed == 1  # type: ignore[attr-defined]
    second = holder.get({"api_key": KEY})
    assert second is not first
    await holder.aclose()
    assert (second.aclosed, second.closed) == (1, 0)  # type: ignore[attr-defined]
    assert not holder.built


def test_concurrent_first_use_builds_one_client(fake_client: type[FakeClient]) -> None:
    holder = ClientHolder()
    barrier = threading.Barrier(8)
    got: list[object] = []

    def use() -> None:
        barrier.wait()
        got.append(holder.get({"api_key": KEY}))

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake_client.built) == 1
    assert all(client is got[0] for client in got)


def test_holder_repr_never_shows_the_key() -> None:
    holder = ClientHolder()
    holder.get({"api_key": KEY, "base_url": "http://127.0.0.1:1/api/v1"})
    try:
        assert KEY not in repr(holder)
        assert repr(holder) == "ClientHolder(built=True)"
    finally:
        holder.close()


def test_holder_builds_a_real_client_from_the_settings() -> None:
    holder = ClientHolder()
    client = holder.get({"api_key": KEY, "workspace": "ws-1", "region": "cn-beijing"})
    try:
        assert client.config.workspace == "ws-1"
        assert client.config.api_key.get_secret_value() == KEY
    finally:
        holder.close()


class _Thing(ClientLifecycle):
    def __init__(self) -> None:
        self._client_holder = ClientHolder()


def test_lifecycle_mixin_closes_on_exit(fake_client: type[FakeClient]) -> None:
    with _Thing() as thing:
        client = thing._client_holder.get({"api_key": KEY})
    assert client.closed == 1  # type: ignore[attr-defined]
    assert not thing._client_holder.built


async def test_lifecycle_mixin_acloses_on_async_exit(fake_client: type[FakeClient]) -> None:
    async with _Thing() as thing:
        client = thing._client_holder.get({"api_key": KEY})
    assert client.aclosed == 1  # type: ignore[attr-defined]
    assert not thing._client_holder.built


def test_client_settings_reads_every_connection_setting() -> None:
    class Source:
        pass

    source = Source()
    for position, name in enumerate(CLIENT_SETTINGS):
        setattr(source, name, f"value-{position}")
    settings = client_settings(source, api_key=KEY)
    assert settings.pop("api_key") == KEY
    assert {name: settings.pop(name) for name in CLIENT_OBJECTS} == dict.fromkeys(CLIENT_OBJECTS)
    assert settings == {name: f"value-{i}" for i, name in enumerate(CLIENT_SETTINGS)}
    # Every setting is a DashScopeClient keyword.
    assert set(CLIENT_SETTINGS) <= set(ClientSettings.__annotations__)


# --------------------------------------------------------------------------- tool_choice

ONE = [{"type": "function", "function": {"name": "add", "parameters": {}}}]
TWO = [*ONE, {"type": "function", "function": {"name": "mul", "parameters": {}}}]


def named(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


@pytest.mark.parametrize(
    ("tools", "choice", "expected"),
    [
        (TWO, None, None),
        (TWO, False, None),
        (TWO, "auto", "auto"),
        (TWO, "none", "none"),
        (ONE, "any", named("add")),
        (ONE, "required", named("add")),
        (ONE, True, named("add")),
        (TWO, "mul", named("mul")),
        (TWO, {"type": "function", "function": {"name": "mul"}}, named("mul")),
        (TWO, {"type": "tool", "name": "add"}, named("add")),
    ],
)
def test_tool_choice_rule(tools: list[dict[str, Any]], choice: Any, expected: Any) -> None:
    assert wire_tool_choice(choice, tools) == expected


@pytest.mark.parametrize("choice", ["any", "required", True])
@pytest.mark.parametrize("tools", [TWO, []], ids=["two-tools", "no-tools"])
def test_forcing_one_of_several_or_none_is_refused(choice: Any, tools: list[Any]) -> None:
    with pytest.raises(ValueError, match=r"only 'auto', 'none' or a single named function"):
        wire_tool_choice(choice, tools)


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ("div", "'div', which is not a bound tool: \\['add', 'mul'\\]"),
        ({"type": "function", "function": {"name": "div"}}, "not a bound tool"),
        ({"type": "function", "function": {}}, "names no function"),
        (3, "unsupported tool_choice 3"),
    ],
)
def test_tool_choice_must_name_a_bound_tool(choice: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        wire_tool_choice(choice, TWO)


# --------------------------------------------------------------------------- response_format


def test_json_schema_response_format() -> None:
    schema = {"title": "Person", "description": "A person", "type": "object", "properties": {}}
    assert json_schema_response_format(schema, strict=True) == {
        "type": "json_schema",
        "json_schema": {
            "name": "Person",
            "schema": schema,
            "description": "A person",
            "strict": True,
        },
    }
    plain = json_schema_response_format({"type": "object"})["json_schema"]
    assert plain == {"name": "output", "schema": {"type": "object"}}


def test_response_format_name_is_sanitised_and_explicit_name_wins() -> None:
    schema = {"title": "My schema (v2)", "type": "object"}
    assert json_schema_response_format(schema)["json_schema"]["name"] == "My_schema__v2_"
    assert json_schema_response_format(schema, name="Song")["json_schema"]["name"] == "Song"
    long = json_schema_response_format(schema, name="x" * 100)["json_schema"]["name"]
    assert long == "x" * 64


# --------------------------------------------------------------------------- tool arguments

# The real sample recorded in the protocol reference (a Qwen reply with single quotes).
PROTOCOL_SAMPLE = "{'key_type': 'SM4'}"


def test_protocol_sample_parses_leniently_and_is_refused_strictly() -> None:
    assert parse_tool_arguments(PROTOCOL_SAMPLE, lenient=True) == {"key_type": "SM4"}
    with pytest.raises(ToolArgumentsError, match="not JSON") as caught:
        parse_tool_arguments(PROTOCOL_SAMPLE, lenient=False)
    assert caught.value.raw == PROTOCOL_SAMPLE
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("lenient", [True, False])
def test_json_objects_and_empty_arguments(lenient: bool) -> None:
    assert parse_tool_arguments('{"city": "杭州", "n": [1, 2]}', lenient=lenient) == {
        "city": "杭州",
        "n": [1, 2],
    }
    assert parse_tool_arguments("", lenient=lenient) == {}
    assert parse_tool_arguments("  \n", lenient=lenient) == {}


def test_python_literals_are_read_leniently() -> None:
    raw = "{'on': True, 'none': None, 'nested': {'a': (1, 2)}}"
    assert parse_tool_arguments(raw, lenient=True) == {
        "on": True,
        "none": None,
        "nested": {"a": (1, 2)},
    }


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("[1, 2]", "arguments are a list, not a JSON object"),
        ("'just text'", "arguments are a str"),
        ('{"a": 1', "neither JSON nor a Python dict"),
        ("a=1", "neither JSON nor a Python dict"),
        ("__import__('os').system('true')", "neither JSON nor a Python dict"),
    ],
)
def test_malformed_arguments_raise_a_clear_error(raw: str, reason: str) -> None:
    with pytest.raises(ToolArgumentsError) as caught:
        parse_tool_arguments(raw, lenient=True)
    assert reason in caught.value.reason
    assert reason in str(caught.value)


# --------------------------------------------------------------------------- content

CONFIG = ClientConfig.resolve(api_key=KEY, base_url="http://127.0.0.1:1/api/v1", env={})
PICTURE = [text_part("what is it?"), media_part("image", "https://x/cat.png")]


def routed(content: Any, model: str) -> Any:
    messages = [{"role": "user", "content": content}]
    request = build_chat_request(
        CONFIG, model=model, messages=messages, parameters={}, stream=False
    )
    assert request.json is not None
    return request.json["input"]["messages"][0]["content"]


def test_neutral_parts() -> None:
    assert text_part("hi") == {"type": "text", "text": "hi"}
    assert media_part("image", "u") == {"type": "image_url", "image_url": {"url": "u"}}
    assert media_part("audio", "u") == {"type": "audio", "audio": "u"}
    assert media_part("video", "u") == {"type": "video", "video": "u"}
    with pytest.raises(ValueError, match="unknown media kind 'file'"):
        media_part("file", "u")


def test_the_core_routes_neutral_content_by_model() -> None:
    assert routed(PICTURE, "qwen-vl-plus") == [
        {"text": "what is it?"},
        {"image": "https://x/cat.png"},
    ]
    assert routed([media_part("audio", "a.wav")], "qwen-audio-turbo") == [{"audio": "a.wav"}]
    assert routed("hi", "qwen-vl-plus") == [{"text": "hi"}]
    assert routed([text_part("a"), text_part("b")], "qwen-plus") == "ab"
    assert routed("hi", "qwen-plus") == "hi"


@pytest.mark.parametrize(
    ("part", "kind"),
    [
        (media_part("image", "u"), "image"),
        (media_part("audio", "u"), "audio"),
        (media_part("video", "u"), "video"),
        ({"image": "u"}, "image"),  # native DashScope spelling
        ({"type": "image", "url": "u"}, "image"),
    ],
)
def test_media_for_a_text_only_model_is_refused(part: dict[str, Any], kind: str) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [text_part("look"), part]},
    ]
    with pytest.raises(ValueError, match=rf"'qwen-plus' is text-only and cannot take {kind} input"):
        check_content_for_model(messages, model="qwen-plus")
    with pytest.raises(ValueError, match=r"messages\[1\]"):
        check_content_for_model(messages, model="qwen-plus")
    check_content_for_model(
        messages, model="qwen-audio-turbo" if kind == "audio" else "qwen-vl-plus"
    )


def test_text_content_passes_for_any_model() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "hi"},
        {"role": "user", "content": [text_part("a"), {"text": "b"}, "c"]},
        {"role": "assistant", "content": None, "tool_calls": []},
    ]
    for model in ("qwen-plus", "qwen-vl-plus"):
        check_content_for_model(messages, model=model)


# --------------------------------------------------------------------------- purity


def test_adapters_module_imports_no_framework() -> None:
    script = (
        "import json, sys\n"
        "import dashscope_ws.adapters\n"
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0].startswith(('langchain', 'llama_index')))))\n"
    )
    out = subprocess.run(  # noqa: S603  (our own interpreter and script)
        [sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=60
    )
    assert json.loads(out.stdout) == []
