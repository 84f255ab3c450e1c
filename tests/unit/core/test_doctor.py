"""`dashscope-ws doctor` against the emulator: one test per failure mode."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from dashscope_ws import DashScopeClient
from dashscope_ws.doctor import Report, diagnose
from dashscope_ws.emulator import (
    MAIN_KEY,
    OTHER_WORKSPACE,
    SUB_KEY,
    SUB_WORKSPACE,
    Emulator,
    EmulatorConfig,
    ScriptedReply,
)
from dashscope_ws.errors import NotFoundError


def _failed(report: Report) -> list[str]:
    return [f"{f.topic}: {f.detail} | {f.fix}" for f in report.findings if not f.ok]


def test_healthy_main_key_needs_no_workspace(dashscope_emulator: Emulator) -> None:
    report = diagnose(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url, env={})
    assert report.ok, report.render()
    assert report.exit_code == 0
    assert "not needed" in report.render()


def test_healthy_sub_key_in_its_workspace_checks_every_model(
    dashscope_emulator: Emulator,
) -> None:
    report = diagnose(
        api_key=SUB_KEY,
        workspace=SUB_WORKSPACE,
        base_url=dashscope_emulator.base_url,
        models=["qwen-plus", "qwen-turbo"],
        env={},
    )
    assert report.ok, report.render()
    granted = [f.topic for f in report.findings if f.topic.startswith("model ")]
    assert granted == ["model qwen-plus", "model qwen-turbo"]
    assert {r.headers.get("X-DashScope-WorkSpace") for r in dashscope_emulator.requests} == {
        SUB_WORKSPACE
    }


def test_missing_key_names_the_variable() -> None:
    report = diagnose(env={})
    assert report.exit_code == 1
    assert "DASHSCOPE_API_KEY" in report.render()


def test_invalid_key(dashscope_emulator: Emulator) -> None:
    report = diagnose(
        api_key="sk-wrong",
        base_url=dashscope_emulator.base_url,
        env={},
        region_urls={},
    )
    assert report.exit_code == 1
    (failure,) = _failed(report)
    assert failure.startswith("API key: rejected")
    assert "sk-wrong" not in report.render()


def test_key_from_another_region_is_recognised(dashscope_emulator: Emulator) -> None:
    intl = EmulatorConfig.from_dict({"keys": {"sk-intl": None}})
    with Emulator(intl) as other_region:
        report = diagnose(
            api_key="sk-intl",
            base_url=dashscope_emulator.base_url,
            env={},
            region_urls={
                "cn-beijing": dashscope_emulator.base_url,
                "ap-southeast-1": other_region.base_url,
            },
        )
    (failure,) = _failed(report)
    assert "accepted in region ap-southeast-1" in failure
    assert "DASHSCOPE_REGION=ap-southeast-1" in failure


def test_sub_key_without_workspace(dashscope_emulator: Emulator) -> None:
    report = diagnose(api_key=SUB_KEY, base_url=dashscope_emulator.base_url, env={})
    (failure,) = _failed(report)
    assert failure.startswith("workspace: this key needs a workspace")
    assert "DASHSCOPE_WORKSPACE" in failure


def test_unknown_workspace(dashscope_emulator: Emulator) -> None:
    report = diagnose(
        api_key=MAIN_KEY, workspace="ws-nope", base_url=dashscope_emulator.base_url, env={}
    )
    (failure,) = _failed(report)
    assert "'ws-nope' does not exist" in failure


def test_workspace_the_key_is_not_a_member_of(dashscope_emulator: Emulator) -> None:
    report = diagnose(
        api_key=SUB_KEY, workspace=OTHER_WORKSPACE, base_url=dashscope_emulator.base_url, env={}
    )
    (failure,) = _failed(report)
    assert f"{OTHER_WORKSPACE!r} is not reachable" in failure


def test_model_not_granted_and_unknown_model(dashscope_emulator: Emulator) -> None:
    report = diagnose(
        api_key=SUB_KEY,
        workspace=SUB_WORKSPACE,
        base_url=dashscope_emulator.base_url,
        models=["qwen-plus", "qwen-long", "qwen-imaginary"],
        env={},
    )
    failures = _failed(report)
    assert len(failures) == 2
    assert failures[0].startswith(f"model qwen-long: not granted to workspace {SUB_WORKSPACE}")
    assert failures[1].startswith("model qwen-imaginary: no such model")
    assert report.exit_code == 1


def test_account_in_arrears(dashscope_emulator: Emulator) -> None:
    dashscope_emulator.enqueue(
        ScriptedReply.error(
            400, "Arrearage", "Access denied, please make sure your account is in good standing."
        )
    )
    report = diagnose(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url, env={})
    (failure,) = _failed(report)
    assert failure.startswith("account: the account is in arrears")


def test_network_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    report = diagnose(api_key=MAIN_KEY, base_url=f"http://127.0.0.1:{closed_port}", env={})
    (failure,) = _failed(report)
    assert failure.startswith("network: cannot reach the service")
    # One line plus its fix.
    (_, fix) = [
        line for line in report.render().splitlines() if "network" in line or "fix:" in line
    ]
    assert "\n" not in report.findings[-1].detail
    assert fix.strip().startswith("fix: check your network")


@pytest.mark.parametrize("workspace", ["bad workspace", "ws\r\nX-Evil: 1"])
def test_invalid_workspace_is_a_configuration_failure(workspace: str) -> None:
    report = diagnose(api_key=MAIN_KEY, workspace=workspace, env={})
    (failure,) = _failed(report)
    assert failure.startswith("configuration:")


def test_throttled_account_is_reported_not_waited_on(dashscope_emulator: Emulator) -> None:
    dashscope_emulator.enqueue(ScriptedReply.rate_limited(retry_after=30))
    report = diagnose(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url, env={})
    (failure,) = _failed(report)
    assert failure.startswith("rate limit: the service is throttling this key (Throttling")
    assert "Model Studio console" in failure
    # Retries are off: one probe, not three, and no 30-second wait.
    assert len(dashscope_emulator.requests) == 1


def test_service_failure_quotes_the_request_id(dashscope_emulator: Emulator) -> None:
    dashscope_emulator.enqueue(ScriptedReply.error(500, "InternalError", "boom"))
    report = diagnose(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url, env={})
    (failure,) = _failed(report)
    assert failure.startswith("service: DashScope answered 500 InternalError (request_id=")
    assert "retry later" in failure


def test_throttling_while_probing_a_later_model(dashscope_emulator: Emulator) -> None:
    # Where the permissions endpoint is missing, every model is probed; the second probe
    # is throttled.
    dashscope_emulator.enqueue(ScriptedReply(text="pong"), ScriptedReply.rate_limited())
    report = diagnose(
        api_key=MAIN_KEY,
        base_url=dashscope_emulator.base_url,
        models=["qwen-plus", "qwen-turbo"],
        env={},
        client_factory=lambda cfg: _NoWorkspaceEndpoints(config=cfg),
    )
    (failure,) = _failed(report)
    assert failure.startswith("rate limit:")
    assert [f.topic for f in report.findings][-2:] == ["model qwen-plus", "rate limit"]


def test_missing_key_fix_points_at_the_emulator_demo() -> None:
    (finding,) = diagnose(env={}).findings
    assert finding.fix is not None
    assert "dashscope-ws demo" in finding.fix


# ----------------------------------------------------------------------------- grants and quotas


def test_lists_grants_and_quotas_and_names_the_host() -> None:
    config = EmulatorConfig.from_dict(
        {"limits": {SUB_WORKSPACE: {"qwen-plus": {"rpm": 60, "tpm": 100000}}}}
    )
    with Emulator(config) as emu:
        report = diagnose(
            api_key=SUB_KEY,
            workspace=SUB_WORKSPACE,
            base_url=emu.base_url,
            models=["qwen-plus", "qwen-turbo"],
            env={},
        )
        paths = [r.path for r in emu.requests]
        base_url = emu.base_url
    assert report.ok, report.render()
    text = report.render()
    assert f"endpoint {base_url}" in text
    assert "models granted: gte-rerank-v2, qwen-flash" in text
    assert "model qwen-plus: granted; RPM 60, TPM 100000 (workspace limit)" in text
    assert "model qwen-turbo: granted; RPM no limit, TPM no limit" in text
    # One probe (the key check), then the two listings: granted models are not probed.
    assert paths.count("/api/v1/services/aigc/text-generation/generation") == 1
    assert "/api/v1/models/permissions" in paths
    assert "/api/v1/quotas" in paths
    data = report.to_dict()
    assert data["host"] == base_url
    assert data["workspace"] == SUB_WORKSPACE
    assert "qwen-plus" in data["granted_models"]
    assert data["quotas"]["qwen-plus"] == {"rpm": 60, "tpm": 100000, "source": "workspace"}


def test_configured_model_not_granted_exits_non_zero(dashscope_emulator: Emulator) -> None:
    report = diagnose(
        api_key=SUB_KEY,
        workspace=SUB_WORKSPACE,
        base_url=dashscope_emulator.base_url,
        models=["qwen-long"],
        env={},
    )
    (failure,) = _failed(report)
    assert failure.startswith(f"model qwen-long: not granted to workspace {SUB_WORKSPACE}")
    assert report.exit_code == 1
    assert report.to_dict()["exit_code"] == 1


class _NoWorkspaceEndpoints(DashScopeClient):
    """A host without the permissions/quotas endpoints (they answer 404)."""

    def granted_models(self, *, workspace: str | None = None) -> list[Any]:
        raise NotFoundError(404, "NotFound", "Not found!", "r-404")


def test_falls_back_to_probing_where_the_endpoints_are_missing(
    dashscope_emulator: Emulator,
) -> None:
    report = diagnose(
        api_key=SUB_KEY,
        workspace=SUB_WORKSPACE,
        base_url=dashscope_emulator.base_url,
        models=["qwen-plus", "qwen-turbo", "qwen-long"],
        env={},
        client_factory=lambda cfg: _NoWorkspaceEndpoints(config=cfg),
    )
    text = report.render()
    assert (
        "permissions endpoint is not available here (404 NotFound); checking models by probing"
        in text
    )
    assert "model qwen-turbo: granted and answering" in text
    assert _failed(report)[0].startswith("model qwen-long: not granted")
    assert report.to_dict()["granted_models"] is None
    probes = [r for r in dashscope_emulator.requests if r.path.endswith("/generation")]
    assert len(probes) == 3


def test_cli_doctor_json(
    dashscope_emulator: Emulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dashscope_ws import cli

    monkeypatch.setenv("DASHSCOPE_API_KEY", SUB_KEY)
    code = cli.main(
        [
            "doctor",
            "--json",
            "--workspace",
            SUB_WORKSPACE,
            "--base-url",
            dashscope_emulator.base_url,
            "--model",
            "qwen-plus",
            "--model",
            "qwen-long",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["exit_code"] == 1
    assert data["host"] == dashscope_emulator.base_url
    failed = [f for f in data["findings"] if f["status"] == "fail"]
    assert [f["topic"] for f in failed] == ["model qwen-long"]
    assert SUB_KEY not in json.dumps(data)
