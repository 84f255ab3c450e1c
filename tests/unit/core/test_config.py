"""ClientConfig: precedence, regions, workspace host, validation, headers, secrecy."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from dashscope_ws.config import (
    REGIONS,
    WORKSPACE_REGIONS,
    ClientConfig,
    SecretStr,
    validate_workspace,
)
from dashscope_ws.http import HTTPRequest

KEY = "sk-config-secret-123"


def resolve(env: dict[str, str] | None = None, **kwargs: Any) -> ClientConfig:
    kwargs.setdefault("api_key", KEY)
    return ClientConfig.resolve(env=env or {}, **kwargs)


def test_defaults() -> None:
    config = resolve()
    assert config.base_url == "https://dashscope.aliyuncs.com/api/v1"
    assert config.workspace is None
    assert config.region is None
    assert config.workspace_in_host is False
    assert (config.timeout, config.connect_timeout, config.max_retries) == (300.0, 10.0, 2)
    assert config.allow_insecure_http is False


def test_environment_used_when_no_arguments() -> None:
    env = {
        "DASHSCOPE_API_KEY": "sk-env",
        "DASHSCOPE_WORKSPACE": "ws_env",
        "DASHSCOPE_BASE_URL": "https://proxy.example.com/",
        "DASHSCOPE_TIMEOUT": "12.5",
        "DASHSCOPE_MAX_RETRIES": "5",
    }
    config = ClientConfig.resolve(env=env)
    assert config.api_key.get_secret_value() == "sk-env"
    assert config.workspace == "ws_env"
    assert config.base_url == "https://proxy.example.com/api/v1"
    assert (config.timeout, config.max_retries) == (12.5, 5)


def test_arguments_beat_environment() -> None:
    env = {
        "DASHSCOPE_API_KEY": "sk-env",
        "DASHSCOPE_WORKSPACE": "ws_env",
        "DASHSCOPE_BASE_URL": "https://env.example.com/api/v1",
        "DASHSCOPE_TIMEOUT": "12",
        "DASHSCOPE_MAX_RETRIES": "5",
        "DASHSCOPE_REGION": "ap-southeast-1",
    }
    config = ClientConfig.resolve(
        api_key="sk-arg", workspace="ws_arg", base_url="https://arg.example.com/api/v1",
        timeout=1, max_retries=0, env=env,
    )  # fmt: skip
    assert config.api_key.get_secret_value() == "sk-arg"
    assert config.workspace == "ws_arg"
    assert config.base_url == "https://arg.example.com/api/v1"
    assert (config.timeout, config.max_retries) == (1.0, 0)


def test_legacy_environment_names() -> None:
    env = {
        "DASHSCOPE_WORKSPACE_ID": "ws_legacy",
        "DASHSCOPE_HTTP_BASE_URL": "https://legacy.example.com/api/v1/",
    }
    config = resolve(env)
    assert config.workspace == "ws_legacy"
    assert config.base_url == "https://legacy.example.com/api/v1"
    # The new names win over the legacy ones.
    env |= {"DASHSCOPE_WORKSPACE": "ws_new", "DASHSCOPE_BASE_URL": "https://new.example.com"}
    config = resolve(env)
    assert (config.workspace, config.base_url) == ("ws_new", "https://new.example.com/api/v1")


def test_env_read_at_resolve_only() -> None:
    env = {"DASHSCOPE_WORKSPACE": "ws_one"}
    config = resolve(env)
    env["DASHSCOPE_WORKSPACE"] = "ws_two"
    assert config.workspace == "ws_one"
    assert config.headers()["X-DashScope-WorkSpace"] == "ws_one"


def test_os_environ_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-os")
    assert ClientConfig.resolve().api_key.get_secret_value() == "sk-from-os"


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("cn-beijing", "https://dashscope.aliyuncs.com/api/v1"),
        ("ap-southeast-1", "https://dashscope-intl.aliyuncs.com/api/v1"),
        ("us-east-1", "https://dashscope-us.aliyuncs.com/api/v1"),
        ("cn-hongkong", "https://cn-hongkong.dashscope.aliyuncs.com/api/v1"),
    ],
)
def test_regions_with_shared_gateway(region: str, url: str) -> None:
    assert REGIONS[region] == url
    assert resolve(region=region).base_url == url
    assert resolve({"DASHSCOPE_REGION": region}).base_url == url


@pytest.mark.parametrize("region", ["eu-central-1", "ap-northeast-1"])
def test_regions_reached_only_through_workspace_host(region: str) -> None:
    config = resolve(region=region, workspace="ws_eu")
    assert config.base_url == f"https://ws_eu.{region}.maas.aliyuncs.com/api/v1"
    assert config.workspace_in_host is True
    with pytest.raises(ValueError, match="workspace"):
        resolve(region=region)


@pytest.mark.parametrize("region", WORKSPACE_REGIONS)
def test_workspace_in_host_for_every_region(region: str) -> None:
    config = resolve(region=region, workspace="ws1", workspace_in_host=True)
    assert config.base_url == f"https://ws1.{region}.maas.aliyuncs.com/api/v1"


def test_workspace_in_host_default_region_and_per_call_workspace() -> None:
    config = resolve(workspace="ws1", workspace_in_host=True)
    assert config.base_url == "https://ws1.cn-beijing.maas.aliyuncs.com/api/v1"
    assert config.url("a/b") == "https://ws1.cn-beijing.maas.aliyuncs.com/api/v1/a/b"
    assert config.url("a/b", workspace="ws2") == (
        "https://ws2.cn-beijing.maas.aliyuncs.com/api/v1/a/b"
    )
    assert config.compatible_url("reranks", workspace="ws2") == (
        "https://ws2.cn-beijing.maas.aliyuncs.com/compatible-api/v1/reranks"
    )
    headers = config.headers(workspace="ws2")
    assert headers["X-DashScope-WorkSpace"] == "ws2"  # sent in host mode too


def test_workspace_in_host_ignores_env_base_url_but_not_argument() -> None:
    config = resolve(
        {"DASHSCOPE_BASE_URL": "https://env/api/v1"}, workspace="w", workspace_in_host=True
    )
    assert config.base_url == "https://w.cn-beijing.maas.aliyuncs.com/api/v1"
    with pytest.raises(ValueError, match="base_url"):
        resolve(workspace="w", workspace_in_host=True, base_url="https://x")
    with pytest.raises(ValueError, match="workspace"):
        resolve(workspace_in_host=True)


def test_base_url_beats_region() -> None:
    config = resolve(base_url="https://x.example.com/api/v1", region="ap-southeast-1")
    assert config.base_url == "https://x.example.com/api/v1"


def test_url_and_compatible_url_on_loopback() -> None:
    config = resolve(base_url="http://127.0.0.1:8123")
    assert config.url("/services/x") == "http://127.0.0.1:8123/api/v1/services/x"
    assert config.compatible_url("reranks") == "http://127.0.0.1:8123/compatible-api/v1/reranks"
    # A per-call workspace never changes the host outside workspace-host mode.
    assert config.url("x", workspace="ws9") == "http://127.0.0.1:8123/api/v1/x"


@pytest.mark.parametrize(
    "bad",
    ["ws\r\nX: y", "ws\n", "", "-ws", "ws.1", "ws 1", "a" * 65, "工作空间"],
)
def test_invalid_workspace(bad: str) -> None:
    with pytest.raises(ValueError, match="workspace"):
        validate_workspace(bad)
    with pytest.raises(ValueError, match="workspace"):
        resolve(workspace=bad) if bad else resolve(workspace=bad, workspace_in_host=True)


@pytest.mark.parametrize("good", ["ws_QTggmeAxxxxx", "llm-abc123", "a", "A" * 64])
def test_valid_workspace(good: str) -> None:
    assert validate_workspace(good) == good


def test_per_call_workspace_validated() -> None:
    config = resolve()
    with pytest.raises(ValueError, match="workspace"):
        config.headers(workspace="ws\r\nX-Injected: 1")
    with pytest.raises(ValueError, match="workspace"):
        config.url("x", workspace="bad ws")


@pytest.mark.parametrize("env", [{}, {"DASHSCOPE_API_KEY": ""}, {"DASHSCOPE_API_KEY": "  "}])
def test_missing_api_key(env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="DASHSCOPE_API_KEY"):
        ClientConfig.resolve(env=env)


def test_api_key_with_line_break_rejected() -> None:
    with pytest.raises(ValueError, match="line break") as info:
        resolve(api_key="sk-abc\r\nX: y")
    assert "sk-abc" not in str(info.value)


@pytest.mark.parametrize("url", ["ftp://x/api/v1", "dashscope.aliyuncs.com", "https://"])
def test_base_url_must_be_http(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        resolve(base_url=url)


def test_unknown_region_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"cn-beijing.*ap-northeast-1"):
        resolve(region="mars-1")
    with pytest.raises(ValueError, match="unknown region"):
        resolve({"DASHSCOPE_REGION": "mars-1"})


@pytest.mark.parametrize(
    "kwargs",
    [{"timeout": -1}, {"max_retries": -1}, {"connect_timeout": -0.5}],
)
def test_negative_numbers(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="negative"):
        resolve(**kwargs)


@pytest.mark.parametrize(
    ("name", "value"), [("DASHSCOPE_TIMEOUT", "soon"), ("DASHSCOPE_MAX_RETRIES", "many")]
)
def test_non_numeric_environment(name: str, value: str) -> None:
    with pytest.raises(ValueError, match="number"):
        resolve({name: value})


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:1/api/v1", "http://127.8.9.10", "http://[::1]:8080", "http://localhost:9"],
)
def test_plain_http_allowed_to_loopback(url: str) -> None:
    assert resolve(base_url=url).base_url.startswith("http://")


def test_plain_http_to_remote_host_needs_opt_in() -> None:
    with pytest.raises(ValueError, match="allow_insecure_http"):
        resolve(base_url="http://10.0.0.5/api/v1")
    with pytest.raises(ValueError, match="allow_insecure_http"):
        resolve({"DASHSCOPE_BASE_URL": "http://proxy.example.com"})
    config = resolve(base_url="http://10.0.0.5/api/v1", allow_insecure_http=True)
    assert config.allow_insecure_http is True


def test_headers_non_stream_and_stream() -> None:
    config = resolve(workspace="ws_a")
    headers = config.headers()
    # The key is not a header of the config: the transport writes it (masked in repr).
    assert "Authorization" not in headers
    wire = HTTPRequest("POST", config.url("x"), headers, None, api_key=config.api_key)
    assert wire.wire_headers()["Authorization"] == f"Bearer {KEY}"
    assert KEY not in repr(wire.wire_headers()) + repr(wire)
    assert headers["Content-Type"] == "application/json"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("dashscope-ws/")
    assert headers["X-DashScope-WorkSpace"] == "ws_a"
    assert "X-DashScope-SSE" not in headers
    stream = config.headers(stream=True, workspace="ws_b")
    assert stream["Accept"] == "text/event-stream"
    assert stream["X-DashScope-SSE"] == "enable"
    assert stream["X-DashScope-WorkSpace"] == "ws_b"


def test_no_workspace_header_without_workspace() -> None:
    assert all(name.lower() != "x-dashscope-workspace" for name in resolve().headers())


def test_default_headers() -> None:
    config = resolve(default_headers={"X-Trace": "t1", "User-Agent": "app/1"})
    headers = config.headers()
    assert (headers["X-Trace"], headers["User-Agent"]) == ("t1", "app/1")
    with pytest.raises(ValueError, match="Authorization"):
        resolve(default_headers={"Authorization": "Bearer other"})
    with pytest.raises(ValueError, match="line break"):
        resolve(default_headers={"X-A": "b\r\nX-C: d"})


def test_secret_str() -> None:
    secret = SecretStr(KEY)
    assert str(secret) == "**********"
    assert KEY not in repr(secret)
    assert secret == SecretStr(KEY)
    assert secret != SecretStr("other")
    assert secret.get_secret_value() == KEY


def test_config_repr_and_pickle_hide_nothing_they_should_show() -> None:
    config = resolve(workspace="ws_r")
    text = repr(config) + str(config)
    assert KEY not in text
    assert "ws_r" in text
    assert pickle.loads(pickle.dumps(config)) == config  # noqa: S301


def test_instances_are_independent() -> None:
    one = resolve(api_key="sk-one", workspace="ws_one")
    two = resolve(api_key="sk-two", workspace="ws_two")
    assert one.api_key.get_secret_value() == "sk-one"
    assert two.headers()["X-DashScope-WorkSpace"] == "ws_two"
    with pytest.raises(AttributeError):
        one.workspace = "ws_two"  # type: ignore[misc]
