"""The pure upload flow (``dashscope_ws.uploads``), and the whole flow against the emulator."""

from __future__ import annotations

import base64
import dataclasses
import json
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
import requests

from dashscope_ws.client import DashScopeClient
from dashscope_ws.config import ClientConfig, SecretStr
from dashscope_ws.emulator import MAIN_KEY, SUB_KEY, SUB_WORKSPACE, Emulator
from dashscope_ws.errors import APIStatusError, BadRequestError, PermissionDeniedError
from dashscope_ws.http import HTTPRequest
from dashscope_ws.uploads import (
    OSS_RESOLVE_HEADER,
    LocalFile,
    UploadPolicy,
    UploadTooLargeError,
    build_policy_request,
    build_upload_request,
    check_upload_response,
    local_file,
    oss_resolve_headers,
    parse_policy,
)

KEY = "sk-test-uploads"
POLICY_DATA: dict[str, Any] = {
    "policy": "eyJleHBpcmF0aW9uIjoiIn0=",
    "signature": "c2lnbmF0dXJl",
    "upload_dir": "dashscope-instant/abc/2026-11-29/uuid",
    "upload_host": "https://dashscope-file-mgr.oss-cn-beijing.aliyuncs.com",
    "expire_in_seconds": 300,
    "max_file_size_mb": 100,
    "capacity_limit_mb": 999999999,
    "oss_access_key_id": "LTAI-id",
    "x_oss_object_acl": "private",
    "x_oss_forbid_overwrite": "true",
}


