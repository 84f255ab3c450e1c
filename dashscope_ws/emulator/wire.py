"""Byte-level output of the emulator: JSON bodies, SSE events and service errors."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from aiohttp import web

__all__ = [
    "SSE_CONTENT_TYPE",
    "ServiceError",
    "dumps",
    "error_event",
    "json_response",
    "new_request_id",
    "result_event",
]

SSE_CONTENT_TYPE = "text/event-stream;charset=UTF-8"


def new_request_id() -> str:
    """A request id in the service's format (a UUID string)."""
    return str(uuid.uuid4())


def dumps(payload: Any) -> str:
    """Compact one-line JSON, non-ASCII kept as is (as the service sends it)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def json_response(
    body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON answer encoded like the service's (:func:`dumps`: compact, UTF-8 as is)."""
    return web.Response(
        text=dumps(body), status=status, headers=headers, content_type="application/json"
    )


def result_event(number: int, payload: Any) -> bytes:
    """One ``event:result`` SSE event, framed exactly like the service (no space after colons)."""
    return f"id:{number}\nevent:result\n:HTTP_STATUS/200\ndata:{dumps(payload)}\n\n".encode()


def error_event(status: int, body: Any, *, status_line: bool = False) -> bytes:
    """One ``event:error`` SSE event; ``status_line`` adds the ``status:`` line SDK 1.x reads."""
    extra = f"status:{status}\n" if status_line else ""
    return f"event:error\n:HTTP_STATUS/{status}\n{extra}data:{dumps(body)}\n\n".encode()


class ServiceError(Exception):
    """A failure the emulated service answers with ``{"code", "message", "request_id"}``.

    Example:
        >>> ServiceError(400, "InvalidParameter", "Model not exist.").status
        400
    """

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self, request_id: str) -> dict[str, str]:
        """The JSON error body."""
        return {"code": self.code, "message": self.message, "request_id": request_id}


def invalid(message: str, code: str = "InvalidParameter") -> ServiceError:
    """A 400 ``InvalidParameter`` (or another 400 code) error."""
    return ServiceError(400, code, message)
