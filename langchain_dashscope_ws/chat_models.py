"""``ChatDashScope``: a workspace-aware LangChain chat model over ``DashScopeClient``.

Every method is "convert in, call the core, convert out": messages go through
``_convert``, the request through ``DashScopeClient`` (which owns HTTP, retries and
stream decoding), errors through ``errors.translate_errors``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any, Literal, NamedTuple

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import (
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from dashscope_ws import tokens
from dashscope_ws._adapter_base import EndpointField
from dashscope_ws._adapter_settings import GenerationFields
from dashscope_ws._arguments import given_parameters
from dashscope_ws.adapters import json_schema_response_format, wire_tool_choice
from dashscope_ws.models import lookup
from dashscope_ws.wire import content_text
from langchain_dashscope_ws._convert import (
    StreamConverter,
    message_to_wire,
    messages_to_wire,
    result_to_chat_result,
)
from langchain_dashscope_ws._profile import model_profile
from langchain_dashscope_ws._settings import (
    PARAMETER_FIELDS,
    DashScopeClientSettings,
    QwenModelFields,
    signatures_computed_once,
    with_workspace,
)
from langchain_dashscope_ws.batch import ChatBatchJobs
from langchain_dashscope_ws.errors import translate_errors

__all__ = ["ChatDashScope"]

# Per-call keyword arguments that are not wire parameters.
_CALL_OPTIONS = ("model", "workspace")


class _Call(NamedTuple):
    """One resolved request: what the core is called with (a tuple: built on every call,
    half the cost of a frozen dataclass)."""

    model: str
    workspace: str | None
    messages: list[dict[str, Any]]
    parameters: dict[str, Any]

    def kwargs(self) -> dict[str, Any]:
        return {"model": self.model, "workspace": self.workspace, **self.parameters}

    def inputs(self) -> list[str]:
        """The user turns' texts: a blank one makes a length error a bad request (errors.py)."""
        return [content_text(m.get("content")) for m in self.messages if m["role"] == "user"]