def png(width: int, height: int) -> bytes:
    """A tiny valid RGB PNG built with zlib and struct."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def answer(data: Any, status: int = 200) -> tuple[int, dict[str, str], bytes]:
    body = {"request_id": "r-1", "data": data}
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def policy(**overrides: Any) -> UploadPolicy:
    return parse_policy(*answer({**POLICY_DATA, **overrides}))


# -- policy request and answer ----------------------------------------------------------------


def test_policy_request_carries_key_workspace_and_query() -> None:
    config = ClientConfig.resolve(api_key=KEY, workspace="ws-a", env={})
    request = build_policy_request(config, "qwen-vl-plus")
    assert request.method == "GET"
    assert (
        request.url
        == "https://dashscope.aliyuncs.com/api/v1/uploads?action=getPolicy&model=qwen-vl-plus"
    )
    # The key is not a header of the built request: whoever sends it sets ``api_key`` and the
    # transport writes ``Authorization`` (checked against the emulator below).
    assert "Authorization" not in request.headers
    assert request.api_key is None
    assert request.headers["X-DashScope-WorkSpace"] == "ws-a"
    assert "Content-Type" not in request.headers
    assert request.json is None
    other = build_policy_request(config, "my model/1", workspace="ws-b")
    assert other.url.endswith("model=my%20model%2F1")
    assert other.headers["X-DashScope-WorkSpace"] == "ws-b"


def test_policy_request_needs_a_model() -> None:
    config = ClientConfig.resolve(api_key=KEY, env={})
    with pytest.raises(ValueError, match="model"):
        build_policy_request(config, " ")


def test_policy_answer_is_typed() -> None:
    parsed = policy()
    assert parsed.upload_host == POLICY_DATA["upload_host"]
    assert parsed.upload_dir == POLICY_DATA["upload_dir"]
    assert parsed.max_file_size == 100 * 1024 * 1024
    assert (parsed.expire_in_seconds, parsed.capacity_limit_mb) == (300, 999999999)
    assert parsed.request_id == "r-1"
    assert "c2lnbmF0dXJl" not in repr(parsed)  # the signature stays out of logs


def test_policy_answer_tolerates_missing_optional_fields() -> None:
    minimal = {
        k: POLICY_DATA[k]
        for k in ("policy", "signature", "upload_dir", "upload_host", "oss_access_key_id")
    }
    parsed = parse_policy(*answer(minimal))
    assert (parsed.x_oss_object_acl, parsed.x_oss_forbid_overwrite) == ("private", "true")
    assert parsed.max_file_size is None
    assert (
        parse_policy(
            *answer({**minimal, "max_file_size_mb": "NaN", "x_oss_forbid_overwrite": True})
        ).x_oss_forbid_overwrite
        == "true"
    )


@pytest.mark.parametrize("missing", ["upload_host", "policy", "signature"])
def test_policy_answer_without_a_needed_field_is_a_typed_error(missing: str) -> None:
    data = {k: v for k, v in POLICY_DATA.items() if k != missing}
    with pytest.raises(APIStatusError, match=missing) as caught:
        parse_policy(*answer(data))
    assert caught.value.code == "InvalidResponse"


def test_policy_request_id_falls_back_to_the_header() -> None:
    # The same reading as every other answer (wire.request_id_of): body first, then header.
    data = {k: v for k, v in POLICY_DATA.items() if k != "signature"}
    headers = {"Content-Type": "application/json", "X-Request-Id": "hdr-1"}
    with pytest.raises(APIStatusError) as caught:
        parse_policy(200, headers, json.dumps({"data": data}).encode())
    assert caught.value.request_id == "hdr-1"
    parsed = parse_policy(200, headers, json.dumps({"data": POLICY_DATA}).encode())
    assert parsed.request_id == "hdr-1"
    assert (
        parse_policy(
            200, headers, json.dumps({"data": POLICY_DATA, "request_id": "b"}).encode()
        ).request_id
        == "b"
    )


def test_policy_error_answers_are_mapped() -> None:
    body = json.dumps(
        {"code": "Model.AccessDenied", "message": "Model access denied.", "request_id": "r"}
    )
    with pytest.raises(PermissionDeniedError):
        parse_policy(403, {"Content-Type": "application/json"}, body.encode())
    with pytest.raises(APIStatusError):
        parse_policy(200, {}, b"[]")


# -- the upload form --------------------------------------------------------------------------


def _form(body: bytes, content_type: str) -> list[tuple[str, str | None, bytes]]:
    boundary = content_type.split("boundary=")[1].encode()
    parts = []
    for chunk in body.split(b"--" + boundary)[1:-1]:
        head, _, value = chunk[2:].partition(b"\r\n\r\n")
        text = head.decode()
        name = text.split('name="')[1].split('"')[0]
        filename = text.split('filename="')[1].split('"')[0] if "filename=" in text else None
        parts.append((name, filename, value[:-2]))
    return parts


def test_upload_request_sends_the_sdk_fields_first_then_the_file() -> None:
    upload = build_upload_request(policy(), LocalFile("cat.png", b"\x89PNG-data", "image/png"))
    request = upload.request
    assert (request.method, request.url) == ("POST", POLICY_DATA["upload_host"])
    assert "Authorization" not in request.headers
    parts = _form(request.body, request.headers["Content-Type"])
    names = [name for name, _, _ in parts]
    assert names == [
        "OSSAccessKeyId", "Signature", "policy", "key", "x-oss-object-acl",
        "x-oss-forbid-overwrite", "success_action_status", "x-oss-content-type", "file",
    ]  # fmt: skip
    values = {name: value for name, _, value in parts}
    key = f"{POLICY_DATA['upload_dir']}/cat.png"
    assert values["key"] == key.encode()
    assert values["success_action_status"] == b"200"
    assert values["x-oss-content-type"] == b"image/png"
    assert parts[-1] == ("file", "cat.png", b"\x89PNG-data")
    assert upload.oss_url == f"oss://{key}"


def test_a_file_name_cannot_escape_the_upload_dir() -> None:
    upload = build_upload_request(policy(), LocalFile('../../x"y\r\n.png', b"1"))
    assert upload.oss_url == f"oss://{POLICY_DATA['upload_dir']}/x_y_.png"


def test_the_size_is_checked_against_the_policy_before_uploading() -> None:
    small = policy(max_file_size_mb=0.001)
    build_upload_request(small, LocalFile("ok.bin", b"x" * 1048))
    with pytest.raises(UploadTooLargeError) as caught:
        build_upload_request(small, LocalFile("big.bin", b"x" * 1049))
    assert (caught.value.size, caught.value.limit) == (1049, 1048)
    build_upload_request(policy(max_file_size_mb=None), LocalFile("any.bin", b"x" * 5000))


def test_upload_answers() -> None:
    check_upload_response(200, {}, b"")
    check_upload_response(204, {}, b"")
    xml = (
        b"<Error><Code>EntityTooLarge</Code><Message>Too big.</Message>"
        b"<RequestId>o-1</RequestId></Error>"
    )
    with pytest.raises(BadRequestError) as caught:
        check_upload_response(400, {}, xml)
    assert (caught.value.code, caught.value.message, caught.value.request_id) == (
        "EntityTooLarge",
        "Too big.",
        "o-1",
    )
    with pytest.raises(APIStatusError) as plain:
        check_upload_response(502, {}, b"bad gateway")
    assert (plain.value.code, plain.value.message) == ("UploadFailed", "bad gateway")


def test_resolve_header() -> None:
    assert oss_resolve_headers() == {OSS_RESOLVE_HEADER: "enable"}
    assert OSS_RESOLVE_HEADER == "X-DashScope-OssResourceResolve"


# -- local sources ----------------------------------------------------------------------------


def test_a_path_a_pathlike_and_a_file_url(tmp_path: Path) -> None:
    image = tmp_path / "photo one.png"
    image.write_bytes(png(2, 2))
    for source in (str(image), image, image.as_uri()):
        loaded = local_file(source)
        assert (loaded.filename, loaded.mime_type, loaded.content) == (
            "photo one.png",
            "image/png",
            png(2, 2),
        )


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file URL forms")
def test_file_url_forms_the_official_sdk_accepts(tmp_path: Path) -> None:
    image = tmp_path / "a.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0")
    assert local_file(f"file://{image}").mime_type == "image/jpeg"


def test_bytes_are_named_and_typed_from_their_magic_number() -> None:
    assert local_file(png(1, 1)).mime_type == "image/png"
    assert local_file(png(1, 1)).filename == "upload.png"
    assert local_file(b"\xff\xd8\xff\xdb").mime_type == "image/jpeg"
    assert local_file(b"RIFF\x00\x00\x00\x00WAVEfmt ").mime_type.startswith("audio/")
    unknown = local_file(bytearray(b"plain"))
    assert (unknown.mime_type, unknown.filename) == ("application/octet-stream", "upload.bin")
    named = local_file(b"x", filename="notes.txt", mime_type="text/plain")
    assert (named.filename, named.mime_type) == ("notes.txt", "text/plain")


def test_base64_data_urls() -> None:
    loaded = local_file("data:image/png;base64," + base64.b64encode(png(3, 1)).decode())
    assert (loaded.content, loaded.mime_type, loaded.filename) == (
        png(3, 1),
        "image/png",
        "upload.png",
    )
    with pytest.raises(ValueError, match="base64"):
        local_file("data:image/png,raw")
    with pytest.raises(ValueError, match="base64"):
        local_file("data:image/png;base64,@@@")


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        local_file(tmp_path / "missing.png")
    with pytest.raises(FileNotFoundError):
        local_file(str(tmp_path))  # a directory
    with pytest.raises(ValueError, match="int"):
        local_file(42)  # type: ignore[arg-type]


# -- end to end against the emulator ----------------------------------------------------------


def _send(request: Any, api_key: SecretStr | None = None) -> tuple[int, dict[str, str], bytes]:
    """Send a built request with plain ``requests``; ``api_key`` for DashScope (not OSS) calls."""
    if api_key is not None:
        request = dataclasses.replace(request, api_key=api_key)
    body = getattr(request, "body", None)
    response = requests.request(
        request.method,
        request.url,
        headers=request.wire_headers() if isinstance(request, HTTPRequest) else request.headers,
        data=body,
        json=request.json if body is None else None,
        timeout=30,
    )
    return response.status_code, dict(response.headers), response.content


@pytest.mark.parametrize("identity", ["main", "sub"])
def test_a_local_png_goes_through_the_upload_flow(
    dashscope_emulator: Emulator, tmp_path: Path, identity: str
) -> None:
    key, workspace = (MAIN_KEY, None) if identity == "main" else (SUB_KEY, SUB_WORKSPACE)
    config = ClientConfig.resolve(
        api_key=key, workspace=workspace, base_url=dashscope_emulator.base_url, env={}
    )
    image = tmp_path / "chart.png"
    image.write_bytes(png(37, 21))

    policy_request = build_policy_request(config, "qwen-vl-plus")
    upload_policy = parse_policy(*_send(policy_request, config.api_key))
    upload = build_upload_request(upload_policy, local_file(image.as_uri()))
    check_upload_response(*_send(upload.request))  # OSS: the signed policy, never the key

    messages = [{"role": "user", "content": [{"image": upload.oss_url}, {"text": "Describe it"}]}]
    with DashScopeClient(
        api_key=key,
        workspace=workspace,
        base_url=dashscope_emulator.base_url,
        default_headers=oss_resolve_headers(),
    ) as client:
        text = client.chat(messages, model="qwen-vl-plus").text
    assert "1 image (37x21)" in text


def test_an_upload_over_the_emulator_limit_is_refused_before_sending(
    dashscope_emulator: Emulator,
) -> None:
    dashscope_emulator.uploads.max_file_size_mb = 0.0001
    config = ClientConfig.resolve(api_key=MAIN_KEY, base_url=dashscope_emulator.base_url, env={})
    policy_request = build_policy_request(config, "qwen-vl-plus")
    upload_policy = parse_policy(*_send(policy_request, config.api_key))
    with pytest.raises(UploadTooLargeError):
        build_upload_request(upload_policy, local_file(png(64, 64)))
    before = len(dashscope_emulator.requests)
    assert before == 1  # only the policy call reached the server
