"""Constructor arguments of the adapter classes: one table of spellings, one check.

Every LangChain and LlamaIndex class of this project runs :func:`check_arguments` on its
keyword arguments (through its framework's settings mixin): an unknown name fails naming
the closest valid one, every spelling in :data:`SPELLINGS` maps to the class's own field,
and two spellings of one setting fail. :func:`lift_parameters` moves declared parameters out
of ``model_kwargs`` (langchain-community's habit); :func:`given_parameters` reads the set
ones back on every call. Re-exported by
:mod:`dashscope_ws._adapter_settings`; imports nothing but the standard library.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Collection, Iterable, Mapping
from typing import Any

__all__ = [
    "SPELLINGS",
    "ArgumentError",
    "accepted_arguments",
    "check_arguments",
    "given_parameters",
    "lift_parameters",
]


# The names one setting is accepted under, in every class of both adapters that has the
# setting: the first spelling each framework's own integrations used and ours. A class
# stores the value under whichever spelling is its field (``model`` on ChatDashScope,
# ``model_name`` on LlamaIndex's DashScopeEmbedding, whose base class owns that field).
# docs/configuration.md shows this table; tests/unit/test_spellings.py checks they agree.
SPELLINGS: tuple[tuple[str, ...], ...] = (
    ("model", "model_name"),
    ("api_key", "dashscope_api_key"),
    ("workspace", "workspace_id"),
    ("base_url", "dashscope_base_url"),
    ("max_tokens", "max_output_tokens"),
    ("dimensions", "dimension"),
    ("model_kwargs", "additional_kwargs"),
)


class ArgumentError(TypeError):
    """A constructor argument no class takes, or two spellings of one setting.

    A ``TypeError``, like Python's own "unexpected keyword argument", so that it is never
    folded into a pydantic ``ValidationError`` and reads the same in both frameworks.

    Example:
        >>> check_arguments("Thing", {"temprature": 0.1}, {"temperature"})
        Traceback (most recent call last):
        ...
        dashscope_ws._arguments.ArgumentError: Thing() got an unexpected argument \
'temprature'; did you mean 'temperature'?
    """


@functools.cache  # per class: fields do not change after the class is built
def accepted_arguments(model: Any, *extra: str) -> frozenset[str]:
    """A pydantic model class's constructor argument names: fields, their aliases, ``extra``."""
    names = set(extra)
    for name, info in model.model_fields.items():
        names.add(name)
        if isinstance(info.alias, str):
            names.add(info.alias)
        choices = getattr(info.validation_alias, "choices", None)
        names.update(c for c in choices or () if isinstance(c, str))
        if isinstance(info.validation_alias, str):
            names.add(info.validation_alias)
    return frozenset(names)


def check_arguments(
    owner: str, data: Mapping[str, Any], accepted: Collection[str], *, hints: Collection[str] = ()
) -> dict[str, Any]:
    """Constructor arguments with every spelling mapped to the class's own name.

    Args:
        owner: the class name used in error messages.
        data: the keyword arguments as given.
        accepted: the names the class takes (see :func:`accepted_arguments`).
        hints: further names to suggest (arguments taken before ``data`` was collected).

    Raises:
        ArgumentError: for a name neither accepted nor a spelling of one (naming the closest
            valid name), or two spellings of one setting both given.

    Example:
        >>> check_arguments("DashScope", {"model_name": "qwen-max"}, {"model"})
        {'model': 'qwen-max'}
        >>> check_arguments("X", {"model": "a", "model_name": "b"}, {"model"})
        Traceback (most recent call last):
        ...
        dashscope_ws._arguments.ArgumentError: X(): pass model or model_name, not both
    """
    out = dict(data)
    known = set(accepted)
    for group in SPELLINGS:
        target = next((name for name in group if name in known), None)
        if target is None:
            continue
        known.update(group)
        given = [name for name in group if name in out]
        values = [out.pop(name) for name in given]
        if len(given) > 1 and sum(value is not None for value in values) > 1:
            raise ArgumentError(f"{owner}(): pass {' or '.join(given)}, not both")
        if given:
            out[target] = next((v for v in values if v is not None), None)
    unknown = [name for name in out if name not in known]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, sorted(known | set(hints)), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ArgumentError(f"{owner}() got an unexpected argument {name!r}{hint}")
    return out


def lift_parameters(
    owner: str, data: Mapping[str, Any], key: str, names: Collection[str]
) -> dict[str, Any]:
    """Move declared parameters found in the extra-parameters dict ``data[key]`` to arguments.

    langchain-community's classes took ``model_kwargs={"temperature": 0.1}``; here those
    become the validated fields (same bounds as ``temperature=0.1``). A parameter given
    both ways is an error rather than one silently winning.

    Example:
        >>> data = {"model_kwargs": {"top_p": 0.5, "n": 1}}
        >>> lift_parameters("X", data, "model_kwargs", {"top_p"})
        {'model_kwargs': {'n': 1}, 'top_p': 0.5}
    """
    out = dict(data)
    extra = dict(out.get(key) or {})
    for name in [name for name in extra if name in names]:
        if out.get(name) is not None:
            raise ArgumentError(f"{owner}(): pass {name} as an argument or in {key}, not both")
        out[name] = extra.pop(name)
    if key in out:
        out[key] = extra
    return out


def refuse_fields_in_extra(
    owner: str, extra: Mapping[str, Any], key: str, fields: Collection[str]
) -> None:
    """Refuse constructor fields hidden in the extra-parameters dict ``key`` of ``owner``.

    A field (``workspace``, ``model``, ``api_key``, ...) given in ``model_kwargs`` /
    ``additional_kwargs`` would be sent as a wire parameter or silently lose to the field; the
    same rule for every class of both frameworks.

    Example:
        >>> try:
        ...     refuse_fields_in_extra("X", {"workspace": "ws"}, "model_kwargs", {"workspace"})
        ... except ValueError as error:
        ...     print(error.args[0][:35])
        X(): model_kwargs ['workspace'] mus
    """
    clash = sorted(set(extra) & (set(fields) | {"stream", "api_key"}))
    if clash:
        # ValueError (not ArgumentError, a TypeError): inside a pydantic validator it becomes
        # the ValidationError LangChain users expect; LlamaIndex raises it as it is.
        raise ValueError(
            f"{owner}(): {key} {clash} must be passed as constructor arguments, not in {key}"
        )


def given_parameters(obj: object, names: Iterable[str]) -> dict[str, Any]:
    """The parameter fields ``names`` of a pydantic adapter object that are not ``None``.

    Read on every call of a model, so straight from ``__dict__`` (where pydantic keeps
    field values): about three times faster than ``getattr`` plus a second filter.

    Example:
        >>> from types import SimpleNamespace
        >>> given_parameters(SimpleNamespace(top_k=3, seed=None), ("top_k", "seed"))
        {'top_k': 3}
    """
    fields = obj.__dict__
    return {name: value for name in names if (value := fields[name]) is not None}