@signatures_computed_once
class ChatDashScope(
    QwenModelFields,
    DashScopeClientSettings,
    GenerationFields,
    EndpointField,
    BaseChatModel,
    ChatBatchJobs,
):
    """Alibaba Cloud DashScope (Model Studio / Qwen) chat model, workspace-aware.

    Settings resolve like the core client: arguments, then ``DASHSCOPE_API_KEY``,
    ``DASHSCOPE_WORKSPACE``, ``DASHSCOPE_BASE_URL``/``DASHSCOPE_REGION``, then defaults.
    Any parameter can be overridden per call (``invoke(..., workspace=..., model=...,
    temperature=...)``); unknown constructor arguments raise instead of being ignored.
    ``max_retries`` is the core client's retry count (429, 5xx and connection errors,
    never after a stream has produced output).

    Example:
        >>> from langchain_core.prompts import ChatPromptTemplate
        >>> from langchain_dashscope_ws import ChatDashScope
        >>> llm = ChatDashScope(model="qwen-plus", workspace="ws-emu-sub")  # doctest: +SKIP
        >>> chain = ChatPromptTemplate.from_template("Say hi to {name}") | llm  # doctest: +SKIP
        >>> chain.invoke({"name": "Ada"}).content  # doctest: +SKIP
        >>> for chunk in llm.stream("Tell me a joke"):  # doctest: +SKIP
        ...     print(chunk.content, end="")
        >>> def get_weather(city: str) -> str:  # doctest: +SKIP
        ...     '''Weather in a city.'''
        ...     return "sunny"
        >>> llm.bind_tools([get_weather]).invoke("Weather?").tool_calls  # doctest: +SKIP
        >>> from pydantic import BaseModel
        >>> class Person(BaseModel):  # doctest: +SKIP
        ...     name: str
        >>> llm.with_structured_output(Person).invoke("Ada Lovelace")  # doctest: +SKIP
    """

    # ------------------------------------------------------------------ model profile

    def _resolve_model_profile(self) -> ModelProfile | None:
        # Called by BaseChatModel only when no `profile=` was given: a user's profile wins.
        return model_profile(lookup(self.model))

    # ------------------------------------------------------------------ LangChain plumbing

    @property
    def _llm_type(self) -> str:
        return "dashscope-chat"

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_dashscope_ws", "chat_models"]

    @property
    def _default_parameters(self) -> dict[str, Any]:
        # Read three times per call (LangChain's _identifying_params and _get_ls_params, and
        # _prepare): the second None filter only when model_kwargs has something to add.
        params = given_parameters(self, PARAMETER_FIELDS)
        if not self.model_kwargs:
            return params
        params.update(self.model_kwargs)
        return {key: value for key, value in params.items() if value is not None}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "workspace": self.workspace, **self._default_parameters}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = {**self._default_parameters, **kwargs}
        ls_params = LangSmithParams(
            ls_provider="dashscope",
            ls_model_name=str(kwargs.get("model") or self.model),
            ls_model_type="chat",
        )
        if isinstance(params.get("temperature"), (int, float)):
            ls_params["ls_temperature"] = params["temperature"]
        if isinstance(params.get("max_tokens"), int):
            ls_params["ls_max_tokens"] = params["max_tokens"]
        stops = stop if stop is not None else params.get("stop")
        if stops:
            ls_params["ls_stop"] = [stops] if isinstance(stops, str) else list(stops)
        return with_workspace(ls_params, kwargs.get("workspace") or self.workspace)

    # ------------------------------------------------------------------ the four methods

    def _prepare(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> _Call:
        kwargs = dict(kwargs)
        kwargs.pop("stream", None)  # LangChain's "please stream" flag, not a parameter
        model = kwargs.pop("model", None) or self.model
        workspace = kwargs.pop("workspace", None)
        parameters = {"endpoint": self.endpoint, **self._default_parameters, **kwargs}
        if stop is not None:
            parameters["stop"] = stop
        if not parameters.get("stop"):
            parameters.pop("stop", None)  # `stop=[]` means "no stop sequences"
        if parameters.get("tool_choice") is not None:
            parameters["tool_choice"] = wire_tool_choice(
                parameters["tool_choice"], parameters.get("tools") or []
            )
        return _Call(
            model=model,
            workspace=workspace,
            messages=messages_to_wire(messages, model=model, endpoint=parameters.get("endpoint")),
            parameters={key: value for key, value in parameters.items() if value is not None},
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._prepare(messages, stop, kwargs)
        with translate_errors(call.inputs()):
            result = self._get_client().chat(call.messages, **call.kwargs())
        return result_to_chat_result(result, model=call.model)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._prepare(messages, stop, kwargs)
        with translate_errors(call.inputs()):
            result = await self._get_client().achat(call.messages, **call.kwargs())
        return result_to_chat_result(result, model=call.model)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call = self._prepare(messages, stop, kwargs)
        converter = StreamConverter(model=call.model)
        # `with`: the connection is released if the consumer stops early.
        with (
            translate_errors(call.inputs()),
            self._get_client().stream_chat(call.messages, **call.kwargs()) as stream,
        ):
            yield from map(converter.generation, stream)  # no frame of ours per chunk
        if (closing := converter.close()) is not None:
            yield ChatGenerationChunk(message=closing)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        call = self._prepare(messages, stop, kwargs)
        converter = StreamConverter(model=call.model)
        with translate_errors(call.inputs()):
            async with self._get_client().astream_chat(call.messages, **call.kwargs()) as stream:
                async for chunk in stream:
                    yield converter.generation(chunk)
        if (closing := converter.close()) is not None:
            yield ChatGenerationChunk(message=closing)

    # ------------------------------------------------------------------ token counting

    def get_token_ids(self, text: str) -> list[int]:
        """Qwen token ids of ``text``, offline (needs ``dashscope-ws[tokens]``)."""
        return tokens.encode(text)

    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[Mapping[str, Any] | type | Callable[..., Any] | BaseTool] | None = None,
    ) -> int:
        """Prompt tokens of ``messages`` with Qwen's chat template (what ``trim_messages``
        uses with ``token_counter=llm``); see :mod:`dashscope_ws.tokens` for accuracy."""
        wire = [message_to_wire(message) for message in messages]
        specs = [convert_to_openai_tool(tool) for tool in tools or ()]
        return tokens.count_message_tokens(wire, model=self.model, tools=specs)

    # ------------------------------------------------------------------ tools and structure

    def bind_tools(
        self,
        tools: Sequence[Mapping[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | bool | Mapping[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (BaseTool, functions, pydantic models, TypedDicts, JSON schemas).

        Args:
            tools: the tools, converted with ``convert_to_openai_tool``.
            tool_choice: ``"auto"``, ``"none"``, a tool name, an OpenAI-style
                ``{"type": "function", "function": {"name": ...}}``, or
                ``"any"``/``"required"``/``True``. DashScope can only force one named
                function, so the last three name the tool when exactly one is bound
                and raise ``ValueError`` when several are (never weakened to "auto").
            parallel_tool_calls: let the model call several tools in one turn.
            strict: passed to ``convert_to_openai_tool``.
            **kwargs: further wire parameters for the bound calls.

        Raises:
            ValueError: a ``tool_choice`` DashScope cannot express (checked here when
                it can be, otherwise before the request is sent).
        """
        formatted = [convert_to_openai_tool(tool, strict=strict) for tool in tools]
        if tool_choice is not None and not (
            tool_choice in ("any", "required") or tool_choice is True
        ):
            wire_tool_choice(tool_choice, formatted)  # fail early on unknown names
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: Mapping[str, Any] | type | None = None,
        *,
        include_raw: bool = False,
        method: Literal["function_calling", "json_schema", "json_mode"] = "function_calling",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Return output shaped by ``schema`` (pydantic class, TypedDict or JSON schema).

        Args:
            schema: the output schema (not needed for ``json_mode``).
            include_raw: return ``{"raw", "parsed", "parsing_error"}`` instead of raising.
            method: ``"function_calling"`` (default: forces a single named tool, which
                every Qwen tool-calling model supports), ``"json_schema"``
                (``response_format={"type": "json_schema", ...}``, on models that offer
                it) or ``"json_mode"`` (``{"type": "json_object"}``; DashScope requires
                the word "json" in the prompt).
            strict: forwarded as the schema's ``strict`` flag.
            **kwargs: not supported; present for signature compatibility.

        Raises:
            ValueError: unknown method or arguments, or a missing schema.
        """
        if kwargs:
            raise ValueError(f"unsupported arguments: {sorted(kwargs)}")
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        # json_mode and json_schema answer in the message text; function_calling in a tool call.
        parser: Runnable[Any, Any] = (
            PydanticOutputParser(pydantic_object=schema)  # type: ignore[arg-type]
            if is_pydantic
            else JsonOutputParser()
        )
        llm: Runnable[LanguageModelInput, Any]
        if method == "json_mode":
            llm = self.bind(
                response_format={"type": "json_object"},
                ls_structured_output_format={"kwargs": {"method": method}, "schema": schema},
            )
        elif schema is None:
            raise ValueError(f"method={method!r} needs a schema")
        elif method == "function_calling":
            tool = convert_to_openai_tool(schema, strict=strict)
            name = tool["function"]["name"]
            llm = self.bind_tools(
                [schema],
                tool_choice=name,
                strict=strict,
                ls_structured_output_format={
                    "kwargs": {"method": method, "strict": strict},
                    "schema": tool,
                },
            )
            parser = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
                if is_pydantic
                else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
            )
        elif method == "json_schema":
            json_schema = convert_to_json_schema(
                dict(schema) if isinstance(schema, Mapping) else schema, strict=strict
            )
            llm = self.bind(
                response_format=json_schema_response_format(json_schema, strict=strict),
                ls_structured_output_format={
                    "kwargs": {"method": method, "strict": strict},
                    "schema": json_schema,
                },
            )
        else:
            raise ValueError(
                f"method must be 'function_calling', 'json_schema' or 'json_mode', not {method!r}"
            )
        if not include_raw:
            return llm | parser
        parsed = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        ).with_fallbacks(
            [RunnablePassthrough.assign(parsed=lambda _: None)], exception_key="parsing_error"
        )
        return RunnableMap(raw=llm) | parsed
