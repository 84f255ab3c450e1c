"""What the emulated model says: deterministic replies derived from the conversation.

Rules, in order (docs/emulator.md has the user-facing version):

1. The last message is a tool result -> a reply quoting the tool results.
2. Tools are offered, ``tool_choice`` allows them and the last message is the user's -> tool
   calls: the named tool, or the tools whose name/description share words with the prompt
   (all of them with ``parallel_tool_calls``, else the best). Arguments follow the tool's
   JSON Schema, with values taken from the prompt.
3. ``response_format`` json_schema / json_object -> JSON conforming to the schema / an object.
4. The prompt carries context and a question -> the context sentence that overlaps most with
   the question (words and CJK characters).
5. Otherwise a fixed-form echo of the last user message.

Then ``stop`` sequences cut the text, and ``max_tokens`` truncates it (``finish_reason``
``"length"``). With thinking, a short deterministic ``reasoning_content`` comes first.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .synth import PromptValues, synthesise
from .tokenizer import pieces, tokens, words

__all__ = ["Reply", "message_text", "plan_reply", "tool_call_id"]

_QUESTION = re.compile(
    r"[?？]\s*$|^(?:what|who|whom|whose|when|where|which|why|how|is|are|does|do|can)\b"
    r"|什么|谁|哪|多少|几|吗|怎么|为何|为什么",
    re.IGNORECASE,
)
_SENTENCES = re.compile(r"[^.!?。！？\n]+[.!?。！？]*")


@dataclass
class Reply:
    """A planned assistant turn, before it is serialised to a body or a stream.

    Example:
        >>> Reply(content="Hi").finish_reason
        'stop'
    """

    content: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, str]] = field(default_factory=list)  # {"id","name","arguments"}
    finish_reason: str = "stop"


def message_text(content: Any) -> str:
    """The text of a message ``content`` (a string, or a list of ``{"text": ...}`` parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part["text"])
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        )
    return ""


def tool_call_id(seed: str) -> str:
    """A deterministic id in the service's format: ``call_`` + 22 hex digits."""
    return "call_" + hashlib.blake2b(seed.encode(), digest_size=11).hexdigest()


def _last_user(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message.get("content"))
    return ""


def _tool_functions(tools: Any) -> list[Mapping[str, Any]]:
    out = []
    for tool in tools if isinstance(tools, list) else []:
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            out.append(function)
    return out


_IDENTIFIER_JOINERS = re.compile(r"[_\-.]")


def _choose_tools(
    functions: list[Mapping[str, Any]], tool_choice: Any, prompt: str, parallel: bool
) -> list[Mapping[str, Any]]:
    if tool_choice == "none":
        return []
    if isinstance(tool_choice, Mapping):
        wanted = (tool_choice.get("function") or {}).get("name")
        return [f for f in functions if f["name"] == wanted][:1]
    # Identifiers are compared part by part on both sides, so "magic_function(3)" in a prompt
    # matches a tool named magic_function.
    prompt_words = words(_IDENTIFIER_JOINERS.sub(" ", prompt))

    def score(function: Mapping[str, Any]) -> int:
        name_words = words(_IDENTIFIER_JOINERS.sub(" ", str(function["name"])))
        description = words(str(function.get("description", "")))
        return 2 * len(prompt_words & name_words) + len(prompt_words & description)

    scored = sorted(
        ((score(f), position, f) for position, f in enumerate(functions)),
        key=lambda item: (-item[0], item[1]),
    )
    matching = [f for s, _, f in scored if s > 0]
    return matching if parallel else matching[:1]


def _tool_reply(messages: Sequence[Mapping[str, Any]]) -> str:
    results: list[str] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        results.append(message_text(message.get("content")).strip())
    results.reverse()
    return "Based on the tool results: " + "; ".join(results)


def _extractive(messages: Sequence[Mapping[str, Any]]) -> str | None:
    question = ""
    user_text = _last_user(messages)
    lines = [s.strip() for s in _SENTENCES.findall(user_text) if s.strip()]
    for sentence in reversed(lines):
        if _QUESTION.search(sentence):
            question = sentence
            break
    if not question:
        return None
    context = [s for s in lines if s != question]
    for message in messages:
        if message.get("role") == "system":
            text = message_text(message.get("content"))
            context.extend(s.strip() for s in _SENTENCES.findall(text) if s.strip())
    asked = words(question)
    best, best_score = None, 0
    for sentence in context:
        overlap = len(asked & words(sentence))
        if overlap > best_score:
            best, best_score = sentence, overlap
    return best


