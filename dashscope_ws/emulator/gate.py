"""The gateway checks every request passes before a model sees it: key, workspace, model."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..protocol import MULTIMODAL_GENERATION_PATH, generation_path
from .identities import KINDS, EmulatorConfig, ModelSpec
from .wire import ServiceError, invalid

__all__ = ["authenticate", "authorize_model"]

NOT_AUTHORIZED_MESSAGE = (
    "Access denied: Either you are not authorized to access this workspace, or the workspace "
    "does not exist. Please:\nVerify the workspace configuration.\nCheck your API endpoint "
    "settings. Ensure you are targeting the correct environment."
)
URL_ERROR = "url error, please check url！"
_WORKSPACE_HOST = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_-]{0,63})\.[a-z0-9-]+\.maas\.aliyuncs\.com")

# Which model kinds each endpoint serves; a model of another known kind is a wrong URL.
ENDPOINT_KINDS: dict[str, frozenset[str]] = {
    "text": frozenset({"text"}),
    "multimodal": frozenset({"multimodal"}),
    "embedding": frozenset({"embedding"}),
    "rerank": frozenset({"rerank"}),
    "rerank-compatible": frozenset({"rerank-compatible"}),
    "uploads": KINDS,  # a file can be uploaded for any model
}
# Omni models are served in OpenAI-compatible mode only: both native paths answer url error.
_COMPATIBLE_ONLY_PREFIXES = ("qwen-omni", "qwen3-omni")


def _generation_endpoint(model: str, spec: ModelSpec) -> str | None:
    """The native generation path serving ``model``: ``"text"``, ``"multimodal"`` or none.

    The client's routing (:func:`dashscope_ws.protocol.generation_path`, which knows the model
    families) decides, so the emulator refuses exactly what a wrong route would send; a model
    registered in the emulator as multimodal counts as multimodal too.
    """
    if spec.kind == "omni" or model.strip().lower().startswith(_COMPATIBLE_ONLY_PREFIXES):
        return None
    if spec.kind == "multimodal" or generation_path(model) == MULTIMODAL_GENERATION_PATH:
        return "multimodal"
    return "text"


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(config: EmulatorConfig, headers: Mapping[str, str]) -> tuple[str, str | None]:
    """Check the API key and workspace; return ``(key, workspace)``.

    ``headers`` must be case-insensitive. The workspace comes from ``X-DashScope-WorkSpace``
    (any casing) or, failing that, a ``{ws}.{region}.maas.aliyuncs.com`` Host header.

    Raises:
        ServiceError: 401 InvalidApiKey, 404 WorkSpaceNotFound, 403 Workspace.AccessDenied or
            401 NOT AUTHORIZED, in that order of checks.
    """
    key = _bearer(headers)
    if key is None or not config.key_known(key):
        raise ServiceError(401, "InvalidApiKey", "Invalid API-key provided.")
    workspace = headers.get("X-DashScope-WorkSpace", "").strip() or None
    if workspace is None:
        match = _WORKSPACE_HOST.match(headers.get("Host", ""))
        workspace = match.group(1) if match else None
    if workspace is not None and workspace not in config.workspaces:
        raise ServiceError(404, "WorkSpaceNotFound", "WorkSpace can not be found.")
    bound = config.key_workspace(key)
    if bound is not None:
        if workspace is None:
            raise ServiceError(403, "Workspace.AccessDenied", "Workspace access denied.")
        if workspace != bound:
            raise ServiceError(401, "NOT AUTHORIZED", NOT_AUTHORIZED_MESSAGE)
    return key, workspace


def authorize_model(config: EmulatorConfig, key: str, model: object, endpoint: str) -> ModelSpec:
    """Check that ``model`` exists, may be called with ``key`` and lives on ``endpoint``.

    Raises:
        ServiceError: 400 EmptyModel / Model not exist., 403 Model.AccessDenied, 400 url error.
    """
    if not isinstance(model, str) or not model:
        raise invalid('Required parameter "model" missing from request.', "BadRequest.EmptyModel")
    spec = config.model(model)
    if spec is None:
        raise invalid("Model not exist.")
    bound = config.key_workspace(key)
    if bound is not None and not config.granted(bound, model):
        raise ServiceError(403, "Model.AccessDenied", "Model access denied.")
    if endpoint in ("text", "multimodal") and spec.kind in ("text", "multimodal", "omni"):
        if _generation_endpoint(model, spec) != endpoint:
            raise invalid(URL_ERROR)
    elif spec.kind not in ENDPOINT_KINDS[endpoint]:
        raise invalid(URL_ERROR)
    return spec
