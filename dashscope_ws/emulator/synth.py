"""Synthesise JSON values that conform to a JSON Schema, drawing values from the prompt.

Used for ``response_format`` ``json_schema`` replies and for tool-call arguments. A property
whose name appears in the prompt as ``name: value``, ``name = value`` or ``name is value`` takes
that value; other strings come from quoted text or capitalised words in the prompt; numbers from
numbers in the prompt; enums from the enum member the prompt mentions (else the first).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["PromptValues", "synthesise"]

_MAX_DEPTH = 8
# A schema may ask for absurd sizes (minItems: 1e30); the answer stays bounded instead.
_MAX_ITEMS = 100
_MAX_LENGTH = 10_000


def _count(value: Any, default: int, ceiling: int) -> int:
    """A schema size keyword as a bounded int (anything that is not an int: ``default``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return max(0, min(value, ceiling))


def _bound(value: Any) -> float | None:
    """A finite numeric schema bound, else ``None`` (booleans, strings, ±inf, 1e400)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


_FORMATS = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


class PromptValues:
    """Values found in a prompt, handed out to schema properties.

    Example:
        >>> PromptValues("name: Alice, age: 30").named("name")
        'Alice'
    """

    def __init__(self, prompt: str) -> None:
        self.prompt = prompt
        quoted = re.findall(r"[\"“']([^\"”'\n]{1,80})[\"”']", prompt)
        # Capitalised words that do not start a sentence are likely names and places.
        proper = re.findall(r"(?<=[a-z0-9,;:] )([A-Z][\w-]*(?: [A-Z][\w-]*)*)", prompt)
        self._strings = [*quoted, *proper]
        self._numbers = list(re.findall(r"-?\d+(?:\.\d+)?", prompt))

    def named(self, name: str) -> str | None:
        """The value written next to ``name`` in the prompt (``name: value``), if any."""
        variants = {name, name.replace("_", " "), name.replace("_", "")}
        for variant in sorted(variants, key=len, reverse=True):
            pattern = (
                rf"[\"']?\b{re.escape(variant)}\b[\"']?\s*(?:[:=：]|\bis\b|\bof\b)\s*"
                r"[\"“']?([^,;\n\"”'。，；]+?)[\"”']?\s*(?:[,;\n。，；]|\.(?:\s|$)|$)"
            )
            match = re.search(pattern, self.prompt, flags=re.IGNORECASE)
            if match:
                return match.group(1).strip()
        return None

    def next_string(self) -> str | None:
        return self._strings.pop(0) if self._strings else None

    def next_number(self) -> str | None:
        return self._numbers.pop(0) if self._numbers else None


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    seen = 0
    while "$ref" in schema and seen < _MAX_DEPTH:
        ref = str(schema["$ref"])
        node: Any = root
        for part in ref.lstrip("#/").split("/") if ref.startswith("#") else []:
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        schema = node if isinstance(node, Mapping) else {}
        seen += 1
    for combinator in ("anyOf", "oneOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            mappings = [o for o in options if isinstance(o, Mapping)]
            usable = [o for o in mappings if o.get("type") != "null"] or mappings or [{}]
            merged = {k: v for k, v in schema.items() if k != combinator}
            return _resolve({**merged, **usable[0]}, root)
    if isinstance(schema.get("allOf"), list):
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            if isinstance(part, Mapping):
                merged.update(_resolve(part, root))
        return merged
    return schema


def _type_of(schema: Mapping[str, Any]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), "null")
    if isinstance(declared, str):
        return declared
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _coerce_number(raw: str | None, schema: Mapping[str, Any], integer: bool) -> int | float:
    number: float | None = None
    if raw is not None:
        found = re.search(r"-?\d+(?:\.\d+)?", raw)
        number = float(found.group()) if found else None
    if number is None or not math.isfinite(number):  # "1000…0" (400 digits) reads as inf
        number = 1.0
    low = _bound(schema.get("minimum", schema.get("exclusiveMinimum")))
    high = _bound(schema.get("maximum", schema.get("exclusiveMaximum")))
    if low is not None and number < low:
        number = low + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
    if high is not None and number > high:
        number = high - (1 if "exclusiveMaximum" in schema and "maximum" not in schema else 0)
    return int(number) if integer else number


def _string(raw: str | None, schema: Mapping[str, Any], name: str) -> str:
    fmt = schema.get("format")
    value = raw if raw is not None else _FORMATS.get(str(fmt)) if fmt else None
    if value is None:
        value = name.replace("_", " ") if name else "text"
    min_length = _count(schema.get("minLength"), 0, _MAX_LENGTH)
    max_length = _count(schema.get("maxLength"), _MAX_LENGTH, _MAX_LENGTH)
    if len(value) < min_length:
        value = value + "x" * (min_length - len(value))
    if len(value) > max(max_length, min_length):
        value = value[: max(max_length, min_length)]
    return value


def synthesise(
    schema: Mapping[str, Any],
    values: PromptValues,
    *,
    name: str = "",
    root: Mapping[str, Any] | None = None,
    depth: int = 0,
) -> Any:
    """A value conforming to ``schema`` (``root`` resolves ``$ref``; defaults to ``schema``)."""
    root = schema if root is None else root
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        lowered = values.prompt.lower()
        named = values.named(name) if name else None
        for member in schema["enum"]:
            if named is not None and str(member).lower() == named.lower():
                return member
        for member in schema["enum"]:
            if re.search(rf"(?<!\w){re.escape(str(member).lower())}(?!\w)", lowered):
                return member
        return schema["enum"][0]
    kind = _type_of(schema)
    named_value = values.named(name) if name else None
    if kind == "object":
        return _object(schema, values, root, depth)
    if kind == "array":
        items = schema.get("items")
        item_schema: Mapping[str, Any] = items if isinstance(items, Mapping) else {}
        count = max(1, _count(schema.get("minItems"), 1, _MAX_ITEMS))
        if depth >= _MAX_DEPTH:
            return []
        singular = name[:-1] if name.endswith("s") else name
        return [
            synthesise(item_schema, values, name=singular, root=root, depth=depth + 1)
            for _ in range(count)
        ]
    if kind in ("integer", "number"):
        return _coerce_number(named_value or values.next_number(), schema, kind == "integer")
    if kind == "boolean":
        if named_value is not None:
            return named_value.lower() in ("true", "yes", "1", "y", "是")
        return True
    if kind == "null":
        return None
    if named_value is None and "format" not in schema:
        named_value = values.next_string()
    return _string(named_value, schema, name)


def _object(
    schema: Mapping[str, Any], values: PromptValues, root: Mapping[str, Any], depth: int
) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or depth >= _MAX_DEPTH:
        return {}
    required = schema.get("required")
    wanted = list(required) if isinstance(required, list) else list(properties)
    # Optional properties are filled only when the prompt says something about them.
    for prop in properties:
        if prop not in wanted and values.named(prop) is not None:
            wanted.append(prop)
    out: dict[str, Any] = {}
    for prop in properties:
        if prop in wanted:
            sub = properties[prop] if isinstance(properties[prop], Mapping) else {}
            out[prop] = synthesise(sub, values, name=prop, root=root, depth=depth + 1)
    return out
