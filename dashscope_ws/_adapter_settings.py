"""The adapters' client settings: fields derived from the declaration, and the held client.

* :data:`CLIENT_SETTINGS` / :func:`declared_model`: the connection settings and generation
  parameters of :mod:`dashscope_ws.settings` as pydantic fields (both adapters, same validation).
* :data:`SPELLINGS` / :func:`check_arguments`: the one table of accepted spellings and the
  check every adapter class runs on its constructor arguments (unknown names fail naming
  the closest valid one; two spellings of one setting fail).
* :func:`resolved_location`: the workspace and API root a settings object will use,
  resolved at construction from the arguments and the environment (without the key).
* :class:`ClientHolder` and :class:`ClientLifecycle`: the lazily built per-object
  :class:`~dashscope_ws.client.DashScopeClient`, rebuilt when a setting changes, never
  shared by copies, released by ``close()``/``aclose()``/``with``/``async with``.

Re-exported by :mod:`dashscope_ws.adapters`. Imports no framework (pydantic only inside
:func:`declared_model`, which only the adapters call).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from dashscope_ws._arguments import (
    SPELLINGS,
    ArgumentError,
    accepted_arguments,
    check_arguments,
    lift_parameters,
)
from dashscope_ws._closeable import Closeable
from dashscope_ws.client import DashScopeClient
from dashscope_ws.config import SecretStr
from dashscope_ws.settings import CONNECTION_SETTINGS, GENERATION_PARAMETERS, Parameter

__all__ = [
    "CLIENT_OBJECTS",
    "CLIENT_SETTINGS",
    "SPELLINGS",
    "ArgumentError",
    "ClientHolder",
    "ClientLifecycle",
    "ConnectionFields",
    "GenerationFields",
    "accepted_arguments",
    "check_arguments",
    "client_settings",
    "client_state",
    "declared_model",
    "fill_location",
    "lift_parameters",
    "object_fields",
    "pydantic_fields",
    "resolved_location",
]


# The connection settings both adapters expose as fields, with the core's names: derived
# from the one declaration (dashscope_ws.settings), plus the objects a client is given.
CLIENT_SETTINGS = tuple(setting.name for setting in CONNECTION_SETTINGS)
CLIENT_OBJECTS = ("transport", "async_transport", "usage_tracker")


def resolved_location(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The ``workspace`` and ``base_url`` a client with ``settings`` will use.

    Resolved exactly as :meth:`~dashscope_ws.config.ClientConfig.resolve` does (arguments,
    then ``DASHSCOPE_WORKSPACE`` / ``DASHSCOPE_BASE_URL`` / ``DASHSCOPE_REGION``, then
    defaults) but without the key, so an adapter can show at construction which workspace
    a chain will bill. ``base_url`` is left out when the workspace is addressed by host
    name (``workspace_in_host``): there it follows the workspace and may not be set too.

    Example:
        >>> resolved_location({"workspace": "ws-1", "region": "cn-beijing"})["base_url"]
        'https://dashscope.aliyuncs.com/api/v1'
    """
    from dashscope_ws.config import ClientConfig

    names = set(CLIENT_SETTINGS) - {"default_headers"}
    given = {k: v for k, v in settings.items() if k in names and v is not None}
    # A placeholder key: only the key's presence is checked here, and never the real one.
    return _location(ClientConfig.resolve(api_key="sk-resolve-only", **given))


def _location(config: Any) -> dict[str, Any]:
    location: dict[str, Any] = {"workspace": config.workspace}
    if not config.workspace_in_host:
        location["base_url"] = config.base_url
    return location


_RESOLVED = ("workspace", "base_url")


def fill_location(obj: Any, config: Any = None) -> None:
    """Show on ``obj`` the ``workspace`` / ``base_url`` a call will use, unless the user set them.

    For the adapters: at construction (``config`` ``None``: resolved from the object's settings
    and the environment) and whenever a client is built (``config`` that client's, so a copy
    with another ``region`` shows the API root it really calls). Written to ``__dict__`` so
    pydantic's ``model_fields_set`` (what the user set) is unchanged.
    """
    location = (
        resolved_location(client_settings(obj, api_key=None))
        if config is None
        else _location(config)
    )
    explicit = obj.model_fields_set
    for name in _RESOLVED:
        if name not in explicit or getattr(obj, name) is None:  # workspace=None: not a choice
            obj.__dict__[name] = location.get(name)


