"""The model registry: matching, routing on the wire, stream-only, batching, extension,
the wrong-endpoint safety net and the generated docs table."""

from __future__ import annotations

import asyncio
import dataclasses
import doctest
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from dashscope_ws import DashScopeClient, models
from dashscope_ws.config import ClientConfig
from dashscope_ws.emulator import MAIN_KEY, Emulator
from dashscope_ws.errors import (
    APIConnectionError,
    APIStatusError,
    BadRequestError,
    UnsupportedModelError,
    error_from_response,
)
from dashscope_ws.models import (
    BUILTIN_MODELS,
    DEFAULT_MODEL,
    MULTIMODAL_GENERATION_PATH,
    TEXT_GENERATION_PATH,
    ModelInfo,
    awith_endpoint_fallback,
    forget_endpoints,
    generation_endpoint,
    is_wrong_endpoint_error,
    lookup,
    markdown_table,
    other_generation_path,
    register_model,
    remember_endpoint,
    requires_streaming,
    unregister_model,
    with_endpoint_fallback,
)
from dashscope_ws.protocol import build_chat_request, generation_path, parse_chat_response
from dashscope_ws.retrieval import (
    COMPATIBLE_RERANK_MODELS,
    DEFAULT_EMBEDDING_BATCH,
    EMBEDDING_MODELS,
    embedding_batches,
    rerank_uses_compatible_api,
)

ROOT = Path(__file__).resolve().parents[3]
URL_ERROR = "url error, please check url！"
USER = [{"role": "user", "content": "hi"}]
CONFIG = ClientConfig.resolve(api_key="sk-test", base_url="https://dashscope.example", env={})
CHAT_ROWS = [info for info in BUILTIN_MODELS if info.kind == "chat"]


@pytest.fixture(autouse=True)
def registry() -> Iterator[None]:
    """Each test starts from the built-in registry and leaves nothing learned behind."""
    saved = dict(models._registry)
    forget_endpoints()
    yield
    models._update(lambda table: (table.clear(), table.update(saved)))
    forget_endpoints()


def example_name(info: ModelInfo) -> str:
    """A real-looking name of the family (a snapshot for prefixes ending in '-')."""
    return info.prefix + ("2026-01-01" if info.prefix.endswith("-") else "-2026-01-01")


def url_error(status: int = 400) -> APIStatusError:
    return error_from_response(status, "InvalidParameter", URL_ERROR, "req-1")


# --------------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    ("model", "prefix"),
    [
        ("qwen-plus-2025-07-28", "qwen-plus-2025-07-28"),
        ("qwen-plus-2025-01-25", "qwen-plus"),
        ("QWEN3.6-Plus", "qwen3.6-plus"),
        ("qwen3.6-27b", "qwen3.6-"),
        ("qwen3.5-omni-flash", "qwen3.5-omni"),
        ("qwen3-vl-rerank", "qwen3-vl-rerank"),
        ("qwen3-vl-235b-a22b-instruct", "qwen3-vl-"),
        ("qwen3-max-preview", "qwen3-max"),
        ("qwen-vl-max-latest", "qwen-vl"),
        ("text-embedding-v4", "text-embedding-v4"),
    ],
)
def test_the_longest_prefix_wins(model: str, prefix: str) -> None:
    assert lookup(model).prefix == prefix


def test_every_row_is_reachable_by_its_own_prefix_and_prefixes_are_unique() -> None:
    prefixes = [info.prefix for info in BUILTIN_MODELS]
    assert len(prefixes) == len(set(prefixes))
    for info in BUILTIN_MODELS:
        assert lookup(info.prefix) == info, info.prefix
        assert info.source == "assumed" or info.source[0].isalpha(), info.prefix


def test_unknown_names_get_the_safe_default() -> None:
    info = lookup("my-fine-tune")
    assert info is DEFAULT_MODEL
    assert (info.endpoint, info.kind, info.stream_only, info.source) == (
        "text", "chat", False, "assumed"
    )  # fmt: skip
    assert (info.context_window, info.max_output_tokens, info.inputs) == (32_768, 8_192, ("text",))
    assert generation_path("my-fine-tune") == TEXT_GENERATION_PATH
    assert not requires_streaming("my-fine-tune", {})


@pytest.mark.parametrize(
    ("model", "thinking", "stream_only"),
    [
        ("qwen3-235b-a22b-instruct-2507", "none", False),
        ("qwen3-235b-a22b-thinking-2507", "always", True),
        ("qwen3-vl-235b-a22b-thinking", "always", True),
        ("qwen3-32b", "optional", False),
    ],
)
def test_instruct_and_thinking_variants(model: str, thinking: str, stream_only: bool) -> None:
    info = lookup(model)
    assert (info.thinking, info.stream_only) == (thinking, stream_only)
    assert requires_streaming(model, {}) is (stream_only or info.thinking_default)


