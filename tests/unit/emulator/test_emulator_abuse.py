"""Malformed requests get a 4xx in the service's JSON error shape, never aiohttp's plain text.

Each class of abuse from issue 16 item 8 is sent raw (bodies as bytes, headers by hand).
"""

from __future__ import annotations

import json
import logging
import socket
import time
from typing import Any

import pytest
import requests
from emulator_testkit import EMBED_PATH, MM_PATH, RERANK_PATH, TEXT_PATH, Call

from dashscope_ws.emulator import MAIN_KEY, Emulator, ScriptedReply

GENERIC = "Required parameter(s) missing or invalid, please check the request parameters."
BAD_BODY = "Required body invalid, please check the request body format."


def _service_error(response: requests.Response, status: int | None = None) -> dict[str, Any]:
    """Assert the service's error shape (and a 4xx unless ``status`` says otherwise)."""
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:200]
    body = response.json()
    assert set(body) == {"code", "message", "request_id"}, body
    assert len(body["request_id"]) == 36
    if status is None:
        assert 400 <= response.status_code < 500, (response.status_code, body)
    else:
        assert response.status_code == status, (response.status_code, body)
    return body


def _raw_chat(parameters: str) -> bytes:
    """A text-generation body whose ``parameters`` object is spliced in verbatim."""
    return (
        '{"model":"qwen-plus","input":{"messages":[{"role":"user","content":"Hi"}]},'
        f'"parameters":{parameters}}}'
    ).encode()


NUMERIC = ["n", "max_tokens", "top_logprobs", "top_k", "seed", "temperature", "top_p",
           "presence_penalty", "thinking_budget"]  # fmt: skip
NOT_NUMBERS = ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", '"3"', "true", "null",
               "[1]", "{}", "1" + "0" * 400, "-" + "9" * 400, "0.5"]  # fmt: skip


@pytest.mark.parametrize("name", NUMERIC)
@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_numeric_parameters_of_every_odd_kind_are_a_400(call: Call, name: str, value: str) -> None:
    response = call(TEXT_PATH, _raw_chat(f'{{"{name}":{value}}}'))
    if response.status_code == 200:  # an acceptable value for this parameter (null, 0.5…)
        assert value in ("null", "0.5") or (name == "top_k" and value.startswith("1"))
        return
    body = _service_error(response, 400)
    assert body["code"].startswith("InvalidParameter")


@pytest.mark.parametrize("value", ["1e400", "NaN", "-Infinity"])
def test_non_finite_numbers_anywhere_in_the_body_are_not_json(call: Call, value: str) -> None:
    body = (
        '{"model":"qwen-plus","input":{"messages":[{"role":"user","content":"Hi"}]},'
        f'"parameters":{{"tools":[{{"type":"function","function":{{"name":"f",'
        f'"parameters":{{"type":"object","properties":{{"x":{{"maximum":{value}}}}}}}}}}}]}}}}'
    )
    response = call(TEXT_PATH, body.encode())
    if value == "1e400":  # valid JSON (it reads as inf) in a place the emulator does not check
        assert response.status_code == 200
    else:  # NaN/Infinity are not JSON at all
        assert _service_error(response, 400)["message"] == BAD_BODY


# A configured app (``emulator/apps.py`` default_apps, owned by the main workspace): an unknown
# id is refused with 400 InvalidAppId before the body is read, so it would test nothing here.
APP_PATH = "/apps/app-emu-agent/completion"


@pytest.mark.parametrize("path", [TEXT_PATH, MM_PATH, EMBED_PATH, RERANK_PATH, APP_PATH])
def test_deep_nesting_is_a_400_not_a_recursion_crash(call: Call, path: str) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    body = _service_error(call(path, deep), 400)
    assert body["message"] == BAD_BODY
    nested_param = b'{"model":"qwen-plus","input":{"messages":[{"role":"user","content":"Hi"}]},'
    nested_param += b'"parameters":{"tools":' + b"[" * 50_000 + b"]" * 50_000 + b"}}"
    _service_error(call(path, nested_param), 400)


def test_deep_but_parseable_nesting_is_a_400_too(call: Call) -> None:
    # Shallow enough for the parser, too deep for re-serialising the tools into the prompt.
    tools = '{"a":' * 900 + "1" + "}" * 900
    function = f'{{"name":"f","parameters":{tools}}}'
    body = _raw_chat(f'{{"tools":[{{"type":"function","function":{function}}}]}}')
    response = call(TEXT_PATH, body)
    assert response.status_code in (200, 400)
    assert response.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe\x00garbage", b'{"model":"qwen-plus","input":"\xc3\x28"}', b"not json", b"{"],
    ids=["bom-garbage", "invalid-utf8", "text", "truncated"],
)
def test_invalid_utf8_or_non_json_is_a_400(call: Call, raw: bytes) -> None:
    assert _service_error(call(TEXT_PATH, raw), 400)["message"] == BAD_BODY