def pydantic_fields(
    parameters: Sequence[Parameter], field: Callable[..., Any]
) -> dict[str, tuple[Any, Any]]:
    """``pydantic.create_model`` definitions for declared parameters (both adapters use it).

    Each becomes ``<type> | None = None`` with the declaration's doc and bounds, so the two
    frameworks validate identically. ``field`` is the framework's ``Field``.

    Example:
        >>> from pydantic import Field
        >>> pydantic_fields(GENERATION_PARAMETERS, Field)["top_p"][1].metadata
        [Gt(gt=0), Le(le=1)]
    """
    return {
        p.name: (p.type | None, field(default=None, description=p.doc, **p.bounds()))
        for p in parameters
    }


def object_fields(field: Callable[..., Any]) -> dict[str, tuple[Any, Any]]:
    """Fields for the objects a client is given (transports, usage sink): never serialised."""
    return {name: (Any, field(default=None, exclude=True)) for name in CLIENT_OBJECTS}


def declared_model(
    name: str, field: Callable[..., Any], parameters: Sequence[Parameter], *, objects: bool = False
) -> Any:
    """A pydantic model whose fields are ``parameters`` (and the client objects): a base
    class an adapter inherits, so its fields come from the one declaration.

    Example:
        >>> from pydantic import Field
        >>> Model = declared_model("M", Field, GENERATION_PARAMETERS)
        >>> Model(top_k=3).top_k
        3
    """
    from pydantic import BaseModel, create_model  # both adapters' frameworks bring pydantic

    definitions = pydantic_fields(parameters, field)
    if objects:
        definitions |= object_fields(field)
    return create_model(name, __base__=BaseModel, **definitions)  # type: ignore[call-overload]


def client_settings(source: object, *, api_key: object) -> dict[str, Any]:
    """``DashScopeClient`` keyword arguments from an object's :data:`CLIENT_SETTINGS`.

    ``api_key`` is passed separately because each framework stores it its own way
    (a plain string or a ``SecretStr``; the core takes either).

    Example:
        >>> from types import SimpleNamespace
        >>> fields = {**dict.fromkeys(CLIENT_SETTINGS), "workspace": "ws-1"}
        >>> client_settings(SimpleNamespace(**fields), api_key=None)["workspace"]
        'ws-1'
    """
    names = (*CLIENT_SETTINGS, *CLIENT_OBJECTS)
    settings = {"api_key": api_key, **{name: getattr(source, name, None) for name in names}}
    # Values fill_location() resolved for display are not the user's: the core resolves them
    # again per client, so a copy with another region or workspace_in_host still follows it.
    explicit = getattr(source, "model_fields_set", None)
    if explicit is not None:
        settings.update({name: None for name in _RESOLVED if name not in explicit})
    return settings


_read_settings = attrgetter(*CLIENT_SETTINGS, *CLIENT_OBJECTS)


def client_state(source: object, *, key: object) -> tuple[Any, ...]:
    """What :func:`client_settings` reads off an adapter object, as one comparable tuple.

    Equal states give equal settings (and the same resolved location on the object), so
    :meth:`ClientHolder.cached` can answer an unchanged object without building the
    settings dict and wrapping the key on every call. ``key`` is the key object the
    adapter holds (a ``SecretStr``: compared by value, never shown). ``source`` has every
    setting as an attribute and pydantic's ``model_fields_set``.
    """
    explicit = source.model_fields_set  # type: ignore[attr-defined]
    return (key, _read_settings(source), *[name in explicit for name in _RESOLVED])