# --------------------------------------------------------------------------- on the wire


@pytest.mark.parametrize("info", CHAT_ROWS, ids=lambda info: info.prefix)
def test_every_chat_family_is_routed_to_its_endpoint(info: ModelInfo) -> None:
    model = example_name(info)
    assert lookup(model).prefix == info.prefix
    if info.endpoint == "compatible":
        with pytest.raises(UnsupportedModelError, match=r"OpenAI-compatible mode") as caught:
            build_chat_request(CONFIG, model=model, messages=USER, parameters={}, stream=True)
        assert caught.value.model == model
        assert isinstance(caught.value, ValueError)
        return
    request = build_chat_request(CONFIG, model=model, messages=USER, parameters={}, stream=False)
    path = TEXT_GENERATION_PATH if info.endpoint == "text" else MULTIMODAL_GENERATION_PATH
    assert request.url == f"https://dashscope.example/api/v1/{path}"
    content = request.json["input"]["messages"][0]["content"] if request.json else None
    assert content == ("hi" if info.endpoint == "text" else [{"text": "hi"}])


@pytest.mark.parametrize(
    "model", ["qwen3.6-plus", "qwen3.6-flash", "qwen3.7-plus", "qwen3.8-max", "qwen3.5-plus"]
)
def test_the_new_families_go_to_the_multimodal_endpoint(model: str) -> None:
    request = build_chat_request(CONFIG, model=model, messages=USER, parameters={}, stream=True)
    assert request.url.endswith(MULTIMODAL_GENERATION_PATH)


@pytest.mark.parametrize("info", CHAT_ROWS, ids=lambda info: info.prefix)
def test_stream_only_families_are_streamed(info: ModelInfo) -> None:
    model = example_name(info)
    expected = info.stream_only or info.thinking_default
    assert requires_streaming(model, {}) is expected
    assert requires_streaming(model, {"enable_thinking": True}) is True
    assert requires_streaming(model, {"enable_thinking": False}) is info.stream_only


@pytest.mark.parametrize("model", ["qwq-plus", "qvq-max", "qwen-omni-turbo", "qwen3-omni-flash"])
def test_documented_stream_only_models(model: str) -> None:
    assert lookup(model).stream_only


def test_omni_is_refused_by_the_client_before_any_request(dashscope_emulator: Emulator) -> None:
    client = DashScopeClient(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url)
    with client, pytest.raises(UnsupportedModelError, match="'qwen3-omni-flash'"):
        client.chat(USER, model="qwen3-omni-flash")
    assert dashscope_emulator.requests == []


def test_an_endpoint_override_beats_the_registry() -> None:
    request = build_chat_request(
        CONFIG, model="qwen-plus", messages=USER, parameters={}, stream=False, endpoint="multimodal"
    )
    assert request.url.endswith(MULTIMODAL_GENERATION_PATH)
    assert generation_endpoint("qwen-vl-plus", "text") == TEXT_GENERATION_PATH
    assert generation_endpoint("qwen-plus", MULTIMODAL_GENERATION_PATH) == (
        MULTIMODAL_GENERATION_PATH
    )
    with pytest.raises(ValueError, match="endpoint must be one of"):
        generation_endpoint("qwen-plus", "vision")


# --------------------------------------------------------------------------- embeddings, rerank


@pytest.mark.parametrize(
    "info", [i for i in BUILTIN_MODELS if i.kind == "embedding"], ids=lambda i: i.prefix
)
def test_embeddings_are_batched_by_the_registry_cap(info: ModelInfo) -> None:
    assert info.max_batch is not None
    texts = [str(i) for i in range(2 * info.max_batch + 1)]
    sizes = [len(rows) for _, rows in embedding_batches(texts, model=info.prefix)]
    assert sizes == [info.max_batch, info.max_batch, 1]
    assert EMBEDDING_MODELS[info.prefix] == info
    assert info.default_dimension in info.dimensions


def test_a_registered_embedding_model_is_batched_by_its_cap() -> None:
    texts = [str(i) for i in range(7)]
    assert [len(r) for _, r in embedding_batches(texts, model="acme-embed")] == [7]
    assert DEFAULT_EMBEDDING_BATCH >= 7
    register_model(
        "acme-embed", kind="embedding", max_batch=3, dimensions=(8,), default_dimension=8
    )
    assert [len(r) for _, r in embedding_batches(texts, model="acme-embed")] == [3, 3, 1]
    assert EMBEDDING_MODELS.get("acme-embed") is not None
    assert EMBEDDING_MODELS.get("qwen-plus") is None