@pytest.mark.parametrize("raw", ["[]", "1", '"text"', "null", "true", "[{}]"])
@pytest.mark.parametrize("path", [TEXT_PATH, EMBED_PATH, RERANK_PATH, APP_PATH])
def test_non_object_json_is_a_400(call: Call, raw: str, path: str) -> None:
    assert _service_error(call(path, raw), 400)["message"] == BAD_BODY


WEATHER_TOOL = '[{"type":"function","function":{"name":"weather"}}]'
WRONG_SHAPES = [
    (TEXT_PATH, _raw_chat(f'{{"tools":{WEATHER_TOOL},"tool_choice":{{"function":1}}}}')),
    (TEXT_PATH, _raw_chat(f'{{"tools":{WEATHER_TOOL},"tool_choice":{{"function":[]}}}}')),
    (TEXT_PATH, _raw_chat(f'{{"tools":{WEATHER_TOOL},"tool_choice":{{"function":{{}}}}}}')),
    (TEXT_PATH, _raw_chat(f'{{"tools":{WEATHER_TOOL},"tool_choice":7}}')),
    (TEXT_PATH, _raw_chat("[1]")),
    (TEXT_PATH, _raw_chat('"temperature=0.5"')),
    (APP_PATH, b'{"input":{"messages":[1]}}'),
    (APP_PATH, b'{"input":{"messages":[[]]}}'),
]


@pytest.mark.parametrize(("path", "raw"), WRONG_SHAPES)
def test_values_of_the_wrong_shape_are_a_400(call: Call, path: str, raw: bytes) -> None:
    assert _service_error(call(path, raw), 400)["code"] == "InvalidParameter"


def test_empty_body_is_a_400(call: Call) -> None:
    assert _service_error(call(TEXT_PATH, b""), 400)["message"] == BAD_BODY


def test_an_oversized_header_is_answered_in_the_service_shape(emu: Emulator) -> None:
    response = requests.post(
        emu.base_url + TEXT_PATH,
        data=b"{}",
        headers={"Authorization": f"Bearer {MAIN_KEY}", "X-Padding": "x" * 20_000},
        timeout=30,
    )
    _service_error(response, 400)


def test_a_malformed_request_line_is_answered_in_the_service_shape(emu: Emulator) -> None:
    assert emu.port is not None
    with socket.create_connection((emu.host, emu.port), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/x HTTP/1.1\r\nHost: h\r\nContent-Length: nope\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400"
    assert b"application/json" in head
    assert set(json.loads(body)) == {"code", "message", "request_id"}


def test_a_70_mb_body_is_a_413_in_the_service_shape(emu: Emulator) -> None:
    payload = b'{"model":"qwen-plus","input":{"prompt":"' + b"a" * (70 * 1024 * 1024) + b'"}}'
    try:
        response = requests.post(
            emu.base_url + TEXT_PATH,
            data=payload,
            headers={"Authorization": f"Bearer {MAIN_KEY}", "Content-Type": "application/json"},
            timeout=60,
        )
    except requests.ConnectionError:  # pragma: no cover - the server may close while we send
        pytest.skip("the connection closed before the answer could be read")
    body = _service_error(response, 413)
    assert body == {**body, "code": "BadRequest.TooLarge", "message": "Payload Too Large."}


def test_a_client_leaving_mid_stream_logs_no_traceback(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emu.enqueue(ScriptedReply(text="word " * 400, delay_between_chunks=0.01))
    response = requests.post(
        emu.base_url + TEXT_PATH,
        data=_raw_chat('{"incremental_output":true}'),
        headers={
            "Authorization": f"Bearer {MAIN_KEY}",
            "Content-Type": "application/json",
            "X-DashScope-SSE": "enable",
        },
        stream=True,
        timeout=30,
    )
    assert response.status_code == 200
    next(response.iter_content(64))
    response.close()  # leave with most of the stream unsent
    deadline = time.monotonic() + 20
    while emu.requests[-1].finished is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert emu.requests[-1].finished is not None
    # aiohttp logs after the handler returns: let a later request pass through the server.
    requests.get(emu.url + "/ping", timeout=10)
    time.sleep(0.2)
    noisy = [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]
    assert noisy == [], [r.getMessage() for r in noisy]


# -- every value replaced by every odd value: an answer, never a crash -------------------------

_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "weather city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "enum": ["Paris"], "minLength": 2},
                "n": {"type": "integer", "minimum": 1},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "b": {"anyOf": [{"type": "null"}, {"type": "number", "maximum": 3}]},
            },
            "required": ["city", "n", "tags", "b"],
        },
    },
}
SEEDS: list[tuple[str, dict[str, Any], bool]] = [
    (TEXT_PATH, {"model": "qwen-plus", "input": {"messages": [
        {"role": "system", "content": "be json"},
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "content": "sunny", "tool_call_id": "c1"},
        {"role": "user", "content": "and json?"}]},
     "parameters": {"tools": [_TOOL], "tool_choice": "auto", "stop": ["zz"], "max_tokens": 50,
                    "response_format": {"type": "json_object"}, "seed": 1}}, False),
    (TEXT_PATH, {"model": "qwen-plus", "input": {"messages": [
        {"role": "user", "content": "weather in Paris?"}]},
     "parameters": {"tools": [_TOOL], "tool_choice": {"type": "function", "function": {
         "name": "get_weather"}}, "parallel_tool_calls": True, "incremental_output": True}}, True),
    (MM_PATH, {"model": "qwen3-vl-plus", "input": {"messages": [
        {"role": "user", "content": [{"image": "https://a/b.png", "max_pixels": 10},
                                     {"video": ["https://a/1.jpg"], "fps": 2}, {"text": "hi"}]}]},
     "parameters": {"enable_thinking": True, "thinking_budget": 5}}, True),
    (EMBED_PATH, {"model": "text-embedding-v4", "input": {"texts": ["a", "b"]},
                  "parameters": {"dimension": 64, "text_type": "query"}}, False),
    (RERANK_PATH, {"model": "gte-rerank-v2", "input": {"query": "q", "documents": ["a", "b"]},
                   "parameters": {"top_n": 1, "return_documents": True}}, False),
    (APP_PATH, {"input": {"prompt": "hi", "session_id": "s"},
                "parameters": {"incremental_output": True}}, True),
]  # fmt: skip
ODD_VALUES: list[Any] = [None, True, "x", [1], {"a": 1}, 10**30, 1e300]


