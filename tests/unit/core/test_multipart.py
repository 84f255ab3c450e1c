"""multipart/form-data encoding, checked by parsing the body back with the stdlib."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP

import pytest

from dashscope_ws.multipart import FilePart, encode_multipart


def _parse(content_type: str, body: bytes) -> list[tuple[str, str | None, bytes]]:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    return [
        (part.get_param("name", header="content-disposition"), part.get_filename(),
         part.get_payload(decode=True))
        for part in message.iter_parts()
    ]  # fmt: skip


def test_fields_come_before_files_and_round_trip() -> None:
    payload = bytes(range(256)) * 3  # binary, including CR/LF bytes
    ctype, body = encode_multipart(
        {"purpose": "batch", "key": "dir/a.png"},
        {"file": FilePart("a.png", payload, "image/png")},
    )
    assert ctype.startswith("multipart/form-data; boundary=")
    assert _parse(ctype, body) == [
        ("purpose", None, b"batch"),
        ("key", None, b"dir/a.png"),
        ("file", "a.png", payload),
    ]


def test_boundaries_differ_between_calls() -> None:
    assert encode_multipart({}, {})[0] != encode_multipart({}, {})[0]


@pytest.mark.parametrize("name", ['a"b', "a\rb", "a\nb"])
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="may not contain"):
        encode_multipart({name: "v"}, {})
    with pytest.raises(ValueError, match="may not contain"):
        encode_multipart({}, {"file": FilePart(name, b"")})
