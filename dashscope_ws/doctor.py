"""`dashscope-ws doctor`: diagnose a DashScope set-up in plain words.

Each check makes at most one tiny request (``max_tokens=1``) and turns the service's
answer into a finding with a fix. The probes run through the normal client, so the
doctor sees exactly what an application would see; retries are disabled so that a
throttled account is reported rather than waited on.

Once the key and workspace are known to work, the doctor asks the workspace endpoints
which models are granted and which rate limits are in force (``granted_models`` /
``quotas``, see :mod:`dashscope_ws.workspace`); a model the application needs but the
workspace lacks is a failure. Where those endpoints are unavailable (404 on older hosts,
or refused), it falls back to probing each model with a one-token call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from dashscope_ws.client import DashScopeClient
from dashscope_ws.config import REGIONS, ClientConfig
from dashscope_ws.errors import (
    APIConnectionError,
    APIStatusError,
    DashScopeError,
    InternalServerError,
    RateLimitError,
)
from dashscope_ws.workspace import GrantedModel, ModelQuota

__all__ = ["Finding", "Report", "diagnose"]

_PROBE_MESSAGES = ({"role": "user", "content": "ping"},)
_NO_KEY_FIX = (
    "create a key in the Model Studio console and export DASHSCOPE_API_KEY=sk-...; "
    "without one, `dashscope-ws demo` runs against the local emulator"
)


@dataclass(frozen=True)
class Finding:
    """One line of the diagnosis.

    Example:
        >>> Finding("ok", "API key", "accepted").ok
        True
    """

    status: str  # "ok" | "fail" | "info"
    topic: str
    detail: str
    fix: str | None = None

    @property
    def ok(self) -> bool:
        """True unless this finding is a failure."""
        return self.status != "fail"


@dataclass
class Report:
    """All findings, in the order they were checked.

    Example:
        >>> r = Report([Finding("ok", "API key", "accepted")])
        >>> r.ok, r.exit_code
        (True, 0)
    """

    findings: list[Finding] = field(default_factory=list)
    host: str | None = None
    region: str | None = None
    workspace: str | None = None
    granted: list[str] | None = None  # None: the permissions endpoint was not available
    quotas: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return all(f.ok for f in self.findings)

    @property
    def exit_code(self) -> int:
        """0 when healthy, 1 otherwise (for shell scripts and CI)."""
        return 0 if self.ok else 1

    def render(self) -> str:
        """The report as plain text, one finding per line with its fix indented."""
        marks = {"ok": "[ok]  ", "fail": "[FAIL]", "info": "[info]"}
        lines = []
        for f in self.findings:
            lines.append(f"{marks.get(f.status, '[?]   ')} {f.topic}: {f.detail}")
            if f.fix:
                lines.append(f"       fix: {f.fix}")
        lines.append("All checks passed." if self.ok else "Some checks failed.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The report for scripts (``doctor --json``); never contains the key."""
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "host": self.host,
            "region": self.region,
            "workspace": self.workspace,
            "granted_models": self.granted,
            "quotas": self.quotas,
            "findings": [asdict(f) for f in self.findings],
        }


ClientFactory = Callable[[ClientConfig], DashScopeClient]


def _probe(client: DashScopeClient, model: str, workspace: str | None) -> DashScopeError | None:
    try:
        client.chat(list(_PROBE_MESSAGES), model=model, workspace=workspace, max_tokens=1)
    except DashScopeError as error:
        return error
    return None


def _other_region(
    config: ClientConfig, model: str, region_urls: Mapping[str, str], factory: ClientFactory
) -> str | None:
    """The region whose host accepts this key, when the configured one rejects it."""
    for region, url in region_urls.items():
        if url.rstrip("/") == config.base_url.rstrip("/"):
            continue
        candidate = ClientConfig.resolve(
            api_key=config.api_key.get_secret_value(),
            base_url=url,
            timeout=config.timeout,
            connect_timeout=config.connect_timeout,
            max_retries=0,
            allow_insecure_http=config.allow_insecure_http,
            env={},
        )
        with factory(candidate) as client:
            error = _probe(client, model, None)
        if error is None or (isinstance(error, APIStatusError) and error.status_code != 401):
            return region
    return None


