"""Reading a request body: size limit, UTF-8 and strict JSON, in the service's error shape."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from .wire import ServiceError, invalid

__all__ = ["BAD_BODY", "INVALID", "json_object", "parse_json", "read_json"]

BAD_BODY = "Required body invalid, please check the request body format."
INVALID = object()  # marks a body that is present but not JSON


def _reject_constant(name: str) -> Any:
    # ``NaN``/``Infinity`` are not JSON (RFC 8259); Python's parser accepts them by default.
    raise ValueError(f"not JSON: {name}")


def parse_json(raw: bytes) -> Any:
    """``raw`` parsed as strict JSON: ``None`` if empty, ``INVALID`` if not JSON (or not UTF-8)."""
    if not raw:
        return None
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return INVALID


def json_object(raw: bytes) -> Mapping[str, Any]:
    """``raw`` parsed as a JSON object.

    Raises:
        ServiceError: 400 ``InvalidParameter`` with the service's bad-body message otherwise.
    """
    body = parse_json(raw)
    if not isinstance(body, Mapping):
        raise invalid(BAD_BODY)
    return body


async def read_json(request: web.Request) -> Any:
    """The parsed body: ``None`` if empty, ``INVALID`` if not JSON (or not UTF-8).

    Raises:
        ServiceError: 413 ``BadRequest.TooLarge`` over ``client_max_size`` (the old status
            table's status and the current table's code and message, [DOC-ERR-OLD]/[DOC-ERR-ZH]).
    """
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ServiceError(413, "BadRequest.TooLarge", "Payload Too Large.") from None
    except web.HTTPException as error:
        raise ServiceError(error.status, "InvalidParameter", BAD_BODY) from None
    return parse_json(raw)
