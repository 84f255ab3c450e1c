"""Every declared connection setting given to any adapter class reaches the core client it builds.

``test_adapter_declaration.py`` checks each class *has* the fields; this checks that a value
set on the field is what the client (its config and both transports' pools) actually uses, on
all six classes of both frameworks, and that ``max_connections`` sizes the sync pool and the
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


@pytest.mark.parametrize("index", range(6))
def test_settings_on_an_adapter_reach_its_client(index: int) -> None:
    cls = _classes()[index]
    obj = cls(api_key="sk-test", **VALUES)
    client = obj._get_client()
    config = client.config
    for name, value in VALUES.items():
        if name in ("region",):  # base_url wins over region (documented)
            continue
        assert getattr(config, name) == value, name
    assert _pools(client) == (7, 7)
    client.close()