class ClientHolder:
    """One adapter object's lazily built core client.

    ``get(settings)`` returns the client for ``settings`` (the ``DashScopeClient``
    keyword arguments), building it on first use and rebuilding it, after closing the
    old one, when the settings differ from the last call: a field changed in place
    takes effect. Copies, deep copies and pickles start empty, because connection
    pools are not copyable and belong to the original object.

    Example:
        >>> import copy
        >>> holder = ClientHolder()
        >>> client = holder.get({"api_key": "sk-test", "workspace": "ws-1"})
        >>> holder.get({"api_key": "sk-test", "workspace": "ws-1"}) is client
        True
        >>> copy.copy(holder).built, holder.built
        (False, True)
        >>> holder.close(); holder.built
        False
    """

    __slots__ = ("_client", "_held", "_lock", "_settings")

    def __init__(self) -> None:
        self._client: DashScopeClient | None = None
        self._settings: dict[str, Any] | None = None
        # (state, client) of the last get() given a state: one attribute, read atomically.
        self._held: tuple[Any, DashScopeClient] | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        """True while a client is held (built and not yet closed)."""
        return self._client is not None

    def cached(self, state: object) -> DashScopeClient | None:
        """The client last returned by ``get(..., state=state)``, if the state is unchanged.

        The per-call shortcut: :func:`client_state` is a few attribute reads, where the
        settings dict (with its key wrapped) is built and compared in full by :meth:`get`.
        """
        held = self._held
        return held[1] if held is not None and held[0] == state else None

    def get(self, settings: Mapping[str, Any], *, state: object = None) -> DashScopeClient:
        """The client for ``settings``, built on first use or when they changed.

        ``state`` (see :func:`client_state`) is remembered for :meth:`cached`.
        """
        # The key wrapped at once (LangChain hands it over in clear): neither this frame's
        # locals nor the settings kept for comparison hold it when building the client fails.
        key = settings.get("api_key")
        plain = isinstance(key, str)
        wanted = {**settings, "api_key": SecretStr(key) if isinstance(key, str) else key}
        del settings, key
        with self._lock:
            stale = self._client if self._settings != wanted else None
            if self._client is None or stale is not None:
                # The client gets the key as it was given (it wraps a plain one itself).
                self._client = DashScopeClient(**_as_given(wanted, plain))
                self._settings = wanted
            client = self._client
            self._held = None if state is None else (state, client)
        if stale is not None:
            stale.close()  # its pools would otherwise leak until garbage collection
        return client

    def take(self) -> DashScopeClient | None:
        """Detach and return the client (the next :meth:`get` builds a new one)."""
        with self._lock:
            client, self._client, self._settings, self._held = self._client, None, None, None
        return client

    def close(self) -> None:
        """Close the client's connection pools (a no-op if none was built)."""
        client = self.take()
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Async :meth:`close`: also closes the aiohttp session on the running loop."""
        client = self.take()
        if client is not None:
            await client.aclose()

    def fresh(self) -> ClientHolder:
        """An empty holder, what every copy of the owning object gets."""
        return ClientHolder()

    def __copy__(self) -> ClientHolder:
        return self.fresh()

    def __deepcopy__(self, memo: dict[int, Any]) -> ClientHolder:
        return self.fresh()

    def __reduce__(self) -> tuple[Any, ...]:
        return (ClientHolder, ())

    def __repr__(self) -> str:
        # Never the settings: they hold the API key.
        return f"ClientHolder(built={self.built})"


def _as_given(settings: dict[str, Any], plain: bool) -> dict[str, Any]:
    if not plain:
        return settings
    return {**settings, "api_key": settings["api_key"].get_secret_value()}


class ClientLifecycle(Closeable):
    """Mixin: ``close``/``aclose`` and the context-manager protocols over a holder.

    The class mixing it in provides ``_client_holder`` (a :class:`ClientHolder`).
    The object stays usable after closing: its next call builds a fresh client.

    Example:
        >>> class Thing(ClientLifecycle):
        ...     def __init__(self) -> None:
        ...         self._client_holder = ClientHolder()
        >>> with Thing() as thing:
        ...     _ = thing._client_holder.get({"api_key": "sk-test"})
        >>> thing._client_holder.built
        False
    """

    if TYPE_CHECKING:
        _client_holder: ClientHolder

    def close(self) -> None:
        """Close the cached client's connection pools (a no-op if none was built)."""
        self._client_holder.close()

    async def aclose(self) -> None:
        """Async :meth:`close`: closes the aiohttp session on the running loop too."""
        await self._client_holder.aclose()


if TYPE_CHECKING:
    from pydantic import BaseModel

    class ConnectionFields(BaseModel):
        """The connection settings and client objects as pydantic fields (typed as ``Any``)."""

        def __getattr__(self, name: str) -> Any: ...

    class GenerationFields:
        """The generation parameters as pydantic fields (typed as ``Any``)."""

        def __getattr__(self, name: str) -> Any: ...

else:

    def __getattr__(name: str) -> Any:
        # Built on first use: importing this module must not import pydantic.
        if name in _BASES:
            return _base(name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_BASES: dict[str, Any] = {"ConnectionFields": None, "GenerationFields": None}


def _base(name: str) -> Any:
    """The pydantic base class ``name`` both adapters inherit, derived from the declaration."""
    if _BASES[name] is None:
        from pydantic import Field

        if name == "ConnectionFields":
            _BASES[name] = declared_model(name, Field, CONNECTION_SETTINGS, objects=True)
        else:
            _BASES[name] = declared_model(name, Field, GENERATION_PARAMETERS)
    return _BASES[name]
