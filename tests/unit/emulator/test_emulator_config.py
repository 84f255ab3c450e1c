"""Emulator configuration, lifecycle, the foreground server and the pytest fixture."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from emulator_testkit import TEXT_PATH, chat_body

from dashscope_ws.emulator import (
    DEFAULT_GRANTS,
    MAIN_KEY,
    SUB_KEY,
    Emulator,
    EmulatorConfig,
)
from dashscope_ws.pytest_plugin import _EmulatorPool

CUSTOM = {
    "keys": {"sk-team": "ws-team", "sk-admin": None},
    "workspaces": ["ws-team"],
    "grants": {"ws-team": ["qwen-turbo", "my-finetune"]},
    "models": {"my-finetune": "text"},
}


def post(emu: Emulator, key: str, model: str, workspace: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    if workspace:
        headers["X-DashScope-WorkSpace"] = workspace
    response = requests.post(
        emu.base_url + TEXT_PATH, json=chat_body(model=model), headers=headers, timeout=30
    )
    return response.status_code


def test_default_config_documents_the_identities() -> None:
    config = EmulatorConfig()
    assert config.key_workspace(MAIN_KEY) is None
    assert config.key_workspace(SUB_KEY) == "ws-emu-sub"
    assert config.workspaces == {"ws-emu-sub", "ws-emu-other"}
    assert config.grants["ws-emu-sub"] == frozenset(DEFAULT_GRANTS)
    assert not config.granted("ws-emu-sub", "qwen-long")
    assert "sk-emu" not in repr(config)


def test_load_json_config_and_serve_it(tmp_path: Path) -> None:
    path = tmp_path / "emu.json"
    path.write_text(json.dumps(CUSTOM), encoding="utf-8")
    config = EmulatorConfig.load(path)
    assert config == EmulatorConfig.from_dict(CUSTOM)
    with Emulator(config) as emu:
        assert post(emu, "sk-team", "my-finetune", "ws-team") == 200
        assert post(emu, "sk-team", "qwen-plus", "ws-team") == 403
        assert post(emu, "sk-admin", "qwen-plus") == 200
        assert post(emu, MAIN_KEY, "qwen-plus") == 401


def test_load_toml_config(tmp_path: Path) -> None:
    path = tmp_path / "emu.toml"
    path.write_text(
        'workspaces = ["ws-a"]\n[keys]\nsk-a = "ws-a"\nsk-root = ""\n'
        '[grants]\nws-a = ["qwen-plus"]\n',
        encoding="utf-8",
    )
    config = EmulatorConfig.load(path)
    assert config.key_workspace("sk-a") == "ws-a"
    assert config.key_known("sk-root")
    assert config.key_workspace("sk-root") is None
    assert config.granted("ws-a", "qwen-plus")


def test_invalid_configs_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown workspace"):
        EmulatorConfig.from_dict({"keys": {"k": "ws-x"}, "workspaces": []})
    with pytest.raises(ValueError, match="unknown kind"):
        EmulatorConfig.from_dict({"models": {"m": "video"}})
    path = tmp_path / "list.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError, match="JSON object"):
        EmulatorConfig.load(path)


def test_emulator_lifecycle() -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError):
        _ = emu.base_url
    emu.start()
    try:
        assert emu.start() is emu
        assert emu.base_url == f"http://127.0.0.1:{emu.port}/api/v1"
        assert emu.url == f"http://127.0.0.1:{emu.port}"
        assert post(emu, MAIN_KEY, "qwen-plus") == 200
        port = emu.port
    finally:
        emu.stop()
    emu.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/", timeout=5)


def test_run_server_in_the_foreground(tmp_path: Path) -> None:
    code = "from dashscope_ws.emulator import run_server; run_server('127.0.0.1', 0)"
    # The command is a constant: this test's own interpreter running a fixed snippet.
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("DashScope emulator listening on http://127.0.0.1:")
        base_url = line.split()[-1]
        response = requests.post(
            base_url + TEXT_PATH,
            json=chat_body(),
            headers={"Authorization": f"Bearer {MAIN_KEY}"},
            timeout=30,
        )
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def test_pool_reuses_one_server_per_config() -> None:
    pool = _EmulatorPool()
    try:
        first = pool.get(EmulatorConfig())
        post(first, MAIN_KEY, "qwen-plus")
        again = pool.get(EmulatorConfig())
        assert again is first
        assert again.requests == []
        other = pool.get(EmulatorConfig.from_dict(CUSTOM))
        assert other is not first
        assert other.port != first.port
    finally:
        pool.close()
    with pytest.raises(RuntimeError):
        _ = first.base_url


@pytest.fixture
def dashscope_emulator_config() -> EmulatorConfig:
    """Overrides the plugin's fixture for this module only."""
    return EmulatorConfig.from_dict(CUSTOM)


def test_fixture_uses_the_overridden_config(dashscope_emulator: Emulator) -> None:
    assert dashscope_emulator.requests == []
    assert post(dashscope_emulator, "sk-team", "my-finetune", "ws-team") == 200
    assert post(dashscope_emulator, MAIN_KEY, "qwen-plus") == 401
    assert len(dashscope_emulator.requests) == 2
