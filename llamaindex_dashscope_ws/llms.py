"""``DashScope``: a workspace-aware LlamaIndex ``FunctionCallingLLM`` over the core client.

Each method is "convert in, call :class:`~dashscope_ws.client.DashScopeClient`,
convert out" (see :mod:`llamaindex_dashscope_ws._convert`). Chat is written once;
the completion methods are derived from it with LlamaIndex's decorators so the two
never drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.generic_utils import (
    achat_to_completion_decorator,
    astream_chat_to_completion_decorator,
    chat_to_completion_decorator,
    stream_chat_to_completion_decorator,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import Field

# Re-exported without __all__ by llama-index-core, hence the ignore.
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.llm import (
    LLMStructuredPredictStartEvent,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.prompts import PromptTemplate
from llama_index.core.types import Model

from dashscope_ws._adapter_base import EndpointField
from dashscope_ws._adapter_settings import GenerationFields, lift_parameters
from dashscope_ws._arguments import given_parameters, refuse_fields_in_extra
from dashscope_ws.models import lookup
from dashscope_ws.settings import GENERATION_PARAMETERS
from llamaindex_dashscope_ws._convert import (
    keep_first_tool_call,
    resolve_tool_choice,
    to_wire_messages,
    tool_selections,
    tool_spec,
)
from llamaindex_dashscope_ws._responses import to_chat_response
from llamaindex_dashscope_ws._settings import DashScopeClientSettings
from llamaindex_dashscope_ws._stream import StreamFolder
from llamaindex_dashscope_ws._structured import json_schema_kwargs, structured_result
from llamaindex_dashscope_ws.batch import ChatBatchJobs

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

__all__ = ["DEFAULT_MODEL", "DashScope"]

dispatcher = get_dispatcher(__name__)

DEFAULT_MODEL = "qwen-plus"

# Instance fields sent as wire ``parameters`` (None means "service default": the core
# drops None-valued parameters): the declared generation parameters (one declaration for
# both adapters, same validation) and ``stop``.
_PARAMETER_FIELDS = (*(p.name for p in GENERATION_PARAMETERS), "stop")


class DashScope(
    DashScopeClientSettings, GenerationFields, EndpointField, FunctionCallingLLM, ChatBatchJobs
):
    """Alibaba Cloud DashScope (Model Studio / Qwen) chat models, workspace-aware.

    A drop-in for ``llama_index.llms.dashscope.DashScope`` (``model_name=`` is
    accepted as an alias of ``model``) that honours ``workspace=`` and every
    other argument. Settings left unset resolve from the environment
    (``DASHSCOPE_API_KEY``, ``DASHSCOPE_WORKSPACE``, ``DASHSCOPE_BASE_URL``,
    ``DASHSCOPE_REGION``). Every method also takes per-call ``workspace=``,
    ``model=`` and any DashScope parameter as keyword arguments, without
    changing the instance.

    Args:
        model: model name, e.g. ``"qwen-plus"``, ``"qwen-max"``, ``"qwq-plus"``.
        api_key: API key; stored privately, never in ``repr``/``to_dict``/``to_json``.
        workspace: workspace id (sent as ``X-DashScope-WorkSpace``).
        base_url, region, workspace_in_host, timeout, connect_timeout, max_retries,
            allow_insecure_http: connection settings (see the core); ``close()`` /
            ``aclose()`` or ``with`` / ``async with`` release the cached client.
        temperature, top_p, top_k, max_tokens, seed, stop, repetition_penalty,
            presence_penalty, enable_search, enable_thinking, thinking_budget:
            generation parameters; ``None`` leaves the service default (no
            output cap unless ``max_tokens`` is given).
        additional_kwargs: further wire ``parameters`` sent on every call.

    Example:
        A RAG query in a sub-workspace (the sub-account key must name its own
        workspace):

        >>> from llama_index.core import Document, Settings, VectorStoreIndex
        >>> from llamaindex_dashscope_ws import DashScope, DashScopeEmbedding
        >>> Settings.llm = DashScope(model="qwen-plus", workspace="ws-emu-sub")  # doctest: +SKIP
        >>> Settings.embed_model = DashScopeEmbedding(workspace="ws-emu-sub")  # doctest: +SKIP
        >>> index = VectorStoreIndex.from_documents(
        ...     [Document(text="The Hangzhou office opens at 9am.")]
        ... )  # doctest: +SKIP
        >>> print(index.as_query_engine().query("When does the Hangzhou office open?"))
        ... # doctest: +SKIP
    """

    model: str = Field(default=DEFAULT_MODEL, description="The DashScope model to call.")
    # temperature, top_p, ... come from GenerationFields (dashscope_ws.settings).
    stop: str | list[str] | None = Field(default=None)
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra wire parameters sent on every call."
    )
    # Arguments of llama-index-llms-dashscope, accepted so that only the import changes.
    context_window: int | None = Field(
        default=None, gt=0, description="Override the registry's context window."
    )
    is_function_calling_model: bool | None = Field(
        default=None, description="Override the registry's tool-calling flag."
    )
    incremental_output: bool | None = Field(
        default=None,
        description="Accepted for llama-index-llms-dashscope code; streams are always "
        "incremental (each chunk a delta, `message` the text so far), as that class forced.",
    )

    def __init__(self, model: str | None = None, **kwargs: Any) -> None:
        # The model may be given positionally (as llama-index-llms-dashscope allowed);
        # `model_name=`, `dashscope_api_key=`, ... are mapped by the shared spellings table.
        if model is not None:
            kwargs["model"] = model
        super().__init__(**kwargs)

    @classmethod
    def _normalise(cls, data: dict[str, Any]) -> dict[str, Any]:
        # The LangChain classes' model_kwargs rule, for additional_kwargs: a declared parameter
        # moves to its validated field ({"temperature": 5} is refused like temperature=5), and
        # a field hidden there (workspace, model, ...) is an error, not silently dropped.
        data = lift_parameters(cls.__name__, data, "additional_kwargs", _PARAMETER_FIELDS)
        extra = data.get("additional_kwargs") or {}
        refuse_fields_in_extra(cls.__name__, extra, "additional_kwargs", cls.model_fields)
        return data

    @classmethod
    def class_name(cls) -> str:
        """Serialisation id."""
        return "DashScopeWS_LLM"

    @property
    def metadata(self) -> LLMMetadata:
        """Model limits from the registry, :mod:`dashscope_ws.models` (with sources)."""
        info = lookup(self.model)
        tools = info.tool_calling
        return LLMMetadata(
            context_window=self.context_window or info.context_window,
            num_output=self.max_tokens or info.max_output_tokens,
            is_chat_model=True,
            is_function_calling_model=tools
            if self.is_function_calling_model is None
            else self.is_function_calling_model,
            model_name=self.model,
            system_role=MessageRole.SYSTEM,
        )

    @property
    def input_modalities(self) -> tuple[str, ...]:
        """What the model takes, from the registry (``LLMMetadata`` has no such field).

        Example:
            >>> DashScope(model="qwen3-vl-plus", api_key="sk-x").input_modalities
            ('text', 'image', 'video')
        """
        return lookup(self.model).inputs

    @property
    def is_multimodal(self) -> bool:
        """Whether the model takes images, video or audio, per the registry.

        Example:
            >>> DashScope(model="qwen-vl-max", api_key="sk-x").is_multimodal
            True
        """
        return self.input_modalities != ("text",)

    # ------------------------------------------------------------------ request

    def _call_args(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Wire messages and the core's keyword arguments; the instance is never mutated."""
        call = dict(kwargs)
        options = given_parameters(self, _PARAMETER_FIELDS)
        options.update(self.additional_kwargs)
        options["model"] = call.pop("model", None) or self.model
        options["workspace"] = call.pop("workspace", None)  # None: the instance's workspace
        options["endpoint"] = call.pop("endpoint", None) or self.endpoint
        options.update(call)
        wire = to_wire_messages(messages, model=options["model"], endpoint=options["endpoint"])
        return wire, options

    # ------------------------------------------------------------------ sync

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """One assistant turn. Raises the core's typed ``DashScopeError`` subclasses."""
        return self._chat(messages, **kwargs)

    def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        wire, options = self._call_args(messages, kwargs)
        return to_chat_response(self._get_client().chat(wire, **options))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream cumulative responses (``message`` so far plus ``delta``)."""
        return self._stream_chat(messages, **kwargs)

    def _stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        wire, options = self._call_args(messages, kwargs)
        chunks = self._get_client().stream_chat(wire, **options)

        def gen() -> ChatResponseGen:
            with chunks:  # released if the consumer stops early
                yield from map(StreamFolder().add, chunks)  # no frame of ours per chunk

        return gen()

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Completion derived from :meth:`chat` (same parameters, per-call options too)."""
        return chat_to_completion_decorator(self._chat)(prompt, **kwargs)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Streamed completion derived from :meth:`stream_chat`."""
        return stream_chat_to_completion_decorator(self._stream_chat)(prompt, **kwargs)

    # ------------------------------------------------------------------ async

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async :meth:`chat`."""
        return await self._achat(messages, **kwargs)

    async def _achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        wire, options = self._call_args(messages, kwargs)
        return to_chat_response(await self._get_client().achat(wire, **options))

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """Async :meth:`stream_chat` (``async for r in await llm.astream_chat(...)``)."""
        return await self._astream_chat(messages, **kwargs)

    async def _astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        wire, options = self._call_args(messages, kwargs)
        chunks = self._get_client().astream_chat(wire, **options)

        async def gen() -> ChatResponseAsyncGen:
            folder = StreamFolder()
            async with chunks:  # released if the consumer stops early
                async for chunk in chunks:
                    yield folder.add(chunk)

        return gen()

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        """Async :meth:`complete`."""
        return await achat_to_completion_decorator(self._achat)(prompt, **kwargs)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        """Async :meth:`stream_complete`."""
        return await astream_chat_to_completion_decorator(self._astream_chat)(prompt, **kwargs)

    # ------------------------------------------------------------------ structured output

    def _json_schema_kwargs(
        self, output_cls: type[Model], llm_kwargs: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """Chat kwargs for native json_schema output, or None to use tools (_structured.py)."""
        return json_schema_kwargs(
            output_cls, llm_kwargs, model=self.model, thinking=self.enable_thinking,
            mode=self.pydantic_program_mode,
        )  # fmt: skip

    def _json_schema_start(
        self, output_cls: type[Model], prompt: PromptTemplate, prompt_args: dict[str, Any]
    ) -> list[ChatMessage]:
        """Announce a native structured prediction; the messages to send."""
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=prompt_args
            )
        )
        return self._extend_messages(prompt.format_messages(llm=self, **prompt_args))

    @dispatcher.span
    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        """Structured output: native ``json_schema`` where the model has it, else a tool.

        The tool path (a forced, named function) is LlamaIndex's own program; set
        ``pydantic_program_mode=PydanticProgramMode.FUNCTION`` to always use it.

        Raises:
            pydantic.ValidationError: the model's JSON does not match ``output_cls``.
        """
        kwargs = self._json_schema_kwargs(output_cls, llm_kwargs)
        if kwargs is None:
            # The base method is untyped (wrapped by the dispatcher's span decorator).
            by_tool: Model = super().structured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
            return by_tool
        messages = self._json_schema_start(output_cls, prompt, prompt_args)
        return structured_result(output_cls, self.chat(messages, **kwargs))

    @dispatcher.span
    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        """Async :meth:`structured_predict`."""
        kwargs = self._json_schema_kwargs(output_cls, llm_kwargs)
        if kwargs is None:
            by_tool: Model = await super().astructured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
            return by_tool
        messages = self._json_schema_start(output_cls, prompt, prompt_args)
        return structured_result(output_cls, await self.achat(messages, **kwargs))

    # ------------------------------------------------------------------ tools

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Chat arguments offering ``tools`` (OpenAI-style specs).

        ``tool_required`` forces the single offered tool by name; DashScope has
        no "any tool" choice, so requiring one of several tools raises
        ``ValueError`` (name one with ``tool_choice="<name>"`` instead).
        """
        specs = [tool_spec(tool) for tool in tools]
        messages = list(chat_history or [])  # never mutate the caller's history
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        prepared: dict[str, Any] = {"messages": messages, **kwargs}
        if specs:
            prepared["tools"] = specs
            prepared["tool_choice"] = resolve_tool_choice(specs, tool_choice, tool_required)
            prepared["parallel_tool_calls"] = allow_parallel_tool_calls
        return prepared

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        """Keep only the first tool call unless parallel calls were allowed."""
        if not allow_parallel_tool_calls:
            keep_first_tool_call(response)
        return response

    def get_tool_calls_from_response(
        self,
        response: ChatResponse,
        error_on_no_tool_call: bool = True,
        **kwargs: Any,
    ) -> list[ToolSelection]:
        """Tool calls of a response (also the last response of a sync or async stream).

        Arguments are parsed from JSON. With ``error_on_no_tool_call`` (the
        default) a response without calls, or with arguments that are not a
        JSON object, raises ``ValueError``; without it, such arguments become
        ``{}`` (partial JSON from a stream in flight is completed when possible).
        """
        return tool_selections(response.message, error_on_no_tool_call=error_on_no_tool_call)
