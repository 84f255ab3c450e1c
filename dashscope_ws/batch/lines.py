"""Pure batch-file logic: request lines, splitting within the limits, results, state.

Wire facts (sources):

* Input line ``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body": {...}}``,
  one JSON object per line, ``body.model`` the same on every line of a file, ``url`` equal
  to the batch's ``endpoint`` — CONFIRMED by the DashScope page "OpenAI兼容-Batch"
  (help.aliyun.com/zh/model-studio/batch-interfaces-compatible-with-openai, sample
  ``test_model.jsonl``) and the ``openai`` SDK (``types/batch_create_params.py``).
* Limits 50,000 lines, 500 MB per file, 6 MB per line, one model per file — from the same
  DashScope page as quoted in issue 14 (an older revision said 100 MB); enforced here before
  any upload so a bad row fails fast with its ``custom_id``.
* Embeddings lines (``/v1/embeddings``, ``text-embedding-v4``) — CONFIRMED supported (same
  page, model list); one text per line is our choice (the endpoint accepts a list, but one
  text per ``custom_id`` keeps mapping and partial failure per row).
* Output/error file lines ``{"id", "custom_id", "response": {"status_code", "request_id",
  "body"}, "error": {"code", "message"} | null}`` — the OpenAI batch output format the
  DashScope page links to; ASSUMED to be identical on DashScope. Parsing is tolerant: a row
  is failed when ``error`` is set *or* ``status_code`` is not 200, and a row present in
  neither file is reported failed (``code="MissingResult"``), never dropped.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CHAT_ENDPOINT",
    "EMBEDDINGS_ENDPOINT",
    "MAX_FILE_BYTES",
    "MAX_LINES",
    "MAX_LINE_BYTES",
    "BatchLineError",
    "BatchPart",
    "BatchResult",
    "BatchState",
    "RequestLine",
    "chat_lines",
    "embedding_lines",
    "map_results",
    "split_lines",
]

CHAT_ENDPOINT = "/v1/chat/completions"
EMBEDDINGS_ENDPOINT = "/v1/embeddings"
MAX_LINES = 50_000
MAX_FILE_BYTES = 500 * 1024**2
MAX_LINE_BYTES = 6 * 1024**2

MessageConverter = Callable[[Any], Mapping[str, Any]]


@dataclass(frozen=True)
class RequestLine:
    """One line of a batch input file.

    Example:
        >>> RequestLine("7", "/v1/embeddings", {"model": "m", "input": "hi"}).encode()
        b'{"custom_id":"7","method":"POST","url":"/v1/embeddings","body":{"model":"m","input":"hi"}}\\n'
    """

    custom_id: str
    url: str
    body: Mapping[str, Any]

    @property
    def model(self) -> str:
        """The line's ``body.model``."""
        return str(self.body.get("model", ""))

    def encode(self) -> bytes:
        """The JSONL line (compact, UTF-8, newline-terminated)."""
        line = {"custom_id": self.custom_id, "method": "POST", "url": self.url, "body": self.body}
        return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _identity(message: Any) -> Mapping[str, Any]:
    if not isinstance(message, Mapping):
        raise TypeError(
            f"expected a message dict, got {type(message).__name__}: pass convert= to turn "
            "framework messages into {'role', 'content'} dicts"
        )
    return message


def chat_lines(
    conversations: Iterable[Sequence[Any]],
    *,
    model: str,
    convert: MessageConverter | None = None,
    start: int = 0,
    **parameters: Any,
) -> Iterator[RequestLine]:
    """One ``/v1/chat/completions`` line per conversation; ``custom_id`` is its position.

    ``convert`` turns one framework message (LangChain, LlamaIndex) into an OpenAI-style dict;
    the adapters pass theirs. ``parameters`` (temperature, max_tokens, enable_thinking, ...)
    go into every body, ``None`` values dropped. ``endpoint`` (the native-API routing override
    the adapters carry with their parameters) is a client option, never a wire field: a batch
    line always goes to the compatible-mode endpoint.

    Example:
        >>> chat = [[{"role": "user", "content": "Hi"}]]
        >>> next(chat_lines(chat, model="qwen-plus", temperature=0.1)).body["temperature"]
        0.1
    """
    to_dict = convert or _identity
    extra = {k: v for k, v in parameters.items() if v is not None and k != "endpoint"}
    for index, messages in enumerate(conversations, start):
        body = {"model": model, "messages": [dict(to_dict(m)) for m in messages], **extra}
        yield RequestLine(str(index), CHAT_ENDPOINT, body)


def embedding_lines(
    texts: Iterable[str], *, model: str = "text-embedding-v4", start: int = 0, **parameters: Any
) -> Iterator[RequestLine]:
    """One ``/v1/embeddings`` line per text (``dimensions``, ``encoding_format`` ... pass through).

    Example:
        >>> next(embedding_lines(["a"], dimensions=64)).body
        {'model': 'text-embedding-v4', 'input': 'a', 'dimensions': 64}
    """
    extra = {k: v for k, v in parameters.items() if v is not None}
    for index, text in enumerate(texts, start):
        if not isinstance(text, str):
            raise TypeError(f"text {index} is {type(text).__name__}, not str")
        yield RequestLine(str(index), EMBEDDINGS_ENDPOINT, {"model": model, "input": text, **extra})


