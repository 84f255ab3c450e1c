"""A stream event's usage, parsed when first read rather than when decoded.

DashScope sends the cumulative usage with every stream event, and nearly all of those are
superseded unread: the accumulator and both adapters keep only the last one. Parsing each
on arrival (:func:`~dashscope_ws.wire.parse_usage`) was a tenth of the decoder's time per
event, so the decoder hands out :func:`stream_usage` objects instead.
"""

from __future__ import annotations

from typing import Any

from .types import USAGE_COUNTS, Usage
from .wire import parse_usage

__all__ = ["stream_usage"]


def stream_usage(raw: Any) -> Usage:
    """:func:`~dashscope_ws.wire.parse_usage` for a stream event, parsed when first read.

    The object is a :class:`Usage` for ``isinstance`` from the start, and turns into a
    plain one (its class included) the first time a field is read or it is compared or
    shown (``==``, ``repr``, copied or pickled, ``dataclasses.asdict``/``replace``):
    nothing can tell the difference after. Reading ``raw`` parses nothing.

    Example:
        >>> usage = stream_usage({"input_tokens": 3, "output_tokens": 2})
        >>> usage == Usage(3, 2, 5, raw={"input_tokens": 3, "output_tokens": 2}), type(usage)
        (True, <class 'dashscope_ws.types.Usage'>)
    """
    if raw.__class__ is not dict:
        return parse_usage(raw)
    usage: Usage = _new(_StreamUsage)
    _set(usage, "raw", raw)
    return usage


_new = object.__new__
_set = object.__setattr__
_get = object.__getattribute__


class _StreamUsage(Usage):
    """A :class:`Usage` whose slots hold only ``raw`` until read (see :func:`stream_usage`).

    Reading an unset slot raises ``AttributeError``, which lands in ``__getattr__``: the
    fields are parsed into their slots once and the object becomes a plain ``Usage``.
    """

    __slots__ = ()  # the same layout as Usage, so the class can be switched

    def __getattr__(self, name: str) -> Any:
        if name not in USAGE_COUNTS:
            raise AttributeError(name)
        _parse_in_place(self)
        return _get(self, name)

    def __eq__(self, other: object) -> bool:
        _parse_in_place(self)
        return self == other

    def __repr__(self) -> str:
        _parse_in_place(self)
        return repr(self)

    def __reduce_ex__(self, protocol: Any) -> Any:  # copy and pickle: a plain Usage
        _parse_in_place(self)
        return self.__reduce_ex__(protocol)


def _parse_in_place(usage: Usage) -> None:
    if type(usage) is not _StreamUsage:
        return
    parsed = parse_usage(_get(usage, "raw"))
    for name in USAGE_COUNTS:
        try:
            _get(usage, name)  # set on this object before it was read: kept
        except AttributeError:
            _set(usage, name, _get(parsed, name))
    _set(usage, "__class__", Usage)