def test_rerank_endpoints_come_from_the_registry() -> None:
    assert frozenset({"qwen3-rerank"}) == COMPATIBLE_RERANK_MODELS
    assert rerank_uses_compatible_api("qwen3-rerank")
    assert not rerank_uses_compatible_api("gte-rerank-v2")
    assert not rerank_uses_compatible_api("qwen3-vl-rerank")
    assert lookup("gte-rerank-v2").rerank_api == "native"
    assert lookup("qwen-plus").rerank_api is None


# --------------------------------------------------------------------------- extension


def test_register_a_family_by_prefix_keeps_the_rest_of_its_record() -> None:
    info = register_model("Qwen-Plus", endpoint="multimodal")
    assert info.prefix == "qwen-plus"
    assert info.context_window == lookup("qwen-plus-2025-01-25").context_window == 131_072
    assert generation_path("qwen-plus") == MULTIMODAL_GENERATION_PATH
    assert generation_path("qwen-plus-latest") == TEXT_GENERATION_PATH  # longer prefix
    unregister_model("qwen-plus")
    assert lookup("qwen-plus").prefix == ""


def test_register_a_full_record_and_bad_registrations() -> None:
    record = ModelInfo("acme-", endpoint="multimodal", inputs=("text", "video"), source="mine")
    assert register_model(record) is record
    assert lookup("acme-video-1") is record
    with pytest.raises(TypeError):
        register_model(record, endpoint="text")
    with pytest.raises(ValueError, match="unknown ModelInfo fields"):
        register_model("acme-", context=5)
    with pytest.raises(ValueError, match="endpoint must be one of"):
        register_model("acme-", endpoint="vision")
    with pytest.raises(ValueError, match="inputs must include 'text'"):
        register_model("acme-", inputs=("image",))
    with pytest.raises(ValueError, match="non-empty"):
        register_model("  ")


def test_registration_is_visible_to_other_threads() -> None:
    seen: list[str] = []
    register_model("acme-thread", endpoint="multimodal")
    worker = threading.Thread(target=lambda: seen.append(generation_path("acme-thread-x")))
    worker.start()
    worker.join()
    assert seen == [MULTIMODAL_GENERATION_PATH]


# --------------------------------------------------------------------------- safety net


def test_url_error_is_recognised_exactly() -> None:
    assert is_wrong_endpoint_error(url_error())
    assert isinstance(url_error(), BadRequestError)
    assert not is_wrong_endpoint_error(url_error(404))
    assert not is_wrong_endpoint_error(
        error_from_response(400, "InvalidParameter", "Model not exist.", None)
    )
    assert not is_wrong_endpoint_error(error_from_response(400, "Arrearage", URL_ERROR, None))
    assert not is_wrong_endpoint_error(APIConnectionError("url error"))
    assert not is_wrong_endpoint_error(ValueError(URL_ERROR))


def test_other_generation_path() -> None:
    assert other_generation_path(TEXT_GENERATION_PATH) == MULTIMODAL_GENERATION_PATH
    assert other_generation_path(MULTIMODAL_GENERATION_PATH) == TEXT_GENERATION_PATH
    with pytest.raises(ValueError, match="not a native generation path"):
        other_generation_path("chat/completions")


def test_remembered_endpoints_route_and_can_be_forgotten() -> None:
    remember_endpoint("Acme-New", MULTIMODAL_GENERATION_PATH)
    assert generation_path("acme-new") == MULTIMODAL_GENERATION_PATH
    assert generation_endpoint("acme-new", "text") == TEXT_GENERATION_PATH  # override wins
    forget_endpoints()
    assert generation_path("acme-new") == TEXT_GENERATION_PATH
    with pytest.raises(ValueError, match="not a native generation path"):
        remember_endpoint("acme-new", "chat/completions")