def _explain(error: DashScopeError, workspace: str | None) -> Finding:
    """Turn one failed probe into a finding with a fix."""
    if isinstance(error, APIConnectionError):
        # One line: the transport's message can carry a multi-line urllib3 chain.
        reason = " ".join(str(error).split())
        reason = reason if len(reason) <= 160 else reason[:157] + "..."
        return Finding(
            "fail",
            "network",
            f"cannot reach the service ({reason})",
            "check your network, proxy (HTTPS_PROXY) and base_url / DASHSCOPE_BASE_URL / "
            "DASHSCOPE_REGION; offline, `dashscope-ws demo` runs against the local emulator",
        )
    if not isinstance(error, APIStatusError):
        return Finding("fail", "response", str(error))
    code, rid = error.code, error.request_id
    where = f" (request_id={rid})" if rid else ""
    if isinstance(error, RateLimitError):
        hit = {"rpm": "requests per minute", "tpm": "tokens per minute", "burst": "burst rate"}
        which = f", {hit[error.limit]} limit" if error.limit in hit else ""
        return Finding(
            "fail",
            "rate limit",
            f"the service is throttling this key ({code}{which}){where}",
            "wait a minute and run doctor again; if it persists, lower your request rate or "
            "raise the model's quota in the Model Studio console",
        )
    if isinstance(error, InternalServerError):
        return Finding(
            "fail",
            "service",
            f"DashScope answered {error.status_code} {code}{where}",
            "a service-side failure: retry later, and quote the request_id to support if it lasts",
        )
    table: dict[str, tuple[str, str, str]] = {
        "Workspace.AccessDenied": (
            "workspace",
            "this key needs a workspace it is allowed to use" + where,
            "pass --workspace / workspace=... or set DASHSCOPE_WORKSPACE to the key's workspace id",
        ),
        "NOT AUTHORIZED": (
            "workspace",
            f"workspace {workspace!r} is not reachable with this key" + where,
            "check the workspace id, that the key belongs to it, and the region/base_url",
        ),
        "WorkSpaceNotFound": (
            "workspace",
            f"workspace {workspace!r} does not exist" + where,
            "copy the workspace id from the Model Studio console",
        ),
        "Arrearage": (
            "account",
            "the account is in arrears" + where,
            "top up the Alibaba Cloud account, then retry",
        ),
    }
    if code in table:
        topic, detail, fix = table[code]
        return Finding("fail", topic, detail, fix)
    return Finding("fail", "request", str(error).splitlines()[0], error.hint)


def diagnose(
    *,
    api_key: str | None = None,
    workspace: str | None = None,
    base_url: str | None = None,
    region: str | None = None,
    models: Sequence[str] = ("qwen-plus",),
    env: Mapping[str, str] | None = None,
    region_urls: Mapping[str, str] | None = None,
    client_factory: ClientFactory | None = None,
) -> Report:
    """Check a set-up step by step and return the findings.

    Args:
        api_key, workspace, base_url, region: as for ``DashScopeClient``; unset ones
            come from the environment.
        models: models the application needs; each is checked for access.
        env: environment mapping (defaults to ``os.environ``).
        region_urls: hosts tried when the key is rejected, to spot a key from another
            region (defaults to the public regions).
        client_factory: builds a client from a config (tests inject one).
    """
    factory: ClientFactory = client_factory or (lambda cfg: DashScopeClient(config=cfg))
    report = Report()
    try:
        config = ClientConfig.resolve(
            api_key=api_key,
            workspace=workspace,
            base_url=base_url,
            region=region,
            max_retries=0,
            env=env,
        )
    except ValueError as invalid:
        no_key = "API key" in str(invalid)
        report.findings.append(
            Finding("fail", "configuration", str(invalid), _NO_KEY_FIX if no_key else None)
        )
        return report
    report.host, report.region, report.workspace = (
        config.base_url,
        config.region,
        config.workspace,
    )
    where = f" (region {config.region})" if config.region else ""
    report.findings.append(Finding("ok", "configuration", f"endpoint {config.base_url}{where}"))
    report.findings.append(
        Finding("info", "workspace", config.workspace or "none set (default workspace)")
    )

    first, *rest = list(models) or ["qwen-plus"]
    with factory(config) as client:
        error = _probe(client, first, None)
        if isinstance(error, APIStatusError) and error.code == "InvalidApiKey":
            found = _other_region(config, first, region_urls or REGIONS, factory)
            if found:
                report.findings.append(
                    Finding(
                        "fail",
                        "API key",
                        f"rejected here, but accepted in region {found}",
                        f"set DASHSCOPE_REGION={found} (keys are region-specific)",
                    )
                )
            else:
                report.findings.append(
                    Finding(
                        "fail",
                        "API key",
                        f"rejected (request_id={error.request_id})",
                        "create or copy a valid key in the Model Studio console and set "
                        "DASHSCOPE_API_KEY",
                    )
                )
            return report
        if error is not None and not _is_model_error(error):
            report.findings.append(_explain(error, config.workspace))
            return report
        report.findings.append(Finding("ok", "API key", "accepted"))
        if config.workspace:
            report.findings.append(Finding("ok", "workspace", f"{config.workspace} is reachable"))
        else:
            report.findings.append(
                Finding("ok", "workspace", "not needed: this key works without one (main account)")
            )
        granted = _granted(client, report)
        quotas = _quotas(client, report) if granted is not None else {}
        for model in [first, *rest]:
            if granted is not None and model in granted:
                report.findings.append(_granted_finding(model, quotas.get(model)))
                continue
            # Not listed (or no list): a probe tells "not granted" from "no such model".
            model_error = error if model == first else _probe(client, model, None)
            report.findings.append(_model_finding(model, model_error, config.workspace))
    return report


