"""`dashscope-ws doctor` against the emulator: one test per failure mode."""

from __future__ import annotations

import socket

import pytest

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


def test_throttling_while_checking_a_later_model(dashscope_emulator: Emulator) -> None:
    dashscope_emulator.enqueue(ScriptedReply(text="pong"), ScriptedReply.rate_limited())
    report = diagnose(
        api_key=MAIN_KEY,
        base_url=dashscope_emulator.base_url,
        models=["qwen-plus", "qwen-turbo"],
        env={},
    )
    (failure,) = _failed(report)
    assert failure.startswith("rate limit:")
    assert [f.topic for f in report.findings][-2:] == ["model qwen-plus", "rate limit"]


def test_missing_key_fix_points_at_the_emulator_demo() -> None:
    (finding,) = diagnose(env={}).findings
    assert finding.fix is not None
    assert "dashscope-ws demo" in finding.fix
