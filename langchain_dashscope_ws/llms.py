"""``Tongyi``: a workspace-aware LangChain text-completion ``BaseLLM`` (string in, string out).

The home for langchain-community's ``Tongyi`` users: the same constructor arguments
(``model``/``model_name``, ``api_key``/``dashscope_api_key``, ``top_p``, ``streaming``,
``model_kwargs``, ``max_retries``) so that changing the import line is the migration.
A prompt is sent as one user message to the text-generation endpoint (what the old
class's ``prompt=`` did in the SDK); streaming and async are native (no thread pool), and
errors are the typed exceptions of :mod:`langchain_dashscope_ws.errors` instead of
``ValueError``/``HTTPError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams
from langchain_core.language_models.llms import BaseLLM
from langchain_core.outputs import Generation, GenerationChunk, LLMResult

from dashscope_ws import types
from dashscope_ws._adapter_settings import GenerationFields
from langchain_dashscope_ws._settings import (
    PARAMETER_FIELDS,
    DashScopeClientSettings,
    QwenModelFields,
    signatures_computed_once,
    with_workspace,
)
from langchain_dashscope_ws.errors import translate_errors

__all__ = ["Tongyi"]


def _info(
    finish_reason: str | None, request_id: str | None, usage: types.Usage | None
) -> dict[str, Any]:
    """``generation_info`` with the keys langchain-community's ``Tongyi`` reported."""
    token_usage = dict(usage.raw) if usage is not None and usage.raw else {}
    return {"finish_reason": finish_reason, "request_id": request_id, "token_usage": token_usage}


def _generation(result: types.ChatResult) -> Generation:
    """One non-streamed answer as a ``Generation`` (shared by ``_generate``/``_agenerate``)."""
    info = _info(result.finish_reason, result.request_id, result.usage)
    return Generation(text=result.text, generation_info=info)


@signatures_computed_once
class Tongyi(QwenModelFields, DashScopeClientSettings, GenerationFields, BaseLLM):
    """DashScope (Qwen) as a LangChain text-completion LLM, workspace-aware.

    Settings resolve like :class:`~langchain_dashscope_ws.ChatDashScope` (arguments, then
    ``DASHSCOPE_API_KEY``, ``DASHSCOPE_WORKSPACE``, ...); generation parameters are the
    same fields (``temperature``, ``top_p``, ``max_tokens``, ...), ``model_kwargs`` holds
    other wire parameters, and any of them can be overridden per call.

    Example:
        >>> from langchain_dashscope_ws.llms import Tongyi
        >>> llm = Tongyi(model="qwen-plus", workspace="ws-emu-sub")  # doctest: +SKIP
        >>> llm.invoke("用一句话介绍杭州")  # doctest: +SKIP
        >>> for piece in llm.stream("Tell me a joke"):  # doctest: +SKIP
        ...     print(piece, end="")
    """

    @property
    def _llm_type(self) -> str:
        return "dashscope-tongyi"

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_dashscope_ws", "llms"]

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model, "workspace": self.workspace}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "dashscope"
        params["ls_model_name"] = str(kwargs.get("model") or self.model)
        return with_workspace(params, kwargs.get("workspace") or self.workspace)

    def _call_options(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The core client's keyword arguments for one prompt (the instance is not changed)."""
        call = dict(kwargs)
        call.pop("stream", None)
        options: dict[str, Any] = {name: getattr(self, name) for name in PARAMETER_FIELDS}
        options.update(self.model_kwargs)
        options.update(call)
        if stop is not None:
            options["stop"] = stop
        options["model"] = options.get("model") or self.model
        return {key: value for key, value in options.items() if value not in (None, [])}

    def _llm_result(self, generations: list[list[Generation]]) -> LLMResult:
        return LLMResult(generations=generations, llm_output={"model_name": self.model})

    @staticmethod
    def _wire(prompt: str) -> list[dict[str, Any]]:
        return [{"role": "user", "content": prompt}]

    # ------------------------------------------------------------------ generate

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        generations: list[list[Generation]] = []
        for prompt in prompts:
            if self.streaming:
                folded: GenerationChunk | None = None
                for chunk in self._stream(prompt, stop, run_manager, **kwargs):
                    folded = chunk if folded is None else folded + chunk
                generations.append([folded or GenerationChunk(text="")])
                continue
            options = self._call_options(stop, kwargs)
            with translate_errors([prompt]):
                result = self._get_client().chat(self._wire(prompt), **options)
            generations.append([_generation(result)])
        return self._llm_result(generations)

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        generations: list[list[Generation]] = []
        for prompt in prompts:
            if self.streaming:
                folded: GenerationChunk | None = None
                async for chunk in self._astream(prompt, stop, run_manager, **kwargs):
                    folded = chunk if folded is None else folded + chunk
                generations.append([folded or GenerationChunk(text="")])
                continue
            options = self._call_options(stop, kwargs)
            with translate_errors([prompt]):
                result = await self._get_client().achat(self._wire(prompt), **options)
            generations.append([_generation(result)])
        return self._llm_result(generations)

    # ------------------------------------------------------------------ stream

    @staticmethod
    def _chunk(chunk: types.ChatChunk) -> GenerationChunk:
        # Like the old class: generation_info only on the last chunk (merging ints fails).
        if chunk.finish_reason is None:
            return GenerationChunk(text=chunk.text)
        info = _info(chunk.finish_reason, chunk.request_id, chunk.usage)
        return GenerationChunk(text=chunk.text, generation_info=info)

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        options = self._call_options(stop, kwargs)
        with (
            translate_errors([prompt]),
            self._get_client().stream_chat(self._wire(prompt), **options) as stream,
        ):
            for chunk in stream:
                piece = self._chunk(chunk)
                if run_manager:
                    run_manager.on_llm_new_token(piece.text, chunk=piece)
                yield piece

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        options = self._call_options(stop, kwargs)
        with translate_errors([prompt]):
            async with self._get_client().astream_chat(self._wire(prompt), **options) as stream:
                async for chunk in stream:
                    piece = self._chunk(chunk)
                    if run_manager:
                        await run_manager.on_llm_new_token(piece.text, chunk=piece)
                    yield piece
