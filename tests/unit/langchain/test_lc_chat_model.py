"""ChatDashScope construction, typed errors, retries and structured output."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core import exceptions as lc
from langchain_core.load import dumpd, load
from langchain_core.rate_limiters import BaseRateLimiter
from pydantic import BaseModel, ValidationError
from typing_extensions import TypedDict

from dashscope_ws import errors as core
from dashscope_ws._adapter_settings import ArgumentError
from dashscope_ws.emulator import SUB_KEY, SUB_WORKSPACE, Emulator, ScriptedReply
from langchain_dashscope_ws import errors
from langchain_dashscope_ws.chat_models import ChatDashScope


@pytest.fixture
def chat(dashscope_emulator: Emulator) -> Iterator[ChatDashScope]:
    model = ChatDashScope(
        model="qwen-plus",
        api_key=SUB_KEY,
        workspace=SUB_WORKSPACE,
        base_url=dashscope_emulator.base_url,
        max_retries=0,
    )
    yield model
    model.close()


# ----------------------------------------------------------------------------- construction


def test_aliases_secret_and_unknown_parameters() -> None:
    llm = ChatDashScope(model_name="qwen-max", dashscope_api_key="sk-secret-value")
    assert llm.model == "qwen-max"
    assert "sk-secret-value" not in repr(llm)
    assert "sk-secret-value" not in str(llm.model_dump())
    with pytest.raises(ArgumentError, match="'temprature'; did you mean 'temperature'"):
        ChatDashScope(temprature=0.1)  # type: ignore[call-arg]
    # langchain-community's spelling: declared parameters move to their validated fields.
    lifted = ChatDashScope(model_kwargs={"temperature": 0.1, "n": 1})
    assert (lifted.temperature, lifted.model_kwargs) == (0.1, {"n": 1})
    with pytest.raises(ValidationError, match="less than 2"):
        ChatDashScope(model_kwargs={"temperature": 5})
    with pytest.raises(ArgumentError, match="not both"):
        ChatDashScope(temperature=0.2, model_kwargs={"temperature": 0.1})
    with pytest.raises(ValidationError, match="constructor arguments"):
        ChatDashScope(model_kwargs={"workspace": "ws-1"})


def test_api_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-env")
    llm = ChatDashScope()
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == "sk-env"


def test_ls_params_follow_per_call_overrides() -> None:
    llm = ChatDashScope(api_key="k", temperature=0.5, max_tokens=10, stop="END")
    assert llm._get_ls_params() == {
        "ls_provider": "dashscope",
        "ls_model_name": "qwen-plus",
        "ls_model_type": "chat",
        "ls_temperature": 0.5,
        "ls_max_tokens": 10,
        "ls_stop": ["END"],
    }
    assert (
        ChatDashScope(api_key="k", workspace="ws-1")._get_ls_params()["dashscope_workspace"]
        == "ws-1"
    )  # type: ignore[typeddict-item]
    params = llm._get_ls_params(stop=["x"], model="qwen-max", temperature=0.1)
    assert (params["ls_model_name"], params["ls_temperature"], params["ls_stop"]) == (
        "qwen-max",
        0.1,
        ["x"],
    )
    assert llm._llm_type == "dashscope-chat"


@pytest.mark.filterwarnings("ignore:The function `load` is in beta")
def test_serialisation_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    llm = ChatDashScope(api_key="sk-secret", workspace="ws-1", model="qwen-max", temperature=0.2)
    data = dumpd(llm)
    assert data["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": ["DASHSCOPE_API_KEY"]}
    assert "sk-secret" not in str(data)
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-secret")
    revived = load(
        data,
        valid_namespaces=["langchain_dashscope_ws"],
        allowed_objects=[ChatDashScope],
        secrets_from_env=True,
    )
    assert isinstance(revived, ChatDashScope)
    assert revived.model_dump() == llm.model_dump()


def test_client_is_per_instance_and_follows_settings() -> None:
    a = ChatDashScope(api_key="k1", workspace="ws-a")
    b = ChatDashScope(api_key="k2", workspace="ws-b")
    assert a._get_client() is a._get_client()
    assert a._get_client() is not b._get_client()
    assert a._get_client().config.workspace == "ws-a"
    copy = a.model_copy(update={"workspace": "ws-c"})
    assert copy._get_client().config.workspace == "ws-c"
    assert a._get_client().config.workspace == "ws-a"
    same = a.model_copy()
    assert same._get_client() is not a._get_client()  # a copy owns (and closes) its own


def test_close_releases_the_client_and_the_next_call_builds_another() -> None:
    llm = ChatDashScope(api_key="k", workspace="ws-a")
    first = llm._get_client()
    with llm as entered:
        assert entered is llm
    assert llm._get_client() is not first
    llm.close()
    llm.close()  # idempotent, also with nothing built


def test_workspace_is_validated_at_construction() -> None:
    with pytest.raises(ValidationError, match="workspace"):
        ChatDashScope(api_key="k", workspace="bad workspace/")


async def test_async_context_manager_closes_after_real_calls(
    dashscope_emulator: Emulator,
) -> None:
    async with ChatDashScope(
        api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=dashscope_emulator.base_url
    ) as llm:
        await llm.ainvoke("hi")
        used = llm._get_client()
    # Closed on exit: the instance no longer holds the client it used.
    assert not llm._client_holder.built
    assert used is not llm._get_client()
    llm.close()


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("reply", "lc_class", "core_class"),
    [
        (ScriptedReply.error(400, "InvalidParameter", "bad"), lc.ModelInvalidRequestError,
         core.BadRequestError),
        (ScriptedReply.error(400, "DataInspectionFailed", "unsafe"), lc.ModelInvalidRequestError,
         core.ContentFilterError),
        (ScriptedReply.error(400, "InvalidParameter", "Range of input length should be [1, 6]"),
         lc.ContextOverflowError, core.BadRequestError),
        (ScriptedReply.error(401, "InvalidApiKey", "no"), lc.ModelAuthenticationError,
         core.AuthenticationError),
        (ScriptedReply.error(403, "Model.AccessDenied", "no"), lc.ModelPermissionDeniedError,
         core.PermissionDeniedError),
        (ScriptedReply.error(404, "ModelNotFound", "no"), lc.ModelNotFoundError,
         core.NotFoundError),
        (ScriptedReply.rate_limited(retry_after=7), lc.ModelRateLimitError, core.RateLimitError),
        (ScriptedReply.error(500, "InternalError", "boom"), lc.ModelAPIError,
         core.InternalServerError),
    ],
)  # fmt: skip
@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_errors_are_typed_for_both_worlds(
    chat: ChatDashScope,
    dashscope_emulator: Emulator,
    reply: ScriptedReply,
    lc_class: type[Exception],
    core_class: type[core.APIStatusError],
    mode: str,
) -> None:
    dashscope_emulator.enqueue(reply)
    call = chat.invoke if mode == "invoke" else (lambda prompt: list(chat.stream(prompt)))
    with pytest.raises(lc_class) as caught:
        call("hi")
    error = caught.value
    assert isinstance(error, core_class)
    assert error.status_code == (reply.status or 429)
    assert error.code == (reply.code or "Throttling.RateQuota")
    assert error.request_id
    assert error.request_id in str(error)
    if reply.retry_after is not None:
        assert error.retry_after == 7


async def test_async_errors_and_mid_stream_errors_are_typed(
    chat: ChatDashScope, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(
        ScriptedReply.error(403, "Workspace.AccessDenied", "no"),
        ScriptedReply(text="a b c d e f g h", error_after_chunks=1, code="InternalError",
                      status=500, message="mid-stream"),
    )  # fmt: skip
    with pytest.raises(errors.PermissionDeniedError) as denied:
        await chat.ainvoke("hi")
    assert "workspace" in str(denied.value).lower()  # the core's hint survives
    seen: list[Any] = []

    async def consume() -> None:
        async for chunk in chat.astream("hi"):
            seen.append(chunk)

    with pytest.raises(lc.ModelAPIError) as mid:
        await consume()
    assert isinstance(mid.value, core.InternalServerError)
    assert seen  # the failure came after output had started
    await chat.aclose()


def test_cut_stream_and_refused_connection_are_typed(
    chat: ChatDashScope, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(ScriptedReply(text="a b c d e f g h", drop_after_chunks=1))
    with pytest.raises((errors.APIConnectionError, errors.StreamProtocolError)) as cut:
        list(chat.stream("hi"))
    assert isinstance(cut.value, (lc.ModelConnectionError, lc.ModelAPIError))
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = ChatDashScope(api_key="k", base_url=f"http://127.0.0.1:{port}/api/v1", max_retries=0)
    with pytest.raises(lc.ModelConnectionError) as refused:
        dead.invoke("hi")
    assert isinstance(refused.value, core.APIConnectionError)
    dead.close()


def test_retries_use_the_core_retry_count(
    chat: ChatDashScope, dashscope_emulator: Emulator
) -> None:
    dashscope_emulator.enqueue(ScriptedReply.rate_limited(retry_after=0))
    retrying = chat.model_copy(update={"max_retries": 1})
    assert retrying.invoke("hi").text
    assert len(dashscope_emulator.requests) == 2
    dashscope_emulator.enqueue(ScriptedReply.rate_limited(retry_after=0))
    with pytest.raises(errors.RateLimitError):
        chat.invoke("hi")  # max_retries=0: the first 429 is final
    assert len(dashscope_emulator.requests) == 3


class _CountingLimiter(BaseRateLimiter):
    def __init__(self) -> None:
        self.calls = 0

    def acquire(self, *, blocking: bool = True) -> bool:
        self.calls += 1
        return True

    async def aacquire(self, *, blocking: bool = True) -> bool:
        self.calls += 1
        return True


def test_rate_limiter_is_consulted(chat: ChatDashScope) -> None:
    limiter = _CountingLimiter()
    limited = chat.model_copy(update={"rate_limiter": limiter})
    limited.invoke("hi")
    list(limited.stream("hi"))
    assert limiter.calls == 2


# ----------------------------------------------------------------------------- structured output


class Person(BaseModel):
    """A person."""

    name: str
    age: int


class PersonDict(TypedDict):
    """A person."""

    name: str
    age: int


PERSON_SCHEMA = {
    "title": "Person",
    "description": "A person.",
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}
PROMPT = "Extract: name: Alice, age: 30"


@pytest.mark.parametrize("schema", [Person, PersonDict, PERSON_SCHEMA])
@pytest.mark.parametrize("method", ["function_calling", "json_schema"])
def test_structured_output(
    chat: ChatDashScope, dashscope_emulator: Emulator, schema: Any, method: str
) -> None:
    result = chat.with_structured_output(schema, method=method).invoke(PROMPT)  # type: ignore[arg-type]
    data = result.model_dump() if isinstance(result, BaseModel) else result
    assert data == {"name": "Alice", "age": 30}
    parameters = dashscope_emulator.requests[-1].json["parameters"]
    if method == "json_schema":
        response_format = parameters["response_format"]
        assert response_format["type"] == "json_schema"
        assert response_format["json_schema"]["name"] in ("Person", "PersonDict")
        assert response_format["json_schema"]["schema"]["properties"]["age"]["type"] == "integer"
        assert "tools" not in parameters
    else:
        name = parameters["tools"][0]["function"]["name"]
        assert parameters["tool_choice"] == {"type": "function", "function": {"name": name}}


def test_structured_output_default_method_is_function_calling(
    chat: ChatDashScope, dashscope_emulator: Emulator
) -> None:
    chat.with_structured_output(Person).invoke(PROMPT)
    assert "tools" in dashscope_emulator.requests[-1].json["parameters"]


def test_json_mode_and_include_raw(chat: ChatDashScope, dashscope_emulator: Emulator) -> None:
    dashscope_emulator.enqueue(ScriptedReply(text='{"name": "Bob", "age": 4}'))
    out = chat.with_structured_output(method="json_mode", include_raw=True).invoke("json please")
    assert out["parsed"] == {"name": "Bob", "age": 4}
    assert out["parsing_error"] is None
    assert out["raw"].text == '{"name": "Bob", "age": 4}'
    wire = dashscope_emulator.requests[-1].json["parameters"]
    assert wire["response_format"] == {"type": "json_object"}
    dashscope_emulator.enqueue(ScriptedReply(text="not json"))
    bad = chat.with_structured_output(Person, method="json_mode", include_raw=True).invoke("json")
    assert bad["parsed"] is None
    assert bad["parsing_error"] is not None


def test_json_schema_strict_flag_reaches_the_wire(
    chat: ChatDashScope, dashscope_emulator: Emulator
) -> None:
    chat.with_structured_output(Person, method="json_schema", strict=True).invoke(PROMPT)
    fmt = dashscope_emulator.requests[-1].json["parameters"]["response_format"]
    assert fmt["json_schema"]["strict"] is True


def test_structured_output_refuses_bad_arguments(chat: ChatDashScope) -> None:
    with pytest.raises(ValueError, match="needs a schema"):
        chat.with_structured_output(None, method="json_schema")
    with pytest.raises(ValueError, match="method must be"):
        chat.with_structured_output(Person, method="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported arguments"):
        chat.with_structured_output(Person, foo=1)
