"""`dashscope-ws demo`: one LangChain chain and one LlamaIndex RAG query in a workspace.

With ``DASHSCOPE_API_KEY`` set it runs against the real service in the configured
workspace; without it, against the embedded emulator as the sub-account in
``ws-emu-sub``, so a fresh clone shows the whole stack working with no account.
Imported only by the command line: the core never imports a framework.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any, TextIO

from dashscope_ws.cli import connection
from dashscope_ws.config import ClientConfig

__all__ = ["require_frameworks", "run_demo", "sample_documents"]

CHAT_MODEL = "qwen-plus"
FRAMEWORKS = ("langchain_core", "llama_index.core")
QUESTION = "Which header must requests made with a sub-workspace API key carry?"


def sample_documents() -> list[tuple[str, str]]:
    """The bundled sample corpus as ``(name, text)`` pairs, in name order."""
    folder = resources.files("dashscope_ws") / "samples"
    return sorted(
        (item.name, item.read_text(encoding="utf-8"))
        for item in folder.iterdir()
        if item.name.endswith(".md")
    )


def require_frameworks() -> None:
    """Fail early, with the install command, when an optional framework is missing."""
    missing = [name for name in FRAMEWORKS if not _installed(name)]
    if missing:
        raise ImportError(
            f"the demo needs LangChain and LlamaIndex ({', '.join(missing)} not installed): "
            "pip install 'dashscope-ws[all]'"
        )


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # the parent package is missing
        return False


@contextmanager
def _closed_event_loop() -> Iterator[None]:
    """Lend the main thread an event loop and close it afterwards.

    llama-index's sync query path counts tokens through ``asyncio.get_event_loop()``, which
    silently creates a main-thread loop that nobody closes; its sockets would then leak
    until garbage collection. Leaving no loop set afterwards is what ``asyncio.run`` does too.
    Under a running loop (a notebook) llama-index uses a thread of its own: nothing to lend.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        yield
        return
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def langchain_chain(settings: dict[str, Any], out: TextIO, model: str = CHAT_MODEL) -> str:
    """prompt | ChatDashScope | parser, streamed token by token to ``out``."""
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    from langchain_dashscope_ws import ChatDashScope

    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "Answer in one sentence, using the context."),
            ("human", "Context: {context}\n\nQuestion: {question}"),
        ]
    )
    chain = prompt | ChatDashScope(model=model, **settings) | StrOutputParser()
    context = dict(sample_documents())["workspaces.md"]
    print("== LangChain: prompt | ChatDashScope | StrOutputParser (streamed)", file=out)
    print(f"Q: {QUESTION}", file=out)
    parts = []
    for token in chain.stream({"context": context, "question": QUESTION}):
        parts.append(token)
        print(token, end="", file=out, flush=True)
    print(file=out)
    return "".join(parts)


def llamaindex_rag(
    settings: dict[str, Any], out: TextIO, err: TextIO, model: str = CHAT_MODEL
) -> tuple[str, list[str]]:
    """Index the sample corpus, retrieve, rerank and answer with LlamaIndex."""
    from llama_index.core import Document, VectorStoreIndex

    from llamaindex_dashscope_ws import DashScope, DashScopeEmbedding, DashScopeRerank

    documents = [
        Document(text=text, metadata={"file_name": name}) for name, text in sample_documents()
    ]
    print(f"Embedding {len(documents)} sample documents...", end="", file=err, flush=True)
    index = VectorStoreIndex.from_documents(
        documents, embed_model=DashScopeEmbedding(**settings), show_progress=False
    )
    print(" done.", file=err)
    engine = index.as_query_engine(
        llm=DashScope(model=model, **settings),
        similarity_top_k=4,
        node_postprocessors=[DashScopeRerank(top_n=2, **settings)],
    )
    response = engine.query(QUESTION)
    sources = [str(n.node.metadata.get("file_name")) for n in response.source_nodes]
    print("== LlamaIndex: VectorStoreIndex + DashScopeRerank + DashScope", file=out)
    print(f"Q: {QUESTION}", file=out)
    print(str(response).strip(), file=out)
    for node in response.source_nodes:
        print(f"  source: {node.node.metadata.get('file_name')} (score {node.score:.3f})", file=out)
    return str(response), sources


def run_demo(
    *,
    model: str = CHAT_MODEL,
    workspace: str | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Run both halves of the demo; returns the process exit code."""
    require_frameworks()
    if os.environ.get("DASHSCOPE_API_KEY"):
        # Resolving also validates every DASHSCOPE_* setting before any work starts.
        ws = ClientConfig.resolve(workspace=workspace).workspace
        print(f"Using DashScope with workspace {ws or '(default)'}.", file=err)
    with connection(err, workspace) as settings:
        langchain_chain(settings, out, model)
        print(file=out)
        with _closed_event_loop():
            llamaindex_rag(settings, out, err, model)
    return 0
