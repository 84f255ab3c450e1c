"""Permissions and quotas: wire shapes, pagination, tolerance, and the emulator's limits."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest

from dashscope_ws import DashScopeClient
from dashscope_ws._sync import RawResponse
from dashscope_ws.config import ClientConfig
from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator, EmulatorConfig
from dashscope_ws.emulator.quotas import QuotaDesk
from dashscope_ws.errors import NotFoundError, RateLimitError
from dashscope_ws.protocol import HTTPRequest
from dashscope_ws.workspace import (
    Page,
    WorkspaceMethods,
    build_permissions_request,
    build_quotas_request,
    parse_permissions_page,
    parse_quotas_page,
)

T = TypeVar("T")
HI = [{"role": "user", "content": "hi"}]


def _raw(payload: Any, status: int = 200) -> RawResponse:
    return RawResponse(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())


def _query(request: HTTPRequest) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url).query)


# ----------------------------------------------------------------------------- wire


def test_permissions_request_asks_for_authorized_models_200_per_page() -> None:
    config = ClientConfig.resolve(api_key="sk-x", base_url="https://h/api/v1", env={})
    request = build_permissions_request(config, page_no=3, workspace="ws-1")
    assert request.method == "GET"
    assert request.json is None
    assert urlsplit(request.url).path == "/api/v1/models/permissions"
    assert _query(request) == {
        "authorization_scope": ["AUTHORIZED"],
        "page_no": ["3"],
        "page_size": ["200"],
    }
    assert request.headers["X-DashScope-WorkSpace"] == "ws-1"
    with pytest.raises(ValueError, match="page_size"):
        build_permissions_request(config, page_size=201)


def test_quotas_request_names_the_model() -> None:
    config = ClientConfig.resolve(api_key="sk-x", base_url="https://h/api/v1", env={})
    request = build_quotas_request(config, model="qwen-plus")
    assert urlsplit(request.url).path == "/api/v1/quotas"
    assert _query(request) == {"model": ["qwen-plus"], "page_no": ["1"], "page_size": ["20"]}


def test_permissions_page_parses_the_documented_answer() -> None:
    page = parse_permissions_page(
        _raw(
            {
                "request_id": "r",
                "code": None,
                "message": None,
                "success": True,
                "output": {
                    "total": 2,
                    "page_no": 1,
                    "page_size": 20,
                    "permissions": [
                        {
                            "model": "qwen-plus",
                            "name": "通义千问-Plus",
                            "permissions": {"inference": True, "fine_tune": False, "deploy": False},
                        },
                        {
                            "model": "qwen-max",
                            "name": "Qwen-Max",
                            "permissions": {"inference": False},
                        },
                    ],
                },
            }
        )
    )
    assert [(g.model, g.name, g.inference) for g in page.items] == [
        ("qwen-plus", "通义千问-Plus", True),
        ("qwen-max", "Qwen-Max", False),
    ]
    assert page.items[0].permissions["fine_tune"] is False
    assert (page.total, page.page_no, page.page_size, page.next_page_no) == (2, 1, 20, None)


def test_permissions_page_is_tolerant() -> None:
    page = parse_permissions_page(
        _raw(
            {
                "output": {
                    "total": "45",
                    "page_size": "2",
                    "permissions": [{"model": "a"}, {"name": "no id"}, "junk", {"model": "b"}],
                }
            }
        ),
        page_no=4,
    )
    assert [g.model for g in page.items] == ["a", "b"]
    assert page.items[0].inference  # listed as AUTHORIZED, no detail: granted
    assert (page.total, page.page_no, page.page_size, page.next_page_no) == (45, 4, 2, 5)
    empty = parse_permissions_page(_raw({"output": None}))
    assert empty.items == ()
    assert empty.next_page_no is None


def test_quotas_page_workspace_limit_wins_and_periods_scale() -> None:
    page = parse_quotas_page(
        _raw(
            {
                "output": {
                    "total": 2,
                    "quotas": [
                        {
                            "model": "qwen-plus",
                            "workspace_id": "ws-1",
                            "model_limit": {
                                "request_limit": 10,
                                "request_limit_period": 1,
                                "usage_limit": 5000,
                                "usage_limit_field": "total_tokens",
                                "usage_limit_period": 1,
                            },
                            "workspace_limit": {"request_limit": 60, "request_limit_period": 60},
                        },
                        {"model": "qwen-max", "model_limit": {"request_limit": "600"}},
                    ],
                }
            }
        )
    )
    plus, top = page.items
    assert plus.model_limit is not None
    assert (plus.model_limit.rpm, plus.model_limit.tpm) == (600, 300_000)
    assert (plus.source, plus.rpm, plus.tpm) == ("workspace", 60, None)
    assert (top.source, top.rpm, top.tpm, top.workspace_id) == ("account", 600, None, None)


def test_error_answer_raises_the_mapped_error() -> None:
    with pytest.raises(NotFoundError):
        parse_quotas_page(_raw({"code": "NotFound", "message": "Not found!"}, status=404))


class _Canned(WorkspaceMethods):
    """Answers every request with the next canned page, recording the requests."""

    def __init__(self, pages: list[RawResponse]) -> None:
        self.config = ClientConfig.resolve(api_key="sk-x", base_url="https://h/api/v1", env={})
        self.pages = pages
        self.sent: list[HTTPRequest] = []

    def _call(self, request: HTTPRequest, parse: Callable[[RawResponse], T]) -> T:
        self.sent.append(request)
        return parse(self.pages[min(len(self.sent), len(self.pages)) - 1])

    async def _acall(self, request: HTTPRequest, parse: Callable[[RawResponse], T]) -> T:
        return self._call(request, parse)


def _permission_page(models: list[str], **output: Any) -> RawResponse:
    return _raw({"output": {**output, "permissions": [{"model": m} for m in models]}})


def test_pages_are_followed_until_total() -> None:
    client = _Canned(
        [
            _permission_page(["a", "b"], total=3, page_no=1, page_size=2),
            _permission_page(["c"], total=3, page_no=2, page_size=2),
        ]
    )
    assert [g.model for g in client.granted_models()] == ["a", "b", "c"]
    assert [_query(r)["page_no"] for r in client.sent] == [["1"], ["2"]]


async def test_a_service_ignoring_page_no_does_not_loop_forever() -> None:
    client = _Canned([_permission_page(["a", "b"], page_size=2)])  # same page, no total
    assert [g.model for g in await client.agranted_models()] == ["a", "b"]
    assert len(client.sent) == 2  # the second page added nothing new: stop


def test_page_next_rules() -> None:
    assert Page(("a",), total=None, page_no=1, page_size=1).next_page_no == 2
    assert Page(("a",), total=None, page_no=1, page_size=2).next_page_no is None
    assert Page((), total=10, page_no=1, page_size=2).next_page_no is None


# ----------------------------------------------------------------------------- emulator


def test_sub_key_sees_its_grants_main_key_sees_everything(dashscope_emulator: Emulator) -> None:
    with DashScopeClient(
        api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=dashscope_emulator.base_url
    ) as sub:
        granted = {g.model for g in sub.granted_models()}
    assert granted == set(dashscope_emulator.config.grants[SUB_WORKSPACE])
    assert "qwen-long" not in granted
    with DashScopeClient(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url) as main:
        assert "qwen-long" in {g.model for g in main.granted_models()}


def test_emulator_paginates_past_200() -> None:
    extra = {f"custom-{i:03d}": "text" for i in range(250)}
    config = EmulatorConfig.from_dict(
        {"models": extra, "grants": {SUB_WORKSPACE: [*extra, "qwen-plus"]}}
    )
    with (
        Emulator(config) as emu,
        DashScopeClient(api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=emu.base_url) as client,
    ):
        granted = client.granted_models()
        pages = [r for r in emu.requests if r.path == "/api/v1/models/permissions"]
    assert len(granted) == 251
    assert len(pages) == 2


async def test_quotas_from_the_emulator_config_async() -> None:
    config = EmulatorConfig.from_dict(
        {"limits": {SUB_WORKSPACE: {"qwen-plus": {"rpm": 30, "tpm": 9000}}}}
    )
    with Emulator(config) as emu:
        client = DashScopeClient(api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=emu.base_url)
        async with client:
            (plus,) = await client.aquotas("qwen-plus")
            everything = await client.aquotas()
    assert (plus.model, plus.workspace_id, plus.rpm, plus.tpm, plus.source) == (
        "qwen-plus",
        SUB_WORKSPACE,
        30,
        9000,
        "workspace",
    )
    unlimited = [q for q in everything if q.model == "qwen-max"]
    assert unlimited
    assert unlimited[0].rpm is None
    assert unlimited[0].tpm is None
    assert len(everything) == len(config.grants[SUB_WORKSPACE])  # two pages of 20 followed


def test_emulator_enforces_rpm_with_retry_after() -> None:
    config = EmulatorConfig.from_dict({"limits": {SUB_WORKSPACE: {"qwen-plus": {"rpm": 3}}}})
    with (
        Emulator(config) as emu,
        DashScopeClient(
            api_key=SUB_KEY, workspace=SUB_WORKSPACE, base_url=emu.base_url, max_retries=0
        ) as client,
    ):
        for _ in range(3):
            client.chat(HI, model="qwen-plus")
        with pytest.raises(RateLimitError) as caught:
            client.chat(HI, model="qwen-plus")
        client.chat(HI, model="qwen-turbo")  # another model has its own (no) limit
    error = caught.value
    assert (error.status_code, error.code, error.limit) == (429, "Throttling.RateQuota", "rpm")
    assert error.retry_after is not None
    assert 0 < error.retry_after <= 60


def test_emulator_enforces_tpm_on_streams_and_embeddings() -> None:
    config = EmulatorConfig.from_dict(
        {"limits": {"default": {"text-embedding-v4": {"tpm": 5}, "qwen-plus": {"tpm": 5}}}}
    )
    with (
        Emulator(config) as emu,
        DashScopeClient(api_key=MAIN_KEY, base_url=emu.base_url, max_retries=0) as client,
    ):
        client.embed(["one two three four five six"], model="text-embedding-v4")
        with pytest.raises(RateLimitError) as caught:
            client.embed(["again"], model="text-embedding-v4")
        list(client.stream_chat([{"role": "user", "content": "a b c d e f g"}], model="qwen-plus"))
        with pytest.raises(RateLimitError) as streamed:
            list(client.stream_chat(HI, model="qwen-plus"))
    assert (caught.value.code, caught.value.limit) == ("Throttling.AllocationQuota", "tpm")
    assert streamed.value.limit == "tpm"
    assert streamed.value.retry_after is not None


def test_no_limits_by_default(dashscope_emulator: Emulator) -> None:
    with DashScopeClient(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url) as client:
        for _ in range(30):
            client.chat(HI, model="qwen-plus", max_tokens=1)


def test_window_frees_slots_after_a_minute() -> None:
    now = [1000.0]
    config = EmulatorConfig.from_dict({"limits": {"default": {"qwen-plus": {"rpm": 1}}}})
    desk = QuotaDesk(config, lambda: "r", clock=lambda: now[0])
    headers = {"Authorization": f"Bearer {MAIN_KEY}"}
    body = json.dumps({"model": "qwen-plus", "input": {"messages": HI}}).encode()
    desk._admit(headers, body)
    now[0] += 59.5
    with pytest.raises(Exception, match="Requests rate limit exceeded") as caught:
        desk._admit(headers, body)
    assert getattr(caught.value, "headers", {}) == {"Retry-After": "1"}
    now[0] += 0.5
    desk._admit(headers, body)  # the first request left the window


@pytest.mark.parametrize(
    "limits",
    [
        {"ws": {"qwen-plus": {"rmp": 3}}},
        {"ws": {"qwen-plus": {"rpm": -1}}},
        {"ws": {"qwen-plus": {"tpm": "many"}}},
        {"ws": {"qwen-plus": 3}},
    ],
)
def test_misspelt_limits_are_refused(limits: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="limits"):
        EmulatorConfig.from_dict({"limits": limits})


def test_doctor_names_the_limit_that_was_hit() -> None:
    from dashscope_ws.doctor import diagnose

    config = EmulatorConfig.from_dict({"limits": {"default": {"qwen-plus": {"rpm": 0}}}})
    with Emulator(config) as emu:
        report = diagnose(api_key=MAIN_KEY, base_url=emu.base_url, env={})
    (failure,) = [f for f in report.findings if not f.ok]
    assert failure.detail.startswith(
        "the service is throttling this key (Throttling.RateQuota, requests per minute limit)"
    )
