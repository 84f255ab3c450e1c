"""Every declared connection setting given to any adapter class reaches the core client it builds.

``test_adapter_declaration.py`` checks each class *has* the fields; this checks that a value
set on the field is what the client (its config and both transports' pools) actually uses, on
every class of both frameworks that holds connection settings (models,
apps, knowledge-base retrievers), and that ``max_connections`` sizes the sync pool and the
async connector (issue 9: "today 100 is hard-coded in _async.py").
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from test_adapter_declaration import _classes

from dashscope_ws import DashScopeClient
from dashscope_ws.settings import CONNECTION_SETTINGS

# A non-default value for every declared connection setting (loopback base_url: no network).
VALUES: dict[str, Any] = {
    "workspace": "ws-settings-reach",
    "base_url": "http://127.0.0.1:9/api/v1",
    "region": "cn-beijing",
    "workspace_in_host": False,
    "timeout": 7.0,
    "connect_timeout": 3.0,
    "total_timeout": 11.0,
    "stream_timeout": 13.0,
    "max_response_bytes": 12345,
    "max_retries": 5,
    "allow_insecure_http": True,
    "proxy": "http://127.0.0.1:8/",
    "verify": False,
    "trust_env": False,
    "max_connections": 7,
}


def test_every_declared_setting_has_a_test_value() -> None:
    assert {s.name for s in CONNECTION_SETTINGS} == set(VALUES)


def _pools(client: DashScopeClient) -> tuple[int, int]:
    sync = client._sync._get_session().get_adapter("https://x")  # type: ignore[attr-defined]

    async def connector_limit() -> int:
        session = await client._async._session()  # type: ignore[attr-defined]
        try:
            return int(session.connector.limit)
        finally:
            await client.aclose()

    return sync._pool_maxsize, asyncio.run(connector_limit())


def test_max_connections_sizes_both_pools() -> None:
    client = DashScopeClient(api_key="sk-test", max_connections=7)
    assert _pools(client) == (7, 7)
    client.close()


def _all_classes() -> list[tuple[type[Any], tuple[Any, ...]]]:
    import langchain_dashscope_ws as lc
    import llamaindex_dashscope_ws as li

    return [(cls, ()) for cls in _classes()] + [
        (lc.Tongyi, ()),
        (lc.ChatDashScopeApp, ()),
        (lc.DashScopeKnowledgeBaseRetriever, ()),
        (li.DashScopeAppQueryEngine, ("app-1",)),
        (li.DashScopeAppChatEngine, ("app-1",)),
        (li.DashScopeKnowledgeBaseRetriever, ("idx-1",)),
    ]


def _client_of(obj: Any) -> DashScopeClient:
    if hasattr(obj, "_get_client"):  # pydantic classes hold their settings themselves
        return obj._get_client()  # type: ignore[no-any-return]
    return obj.connection.client()  # type: ignore[no-any-return]  # LlamaIndex engines


@pytest.mark.parametrize("index", range(12))
def test_settings_on_an_adapter_reach_its_client(index: int) -> None:
    cls, args = _all_classes()[index]
    extra: dict[str, Any] = {}
    if cls.__name__ == "ChatDashScopeApp":
        extra["app_id"] = "app-1"
    elif cls.__name__ == "DashScopeKnowledgeBaseRetriever" and not args:
        extra["index_id"] = "idx-1"
    obj = cls(*args, api_key="sk-test", **extra, **VALUES)
    client = _client_of(obj)
    config = client.config
    for name, value in VALUES.items():
        if name in ("region",):  # base_url wins over region (documented)
            continue
        assert getattr(config, name) == value, name
    assert _pools(client) == (7, 7)
    client.close()