def split_lines(
    lines: Iterable[RequestLine],
    *,
    max_lines: int = MAX_LINES,
    max_bytes: int = MAX_FILE_BYTES,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[tuple[list[str], bytes]]:
    """Group lines into files within the limits: ``(custom_ids, jsonl_bytes)`` per file.

    A new file starts when the model or endpoint changes (one model per file) or a limit
    would be passed. Order is kept.

    Raises:
        ValueError: a line is larger than ``max_line_bytes`` (named by its ``custom_id``).

    Example:
        >>> lines = embedding_lines(["a", "b", "c"])
        >>> [ids for ids, _ in split_lines(lines, max_lines=2)]
        [['0', '1'], ['2']]
    """
    ids: list[str] = []
    chunks: list[bytes] = []
    size = 0
    key: tuple[str, str] | None = None
    for line in lines:
        data = line.encode()
        if len(data) > max_line_bytes:
            raise ValueError(
                f"batch line {line.custom_id!r} is {len(data)} bytes; the limit is {max_line_bytes}"
            )
        line_key = (line.model, line.url)
        if ids and (line_key != key or len(ids) >= max_lines or size + len(data) > max_bytes):
            yield ids, b"".join(chunks)
            ids, chunks, size = [], [], 0
        key = line_key
        ids.append(line.custom_id)
        chunks.append(data)
        size += len(data)
    if ids:
        yield ids, b"".join(chunks)


@dataclass(frozen=True)
class BatchLineError:
    """Why one row failed.

    Example:
        >>> BatchLineError("Model.AccessDenied", "Model access denied.", 403).code
        'Model.AccessDenied'
    """

    code: str
    message: str
    status: int | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class BatchResult:
    """The outcome of one input row, at its input position.

    Example:
        >>> row = BatchResult(0, "0", {"data": [{"embedding": [0.5]}]})
        >>> row.ok, row.embedding
        (True, [0.5])
    """

    index: int
    custom_id: str
    body: Mapping[str, Any] | None = None
    error: BatchLineError | None = None

    @property
    def ok(self) -> bool:
        """True when the row has an answer."""
        return self.error is None and self.body is not None

    @property
    def text(self) -> str | None:
        """A chat row's reply text (``choices[0].message.content``)."""
        try:
            return str(self.body["choices"][0]["message"]["content"])  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return None

    @property
    def embedding(self) -> list[float] | None:
        """An embeddings row's vector (``data[0].embedding``)."""
        try:
            return list(self.body["data"][0]["embedding"])  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return None


def _row(line: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, BatchLineError | None]:
    response = line.get("response") if isinstance(line.get("response"), Mapping) else {}
    assert isinstance(response, Mapping)
    body = response.get("body") if isinstance(response.get("body"), Mapping) else None
    status = response.get("status_code")
    request_id = response.get("request_id") or (body or {}).get("id")
    error = line.get("error")
    if not isinstance(error, Mapping) and isinstance((body or {}).get("error"), Mapping):
        error = body["error"]  # type: ignore[index]
    if isinstance(error, Mapping) or (status is not None and status != 200):
        detail = error if isinstance(error, Mapping) else {}
        return None, BatchLineError(
            code=str(detail.get("code") or detail.get("type") or "BatchLineFailed"),
            message=str(detail.get("message") or f"status {status}"),
            status=int(status) if isinstance(status, int) else None,
            request_id=str(request_id) if request_id else None,
        )
    return body, None


def map_results(
    ids: Sequence[str], files: Iterable[bytes], *, previous: Mapping[str, BatchResult] | None = None
) -> list[BatchResult]:
    """Results for ``ids`` (input order) from output/error file contents.

    A row in no file is failed with ``MissingResult`` (still pending or lost), never dropped.
    ``previous`` results (from earlier attempts) fill rows this attempt did not include.

    Example:
        >>> out = b'{"custom_id":"1","response":{"status_code":200,"body":{"x":1}},"error":null}\\n'
        >>> [(r.custom_id, r.ok) for r in map_results(["0", "1"], [out])]
        [('0', False), ('1', True)]
    """
    found: dict[str, BatchResult] = dict(previous or {})
    wanted = set(ids)
    for content in files:
        for raw in content.splitlines():
            if not raw.strip():
                continue
            line = json.loads(raw)
            custom_id = str(line.get("custom_id"))
            if custom_id not in wanted:
                continue
            body, error = _row(line)
            found[custom_id] = BatchResult(0, custom_id, body, error)
    missing = BatchLineError("MissingResult", "no output or error line for this row")
    return [
        BatchResult(i, cid, found[cid].body, found[cid].error)
        if cid in found
        else BatchResult(i, cid, None, missing)
        for i, cid in enumerate(ids)
    ]


@dataclass
class BatchPart:
    """One uploaded file and the batch job running it."""

    file_id: str
    batch_id: str
    custom_ids: list[str]
    attempt: int = 0


@dataclass
class BatchState:
    """What is needed to find a submission again after the process died (a small JSON file).

    Example:
        >>> state = BatchState("/v1/embeddings", [BatchPart("file-1", "batch_1", ["0", "1"])])
        >>> BatchState.from_json(state.to_json()) == state
        True
    """

    endpoint: str
    parts: list[BatchPart] = field(default_factory=list)
    workspace: str | None = None
    path: str | None = None

    def to_json(self) -> str:
        """Serialise (the ``path`` itself is not stored)."""
        data = asdict(self)
        data.pop("path")
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, *, path: str | None = None) -> BatchState:
        """Parse :meth:`to_json` output."""
        data = json.loads(text)
        parts = [BatchPart(**p) for p in data.pop("parts")]
        return cls(**data, parts=parts, path=path)

    def save(self) -> None:
        """Write atomically to ``path`` (no-op without one): a crash never leaves half a file."""
        if self.path is None:
            return
        target = Path(self.path)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.to_json())
        os.replace(tmp, target)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BatchState:
        """Read a state file written by :meth:`save`."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"), path=os.fspath(path))
