"""WHATWG server-sent events, decoded from bytes (pure): ``SSEDecoder`` and ``SSEEvent``.

Lines end in ``\\n``, ``\\r\\n`` or ``\\r`` (a ``\\r\\n`` split across two reads is one
line end), comments are ignored, ``data`` lines are joined with ``\\n`` and an incomplete
event at end of input is discarded. Each read has its line ends normalised to ``\\n``
(two C-level ``replace`` calls, only when a ``\\r`` is present); complete events are cut
at ``b"\\n\\n"`` with one ``bytes.split`` per read that completes any, and each event is
decoded from UTF-8 once, so a character split across reads is never seen half-decoded. An
incomplete event is searched from where the last search stopped, so a multi-megabyte line
costs linear time whatever the read size.

Memory is bounded: a line or an event longer than ``max_line_bytes`` (default 16 MiB,
h11's ``max_incomplete_event_size`` idea) raises ``StreamProtocolError`` naming the limit
instead of growing the buffer until the process dies.

The one DashScope detail here: the ``:HTTP_STATUS/NNN`` comment each event carries is
kept as ``SSEEvent.http_status`` (the real status of an in-stream error).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import StreamProtocolError

__all__ = ["DEFAULT_MAX_LINE_BYTES", "SSEDecoder", "SSEEvent"]

DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
"""Longest line, and largest single event, an ``SSEDecoder`` accepts by default."""
_BOM = b"\xef\xbb\xbf"
_STATUS_PREFIX = b"HTTP_STATUS/"
_STATUS_COMMENTS = {b":HTTP_STATUS/%d" % code: code for code in range(100, 600)}
# Byte values, not one-byte strings, as needles for ``in``: ``b"\n" in data`` first tries
# the needle as an int and pays for a TypeError on every call.
_LF, _CR, _NUL, _SPACE = b"\n\r\0 "
_RESULT_200 = b"\nevent:result\n:HTTP_STATUS/200\ndata:"  # what follows the id line, in general


@dataclass(slots=True)
class SSEEvent:
    """One dispatched server-sent event.

    ``status`` is DashScope's optional ``status:`` field and ``http_status`` the
    code from the event's ``:HTTP_STATUS/NNN`` comment; both describe the real
    status of an in-stream error (the HTTP status line already said 200).

    Example:
        >>> SSEDecoder().feed(b"event:result\\ndata:{}\\n\\n")[0].event
        'result'
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None
    status: int | None = None
    http_status: int | None = None