def _echo(model: str, messages: Sequence[Mapping[str, Any]]) -> str:
    said = " ".join(_last_user(messages).split())
    snippet = "".join(pieces(said)[:40]).strip()
    if not snippet:
        return f"Hello! I am the emulated {model}. How can I help you?"
    return f'This is the emulated {model} answering: "{snippet}".'


def _reasoning(messages: Sequence[Mapping[str, Any]]) -> str:
    said = "".join(pieces(" ".join(_last_user(messages).split()))[:24]).strip()
    return f"The user wrote: {said}. I will reason step by step and then answer concisely."


def _json_reply(response_format: Mapping[str, Any], prompt: str, fallback: str) -> str | None:
    kind = response_format.get("type")
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        if isinstance(schema, Mapping):
            return json.dumps(synthesise(schema, PromptValues(prompt)), ensure_ascii=False)
        return json.dumps({"answer": fallback}, ensure_ascii=False)
    if kind == "json_object":
        # Like a real model, honour keys the prompt names in quotes ("with 'setup' and
        # 'punchline' keys"); otherwise wrap the text answer.
        keys = list(dict.fromkeys(_QUOTED_KEY.findall(prompt)))
        if keys:
            return json.dumps({key: f"{key}: {fallback}" for key in keys}, ensure_ascii=False)
        return json.dumps({"answer": fallback}, ensure_ascii=False)
    return None


_QUOTED_KEY = re.compile(r"""["'`]([A-Za-z_][A-Za-z0-9_]{0,63})["'`]""")


def _apply_limits(reply: Reply, parameters: Mapping[str, Any]) -> None:
    stop = parameters.get("stop")
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    for sequence in stops:
        if isinstance(sequence, str) and sequence and sequence in reply.content:
            reply.content = reply.content[: reply.content.index(sequence)]
    max_tokens = parameters.get("max_tokens")
    if isinstance(max_tokens, int) and not reply.tool_calls:
        parts = pieces(reply.content)
        if len(tokens(reply.content)) > max_tokens:
            reply.content = "".join(parts[:max_tokens])
            reply.finish_reason = "length"
    budget = parameters.get("thinking_budget")
    if isinstance(budget, int) and reply.reasoning and budget > 0:
        reply.reasoning = "".join(pieces(reply.reasoning)[:budget])


def plan_reply(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    parameters: Mapping[str, Any],
    *,
    thinking: bool,
) -> Reply:
    """Decide the assistant turn for a (validated) request; same input, same output."""
    reply = Reply()
    if thinking:
        reply.reasoning = _reasoning(messages)
    last_role = messages[-1].get("role") if messages else None
    functions = _tool_functions(parameters.get("tools"))
    prompt = _last_user(messages)
    if last_role == "tool":
        reply.content = _tool_reply(messages)
    elif functions and last_role == "user":
        chosen = _choose_tools(
            functions,
            parameters.get("tool_choice", "auto"),
            prompt,
            bool(parameters.get("parallel_tool_calls")),
        )
        seed = json.dumps([model, list(messages)], sort_keys=True, default=str)
        for position, function in enumerate(chosen):
            schema = function.get("parameters")
            arguments = synthesise(
                schema if isinstance(schema, Mapping) else {}, PromptValues(prompt)
            )
            reply.tool_calls.append(
                {
                    "id": tool_call_id(f"{seed}#{position}"),
                    "name": str(function["name"]),
                    "arguments": json.dumps(arguments, ensure_ascii=False),
                }
            )
        if reply.tool_calls:
            reply.finish_reason = "tool_calls"
            return reply
    if not reply.content:
        answer = _extractive(messages) or _echo(model, messages)
        response_format = parameters.get("response_format")
        structured = (
            _json_reply(response_format, prompt, answer)
            if isinstance(response_format, Mapping)
            else None
        )
        reply.content = structured if structured is not None else answer
    _apply_limits(reply, parameters)
    return reply