def _granted(client: DashScopeClient, report: Report) -> dict[str, GrantedModel] | None:
    """The workspace's granted models, or ``None`` (with a note) where unavailable."""
    try:
        listed = client.granted_models()
    except APIStatusError as error:
        report.findings.append(
            Finding(
                "info",
                "grants",
                f"the permissions endpoint is not available here ({error.status_code} "
                f"{error.code}); checking models by probing",
            )
        )
        return None
    except DashScopeError as error:
        report.findings.append(Finding("info", "grants", f"not listed ({error}); probing"))
        return None
    granted = {g.model: g for g in listed if g.inference}
    report.granted = sorted(granted)
    shown = ", ".join(report.granted[:12]) + (" ..." if len(granted) > 12 else "")
    report.findings.append(
        Finding("info", "grants", f"{len(granted)} models granted: {shown or '(none)'}")
    )
    return granted


def _quotas(client: DashScopeClient, report: Report) -> dict[str, ModelQuota]:
    try:
        listed = client.quotas()
    except DashScopeError:
        report.findings.append(Finding("info", "quotas", "rate limits not available here"))
        return {}
    report.quotas = {q.model: {"rpm": q.rpm, "tpm": q.tpm, "source": q.source} for q in listed}
    return {q.model: q for q in listed}


def _granted_finding(model: str, quota: ModelQuota | None) -> Finding:
    if quota is None:
        limits = "limits unknown"
    else:
        rpm = "no limit" if quota.rpm is None else str(quota.rpm)
        tpm = "no limit" if quota.tpm is None else str(quota.tpm)
        limits = f"RPM {rpm}, TPM {tpm}" + (f" ({quota.source} limit)" if quota.source else "")
    return Finding("ok", f"model {model}", f"granted; {limits}")


def _is_model_error(error: DashScopeError) -> bool:
    return isinstance(error, APIStatusError) and (
        error.code in {"Model.AccessDenied", "ModelNotFound", "AccessDenied.Unpurchased"}
        or (error.code == "InvalidParameter" and "model" in error.message.lower())
    )


def _model_finding(model: str, error: DashScopeError | None, workspace: str | None) -> Finding:
    topic = f"model {model}"
    if error is None:
        return Finding("ok", topic, "granted and answering")
    if isinstance(error, APIStatusError) and error.code == "Model.AccessDenied":
        scope = f"workspace {workspace}" if workspace else "this key's workspace"
        return Finding(
            "fail",
            topic,
            f"not granted to {scope}",
            "grant the model to the workspace in the Model Studio console, or pick a granted one",
        )
    if isinstance(error, APIStatusError) and "not exist" in error.message.lower():
        return Finding("fail", topic, "no such model", "check the model name (e.g. qwen-plus)")
    return _explain(error, workspace)