def _locations(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else []
    )
    for key, inner in items:
        found += _locations(inner, (*prefix, key))
    return found


def _replaced(body: dict[str, Any], location: tuple[Any, ...], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(body))
    node = copy
    for key in location[:-1]:
        node = node[key]
    node[location[-1]] = value
    return copy


@pytest.mark.parametrize(("path", "body", "stream"), SEEDS, ids=[s[0] for s in SEEDS])
def test_no_value_anywhere_makes_the_emulator_fail(
    call: Call, path: str, body: dict[str, Any], stream: bool
) -> None:
    assert call(path, body, stream=stream).status_code == 200
    failures = []
    for location in _locations(body):
        for value in ODD_VALUES:
            response = call(path, _replaced(body, location, value), stream=stream)
            if response.status_code >= 500 or b'"InternalError"' in response.content:
                failures.append((location, value, response.status_code))
    assert failures == []


# The tokenizer and batch creation are read by the same body reader as chat: the same
# strict-JSON rule (no NaN/Infinity, RFC 8259) and the same deep-nesting answer.
_TOKENIZE = ("/tokenizer", '{"model":"qwen-plus","input":{"prompt":"Hi"},"parameters":{"x":%s}}')
_BATCH = ("/batches", '{"endpoint":"/v1/chat/completions","completion_window":"24h","x":%s}')


@pytest.mark.parametrize(("path", "template"), [_TOKENIZE, _BATCH])
@pytest.mark.parametrize("value", ["NaN", "-Infinity"])
def test_other_endpoints_refuse_non_json_constants_like_chat(
    emu: Emulator, call: Call, path: str, template: str, value: str
) -> None:
    root = emu.url + "/compatible-mode/v1" if path == "/batches" else None
    body = _service_error(call(path, (template % value).encode(), root=root), 400)
    assert body["message"] == BAD_BODY


@pytest.mark.parametrize("path", ["/tokenizer", "/batches"])
def test_other_endpoints_answer_deep_nesting_like_chat(
    emu: Emulator, call: Call, path: str
) -> None:
    root = emu.url + "/compatible-mode/v1" if path == "/batches" else None
    deep = b"[" * 100_000 + b"]" * 100_000
    assert _service_error(call(path, deep, root=root), 400)["message"] == BAD_BODY


def test_batch_upload_reads_forms_like_the_oss_host(emu: Emulator) -> None:
    # One form reader for both upload endpoints: parameter order and header casing do not matter.
    form = (
        b'--b\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        b'--b\r\ncontent-disposition: form-data; filename="in.jsonl"; name="file"\r\n\r\n'
        b'{"custom_id":"1"}\n\r\n--b--\r\n'
    )
    url, auth = emu.url + "/compatible-mode/v1/files", {"Authorization": f"Bearer {MAIN_KEY}"}
    sent = {**auth, "Content-Type": "Multipart/Form-Data; boundary=b"}
    answer = requests.post(url, data=form, headers=sent, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["filename"] == "in.jsonl"
    content = requests.get(f"{url}/{answer.json()['id']}/content", headers=auth, timeout=30)
    assert content.content == b'{"custom_id":"1"}\n'
    plain = requests.post(
        url, data=b"x", headers={**auth, "Content-Type": "text/plain"}, timeout=30
    )
    assert _service_error(plain, 400)["code"] == "InvalidParameter"


def test_a_batch_list_limit_that_is_no_number_is_a_400(emu: Emulator) -> None:
    url = emu.url + "/compatible-mode/v1/batches?limit=many"
    answer = requests.get(url, headers={"Authorization": f"Bearer {MAIN_KEY}"}, timeout=30)
    assert _service_error(answer, 400)["code"] == "InvalidParameter"