def test_remember_is_thread_safe() -> None:
    def learn(start: int) -> None:
        for i in range(start, start + 200):
            remember_endpoint(f"m{i}", MULTIMODAL_GENERATION_PATH)

    workers = [threading.Thread(target=learn, args=(n * 200,)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert all(generation_path(f"m{i}") == MULTIMODAL_GENERATION_PATH for i in range(800))


class Sender:
    """Fails the first ``failures`` calls with ``error``, then answers with the path."""

    def __init__(self, error: Exception, failures: int = 1) -> None:
        self.error, self.failures, self.paths = error, failures, []  # type: ignore[var-annotated]

    def __call__(self, path: str) -> str:
        self.paths.append(path)
        if len(self.paths) <= self.failures:
            raise self.error
        return path


def test_fallback_retries_once_on_the_other_path_and_remembers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    send = Sender(url_error())
    with caplog.at_level(logging.WARNING, logger="dashscope_ws"):
        assert with_endpoint_fallback("acme-vl", send) == MULTIMODAL_GENERATION_PATH
    assert send.paths == [TEXT_GENERATION_PATH, MULTIMODAL_GENERATION_PATH]
    assert "acme-vl" in caplog.text
    assert "req-1" in caplog.text
    assert generation_path("acme-vl") == MULTIMODAL_GENERATION_PATH
    again = Sender(url_error(), failures=0)
    with_endpoint_fallback("acme-vl", again)
    assert again.paths == [MULTIMODAL_GENERATION_PATH]


def test_fallback_retries_exactly_once() -> None:
    send = Sender(url_error(), failures=5)
    with pytest.raises(BadRequestError, match="url error"):
        with_endpoint_fallback("qwen-plus", send)
    assert send.paths == [TEXT_GENERATION_PATH, MULTIMODAL_GENERATION_PATH]
    assert generation_path("qwen-plus") == TEXT_GENERATION_PATH  # nothing learned


@pytest.mark.parametrize(
    "error",
    [
        error_from_response(400, "InvalidParameter", "Model not exist.", None),
        error_from_response(429, "Throttling", URL_ERROR, None),
    ],
)
def test_fallback_leaves_other_errors_alone(error: APIStatusError) -> None:
    send = Sender(error)
    with pytest.raises(type(error)):
        with_endpoint_fallback("qwen-plus", send)
    assert send.paths == [TEXT_GENERATION_PATH]


def test_fallback_never_second_guesses_an_override() -> None:
    send = Sender(url_error())
    with pytest.raises(BadRequestError):
        with_endpoint_fallback("qwen-plus", send, override="multimodal")
    assert send.paths == [MULTIMODAL_GENERATION_PATH]


def test_fallback_never_retries_after_output() -> None:
    # A stream that already produced output fails with something else than the
    # pre-output url error: the sender raised after the first chunk, nothing is retried.
    chunks: list[str] = []

    def send(path: str) -> None:
        chunks.append("partial")
        raise APIConnectionError("connection reset mid-stream")

    with pytest.raises(APIConnectionError):
        with_endpoint_fallback("qwen-plus", send)
    assert chunks == ["partial"]


def test_async_fallback() -> None:
    send = Sender(url_error())

    async def asend(path: str) -> str:
        return send(path)

    assert asyncio.run(awith_endpoint_fallback("acme-av", asend)) == MULTIMODAL_GENERATION_PATH
    assert send.paths == [TEXT_GENERATION_PATH, MULTIMODAL_GENERATION_PATH]
    assert generation_path("acme-av") == MULTIMODAL_GENERATION_PATH


def test_fallback_against_the_emulator(dashscope_emulator: Emulator) -> None:
    # A stale registry sends a VL model to the text path: the emulator answers as the
    # service does (400 url error), the retry lands on the multimodal path.
    register_model("qwen-vl-plus", endpoint="text")
    config = ClientConfig.resolve(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url, env={})

    def send(path: str) -> Any:
        request = build_chat_request(
            config, model="qwen-vl-plus", messages=USER, parameters={}, stream=False,
            endpoint=path,
        )  # fmt: skip
        # Sent outside the client: set the key the client would (the transport writes it).
        request = dataclasses.replace(request, api_key=config.api_key)
        answer = requests.post(
            request.url, headers=request.wire_headers(), data=request.content, timeout=10
        )
        return parse_chat_response(
            answer.status_code, dict(answer.headers), answer.content, model="qwen-vl-plus"
        )

    result = with_endpoint_fallback("qwen-vl-plus", send)
    assert result.text
    paths = [r.path for r in dashscope_emulator.requests]
    assert paths == ["/api/v1/" + TEXT_GENERATION_PATH, "/api/v1/" + MULTIMODAL_GENERATION_PATH]
    with_endpoint_fallback("qwen-vl-plus", send)
    assert dashscope_emulator.requests[-1].path == "/api/v1/" + MULTIMODAL_GENERATION_PATH
    assert len(dashscope_emulator.requests) == 3


# --------------------------------------------------------------------------- docs


def test_docs_hold_exactly_the_generated_table() -> None:
    docs = (ROOT / "docs" / "models.md").read_text(encoding="utf-8")
    table = markdown_table()
    assert table in docs
    rows_in_docs = [line for line in docs.splitlines() if line.startswith("| `")]
    assert rows_in_docs == [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows_in_docs) == len(BUILTIN_MODELS)


def test_the_table_shows_each_rows_source_and_limits() -> None:
    table = markdown_table()
    for info in BUILTIN_MODELS:
        [line] = [row for row in table.splitlines() if row.startswith(f"| `{info.prefix}` |")]
        assert line.endswith(f"| {info.source} |")
        assert f"{info.context_window:,}" in line


def test_python_m_prints_the_table() -> None:
    out = subprocess.run(
        [sys.executable, "-W", "error", "-m", "dashscope_ws.models"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    assert out.stdout == markdown_table()
    assert out.stderr == ""


@pytest.mark.parametrize("module", ["dashscope_ws.models", "dashscope_ws.models._table"])
def test_docstring_examples_hold(module: str) -> None:
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
