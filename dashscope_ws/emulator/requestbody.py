"""Reading a request body: size limit, UTF-8 and strict JSON, in the service's error shape."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .wire import ServiceError

__all__ = ["BAD_BODY", "INVALID", "read_json"]

BAD_BODY = "Required body invalid, please check the request body format."
INVALID = object()  # marks a body that is present but not JSON


def _reject_constant(name: str) -> Any:
    # ``NaN``/``Infinity`` are not JSON (RFC 8259); Python's parser accepts them by default.
    raise ValueError(f"not JSON: {name}")


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
    if not raw:
        return None
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return INVALID
