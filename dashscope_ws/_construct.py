"""Build pydantic model instances from already-valid values, without validation.

Streaming adapters create a framework object per chunk (LangChain's ``AIMessageChunk``,
LlamaIndex's ``ChatResponse``) from values they built themselves and that are valid by
construction. Pydantic's ``model_construct`` is the documented way to skip validation,
but it is pure Python and inspects every default factory's signature on each call
(measured slower than validating). This sets exactly the four attributes
``model_construct`` sets (pydantic 2.x ``BaseModel.__slots__``). Callers pass every field;
tests compare the result with the validated constructor (``==`` and ``model_dump``) so
that a pydantic or framework upgrade that changes the contract fails loudly.
No pydantic import here: the core package stays framework-free.
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["construct"]

T = TypeVar("T")
_setattr = object.__setattr__
# pydantic models define no ``__new__``: calling object's directly skips the MRO lookup.
_new = object.__new__


def construct(
    cls: type[T],
    values: dict[str, Any],
    fields_set: set[str],
    *,
    extra: dict[str, Any] | None = None,
    private: dict[str, Any] | None = None,
) -> T:
    """An instance of pydantic model ``cls`` holding ``values`` (every field, unvalidated).

    Args:
        cls: the pydantic model class.
        values: a value for every field of ``cls`` (the dict becomes the instance's).
        fields_set: the fields counted as explicitly set (``model_fields_set``).
        extra: ``{}`` for models with ``extra="allow"``, else ``None``.
        private: the private attributes' values, if the model declares any.

    Example:
        >>> from pydantic import BaseModel
        >>> class Point(BaseModel):
        ...     x: int
        >>> construct(Point, {"x": 1}, {"x"}) == Point(x=1)
        True
    """
    obj = _new(cls)
    _setattr(obj, "__dict__", values)
    _setattr(obj, "__pydantic_fields_set__", fields_set)
    _setattr(obj, "__pydantic_extra__", extra)
    _setattr(obj, "__pydantic_private__", private)
    return obj