class SSEDecoder:
    """Bytes in, :class:`SSEEvent` out; feed it whatever the socket returns.

    Args:
        max_line_bytes: the longest line, and the largest single event, accepted;
            beyond it ``StreamProtocolError`` is raised and the buffer is dropped.

    Example:
        >>> decoder = SSEDecoder()
        >>> decoder.feed(b"data:hel")
        []
        >>> [e.data for e in decoder.feed(b"lo\\r\\n\\r\\n")]
        ['hello']
    """

    def __init__(self, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        if max_line_bytes < 1:
            raise ValueError(f"max_line_bytes must be at least 1, got {max_line_bytes}")
        self.max_line_bytes = max_line_bytes
        self._buf = bytearray()  # the current, incomplete event (line ends normalised)
        self._scan = 0  # where the next search for b"\n\n" in _buf starts
        self._pending_cr = False  # last read ended in "\r": a leading "\n" is not a new line
        self._head: bytes | None = b""  # bytes seen while a BOM may still be arriving
        self._last_id: bytes | None = None  # raw: decoded only for an SSEEvent (see _id)
        self._error: StreamProtocolError | None = None

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Decode ``data`` and return the events it completed.

        Raises:
            StreamProtocolError: a line or event exceeded ``max_line_bytes`` (when this
                read completed events first, they are returned and the next call raises).
        """
        return [event for block in self.blocks(data) if (event := self._event(block))]

    def close(self) -> list[SSEEvent]:
        """End of input: an event without its blank line is discarded (WHATWG)."""
        if self._error is not None:
            raise self._error
        self._buf = bytearray()
        self._scan = 0
        return []

    def blocks(self, data: bytes) -> list[bytes]:
        """The raw complete events (``\\n``-separated lines) that ``data`` finished."""
        if self._error is not None:
            raise self._error
        if self._head is not None:  # start of stream: drop a BOM, even one split across reads
            data = self._head + data
            if len(data) < 3 and _BOM.startswith(data):
                self._head = data
                return []
            self._head = None
            if data.startswith(_BOM):
                data = data[3:]
        if self._pending_cr:
            self._pending_cr = False
            if data[:1] == b"\n":
                data = data[1:]
        if _CR in data:
            self._pending_cr = data[-1:] == b"\r"
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buf = self._buf
        limit = self.max_line_bytes
        text = data
        if buf:
            buf += data
            if buf.find(b"\n\n", self._scan) < 0:  # still inside one event: nothing to cut
                if len(buf) > limit:
                    return self._fail([])
                self._scan = len(buf) - 1
                return []
            # Events complete: work on bytes (one copy of consumed input). The part before
            # _scan holds no b"\n\n", so the split below reads each byte once more at most.
            text = bytes(buf)
            buf.clear()
        # One C-level split; the last piece is the incomplete rest, empty pieces are runs
        # of blank lines (no event).
        blocks = text.split(b"\n\n")
        rest = blocks.pop()
        if b"" in blocks:
            blocks = [block for block in blocks if block]
        if len(text) > limit:  # only then can a piece be too long: keep the events before it
            for count, block in enumerate(blocks):
                if len(block) > limit:
                    return self._fail(blocks[:count])
            if len(rest) > limit:
                return self._fail(blocks)
        if rest:
            buf += rest
        self._scan = len(buf) - 1 if buf else 0
        return blocks

    def _fail(self, blocks: list[bytes]) -> list[bytes]:
        self._buf = bytearray()  # release the memory now
        self._error = StreamProtocolError(
            f"stream line or event exceeds max_line_bytes={self.max_line_bytes}"
        )
        if not blocks:
            raise self._error
        return blocks

    def _event(self, block: bytes) -> SSEEvent | None:
        data = self.result_data(block)
        if data is not None:
            return SSEEvent("result", data, self._id(), None, None, 200)
        return self._generic_event(block)

    def _id(self) -> str | None:
        return None if self._last_id is None else self._last_id.decode("utf-8", "replace")

    def result_data(self, block: bytes) -> str | None:
        """The data of a block in DashScope's exact result shape, else ``None``.

        The fast path: ``id:N / event:result / :HTTP_STATUS/200 / data:...`` (nearly every
        event) checked with one comparison after the id line and decoded with one copy, with
        the same effect as the WHATWG loop (``last_id`` is updated); any other block returns
        ``None`` and must go through the loop.
        """
        end = block.find(b"\n")  # of the id line
        if block[end : end + 36] == _RESULT_200 and block[:3] == b"id:":
            data = block[end + 36 :]
            if data and data[0] == _SPACE:
                data = data[1:]
            if _LF not in data:
                value = block[4:end] if block[3] == _SPACE else block[3:end]
                if _NUL not in value:
                    self._last_id = value
                return data.decode("utf-8", "replace")
        return None

    def _generic_event(self, block: bytes) -> SSEEvent | None:
        # Ordered for DashScope's "id / event:result / :HTTP_STATUS/200 / data" events;
        # the exact-line checks are shortcuts, the generic branch is the WHATWG rule.
        data: list[bytes] = []
        event: str | None = None
        retry = status = http_status = None
        for line in block.split(b"\n"):
            if line[:5] == b"data:":
                data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif line[:1] == b":":  # a comment; DashScope puts the real status in one
                code = _STATUS_COMMENTS.get(line) or _comment_status(line)
                if code is not None:
                    http_status = code
            elif line == b"event:result":
                event = "result"
            elif line[:3] == b"id:":
                value = line[4:] if line[3:4] == b" " else line[3:]
                if _NUL not in value:
                    self._last_id = value
            elif line:  # an empty line only occurs at the start of a block: no event
                name, colon, value = line.partition(b":")
                if colon and value[:1] == b" ":
                    value = value[1:]
                if name == b"data":
                    data.append(value)  # "data" without a colon
                elif name == b"event":
                    event = value.decode("utf-8", "replace")
                elif name == b"id":
                    if _NUL not in value:
                        self._last_id = value
                elif name == b"retry":
                    if value.isdigit():
                        retry = int(value)
                elif name == b"status" and value.strip().isdigit():
                    status = int(value.strip())
        if not data and not event:
            return None
        return SSEEvent(
            event or "message",
            (data[0] if len(data) == 1 else b"\n".join(data)).decode("utf-8", "replace"),
            self._id(),
            retry,
            status,
            http_status,
        )


def _comment_status(line: bytes) -> int | None:
    """The code of an ``:HTTP_STATUS/NNN`` comment written some other way, else ``None``."""
    rest = line[1:].lstrip()
    digits = rest[12:15]
    if rest.startswith(_STATUS_PREFIX) and len(digits) == 3 and digits.isdigit():
        return int(digits)
    return None
