"""Client settings and lifecycle shared by every LangChain class of this package.

One small pydantic mixin: the connection fields users set on a LangChain object (the
same set, with the same meaning, as the LlamaIndex mixin and ``ClientConfig.resolve``),
a ``DashScopeClient`` built from them on first use, and ``close``/``aclose`` plus the
context-manager protocol to release it. The caching, rebuilding and copy semantics
are the core's :class:`~dashscope_ws.adapters.ClientHolder` (shared with the
LlamaIndex adapter): one client per instance (never process-global), rebuilt if the
settings change, so two objects with different keys or workspaces never share state.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

from langchain_core.language_models import LangSmithParams
from langchain_core.utils import secret_from_env
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, model_validator
from typing_extensions import Self

from dashscope_ws._adapter_base import HeldClientSettings
from dashscope_ws._adapter_settings import accepted_arguments, check_arguments, lift_parameters
from dashscope_ws._arguments import refuse_fields_in_extra
from dashscope_ws.adapters import client_settings
from dashscope_ws.settings import GENERATION_PARAMETERS

__all__ = [
    "PARAMETER_FIELDS",
    "DashScopeClientSettings",
    "QwenModelFields",
    "signatures_computed_once",
    "with_workspace",
]

if TYPE_CHECKING:
    # Type checkers build a pydantic model's constructor from its annotations
    # (dataclass_transform); a descriptor type lets `api_key=` take a plain `str` (pydantic
    # wraps it at run time) while reading `.api_key` still gives `SecretStr | None`.
    class _APIKey:
        @overload
        def __get__(self, obj: None, owner: Any) -> _APIKey: ...
        @overload
        def __get__(self, obj: object, owner: Any) -> SecretStr | None: ...
        def __get__(self, obj: object | None, owner: Any) -> Any: ...
        def __set__(self, obj: object, value: SecretStr | str | None) -> None: ...
else:
    _APIKey = SecretStr | None

# Fields sent as wire `parameters` (None = let the service decide): the declared generation
# parameters (one declaration for both adapters, same validation) and `stop`. They are also
# the ones that move from model_kwargs to their fields.
PARAMETER_FIELDS = (*(p.name for p in GENERATION_PARAMETERS), "stop")

# Typed as returning Any so the field default matches the descriptor type above.
_key_from_env: Callable[[], Any] = secret_from_env("DASHSCOPE_API_KEY", default=None)


_T = TypeVar("_T", bound=type)


def signatures_computed_once(cls: _T) -> _T:
    """Class decorator: ``_generate`` / ``_agenerate`` carry their ``inspect.Signature``.

    LangChain's ``BaseChatModel`` and ``BaseLLM`` call ``inspect.signature(self._generate)``
    on every call (does it take ``run_manager``?); a function's ``__signature__`` is what
    ``inspect.signature`` returns without parsing the code object again (about 10 µs of a
    call). The value is the one ``inspect`` computes, so nothing else changes.
    """
    for name in ("_generate", "_agenerate"):
        function = cls.__dict__.get(name)
        if function is not None:
            function.__signature__ = inspect.signature(function)
    return cls


def with_workspace(params: LangSmithParams, workspace: str | None) -> LangSmithParams:
    """Traced run metadata plus ``dashscope_workspace``: which workspace the call bills.

    ``LangSmithParams`` declares no such key; LangChain merges the whole dict into the run's
    metadata, so the workspace (resolved at construction, or a per-call override) is traced.
    """
    if workspace is None:
        return params
    traced: dict[str, Any] = {**params, "dashscope_workspace": workspace}
    return cast(LangSmithParams, traced)


class DashScopeClientSettings(HeldClientSettings):
    """Connection settings, the lazily built per-instance core client, and its lifecycle.

    Every field left at ``None`` is resolved by the core exactly as
    ``DashScopeClient`` resolves it: environment (``DASHSCOPE_WORKSPACE``,
    ``DASHSCOPE_BASE_URL``, ``DASHSCOPE_REGION``, ``DASHSCOPE_TIMEOUT``,
    ``DASHSCOPE_MAX_RETRIES``), then defaults. ``api_key`` is read from
    ``DASHSCOPE_API_KEY`` at construction so that it can be serialised as a secret.

    ``close()`` / ``await aclose()`` (or ``with`` / ``async with``) release the
    client's connection pools; the object stays usable and builds a fresh client
    on its next call.

    Example:
        >>> class Settings(DashScopeClientSettings):
        ...     pass
        >>> with Settings(api_key="sk-test", workspace="ws-1") as s:
        ...     (s.workspace, str(s.api_key))
        ('ws-1', '**********')
    """

    # A model-level check (region, base_url, model_kwargs) fails quoting the whole input,
    # where the key is still a plain string: errors must not show the input at all.
    model_config = ConfigDict(hide_input_in_errors=True)

    # validation_alias (not alias) keeps the canonical name in the constructor signature
    # that type checkers derive (dataclass_transform), while still accepting the alias.
    api_key: _APIKey = Field(
        default_factory=_key_from_env,
        validation_alias=AliasChoices("api_key", "dashscope_api_key"),
    )
    """DashScope API key (alias ``dashscope_api_key``); defaults to ``DASHSCOPE_API_KEY``."""
    # The connection settings (workspace, base_url, timeout, proxy, ...) and the client's
    # objects (transport, async_transport, usage_tracker) come from ConnectionFields.

    @model_validator(mode="before")
    @classmethod
    def _check_arguments(cls, data: Any) -> Any:
        # Unknown names fail naming the closest valid one; every spelling in the shared
        # table (dashscope_ws._arguments.SPELLINGS) maps to this class's field.
        if not isinstance(data, dict):
            return data
        data = check_arguments(cls.__name__, data, accepted_arguments(cls))
        if "model_kwargs" in cls.model_fields:
            # langchain-community's model_kwargs={"temperature": 0.1} keeps working: declared
            # parameters move to their validated fields.
            data = lift_parameters(cls.__name__, data, "model_kwargs", PARAMETER_FIELDS)
        return data

    def _client_key(self) -> object:
        return self.api_key

    def _client_kwargs(self) -> dict[str, Any]:
        # The plain key: the core wraps it in its own SecretStr (pydantic's is not that).
        key = self.api_key.get_secret_value() if self.api_key is not None else None
        return client_settings(self, api_key=key)


class QwenModelFields(BaseModel):
    """Mixin: the fields and LangChain plumbing of ``ChatDashScope`` and ``Tongyi``.

    The model (alias ``model_name``), ``stop``, ``streaming`` and ``model_kwargs`` as
    langchain-community named them, and serialisation with the key as a secret. List it
    first among the bases so that these fields come last, after the settings.

    Example:
        >>> class Model(QwenModelFields):
        ...     pass
        >>> Model(model_name="qwen-max", stop="END").model
        'qwen-max'
    """

    model_config = ConfigDict(
        populate_by_name=True, extra="forbid", protected_namespaces=(), arbitrary_types_allowed=True
    )

    # validation_alias (not alias): type checkers then see `model=` in the signature.
    model: str = Field(default="qwen-plus", validation_alias=AliasChoices("model", "model_name"))
    """Model to call, e.g. ``"qwen-plus"``, ``"qwen-max"``, ``"qwq-plus"`` (or ``model_name=``)."""
    stop: list[str] | str | None = None
    streaming: bool = False
    """Make ``invoke``/``generate`` go through the stream (``.stream()`` streams regardless)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other wire ``parameters`` sent on every call (e.g. ``{"search_options": {...}}``)."""

    @model_validator(mode="after")
    def _check_model_kwargs(self) -> Self:
        # A field (workspace, model, api_key, ...) hidden in model_kwargs would be sent as a
        # wire parameter or silently override the field: refuse it, for both classes.
        owner, fields = type(self).__name__, type(self).model_fields
        refuse_fields_in_extra(owner, self.model_kwargs, "model_kwargs", fields)
        return self

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": "DASHSCOPE_API_KEY"}

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True
