"""Multimodal endpoint: part validation, media summary, routing, and the OSS upload flow."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import requests
from emulator_testkit import MM_PATH, TEXT_PATH, Call, jpeg_header, png_bytes

from dashscope_ws.emulator import MAIN_KEY, OTHER_WORKSPACE, SUB_KEY, SUB_WORKSPACE, Emulator
from dashscope_ws.emulator.multimodal import BAD_URL, CERTAIN_MODAL, DOWNLOAD_FAILED

URL_ERROR = "url error, please check url！"
RESOLVE = {"X-DashScope-OssResourceResolve": "enable"}


def mm_body(parts: list[Any], model: str = "qwen-vl-plus", **parameters: Any) -> dict[str, Any]:
    return {
        "model": model,
        "input": {"messages": [{"role": "user", "content": parts}]},
        "parameters": parameters,
    }


def answer_text(response: requests.Response) -> str:
    assert response.status_code == 200, response.text
    content = response.json()["output"]["choices"][0]["message"]["content"]
    return "".join(part["text"] for part in content)


def error_of(response: requests.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["message"]


def data_url(content: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"


# -- parts ------------------------------------------------------------------------------------


def test_the_answer_shows_the_media_received_and_image_sizes(call: Call) -> None:
    parts = [
        {"image": data_url(png_bytes(64, 32))},
        {"image": data_url(jpeg_header(640, 480), "image/jpeg")},
        {"image": "https://example.com/remote.png"},
        {"video": ["https://example.com/f1.jpg", "https://example.com/f2.jpg"]},
        {"audio": "https://example.com/a.mp3"},
        {"text": "What is in these?"},
    ]
    text = answer_text(call(MM_PATH, mm_body(parts)))
    assert text.startswith(
        "I received 3 images (64x32, 640x480, size unknown), 1 video (2 frames) and 1 audio."
    )
    assert "What is in these?" in text


def test_a_text_only_multimodal_request_has_no_media_sentence(call: Call) -> None:
    assert "I received" not in answer_text(call(MM_PATH, mm_body([{"text": "Hi"}])))


@pytest.mark.parametrize(
    "part",
    [
        {"picture": "https://example.com/a.png"},
        {"image": "https://example.com/a.png", "text": "two modalities"},
        {"image": 42},
        {"image": ""},
        {"video": []},
        {"video": [1, 2]},
        {"audio": ["https://example.com/a.mp3"]},
        {"text": ["not", "a", "string"]},
        "a bare string",
        {},
    ],
)
def test_a_part_that_is_not_one_modality_is_refused(call: Call, part: Any) -> None:
    assert error_of(call(MM_PATH, mm_body([part]))) == (400, "InvalidParameter", CERTAIN_MODAL)


@pytest.mark.parametrize(
    "url",
    ["file:///tmp/a.png", "/tmp/a.png", "ftp://h/a.png", "data:image/png,raw", "data:;base64,@@"],
)
def test_a_url_the_service_cannot_read_is_refused(call: Call, url: str) -> None:
    assert error_of(call(MM_PATH, mm_body([{"image": url}]))) == (400, "InvalidParameter", BAD_URL)


def test_part_hints_are_accepted(call: Call) -> None:
    parts = [{"image": "https://example.com/a.png", "min_pixels": 3136, "max_pixels": 12845056}]
    assert "1 image" in answer_text(call(MM_PATH, mm_body(parts)))


# -- routing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["qwen-vl-plus", "qwen3-vl-plus", "qwen3.6-plus", "qwen3.7-plus"])
def test_a_multimodal_model_on_the_text_path_is_a_url_error(call: Call, model: str) -> None:
    body = {"model": model, "input": {"messages": [{"role": "user", "content": "hi"}]}}
    assert error_of(call(TEXT_PATH, body)) == (400, "InvalidParameter", URL_ERROR)


def test_a_text_model_on_the_multimodal_path_is_a_url_error(call: Call) -> None:
    response = call(MM_PATH, mm_body([{"text": "hi"}], model="qwen-plus"))
    assert error_of(response) == (400, "InvalidParameter", URL_ERROR)


@pytest.mark.parametrize("model", ["qwen-omni-turbo", "qwen3-omni-flash"])
@pytest.mark.parametrize("path", [TEXT_PATH, MM_PATH])
def test_omni_models_are_refused_on_both_native_paths(call: Call, model: str, path: str) -> None:
    response = call(path, mm_body([{"text": "hi"}], model=model), stream=True)
    assert error_of(response) == (400, "InvalidParameter", URL_ERROR)


def test_the_new_families_answer_on_the_multimodal_path(call: Call) -> None:
    parts = [{"image": data_url(png_bytes(3, 4))}, {"text": "size?"}]
    assert "(3x4)" in answer_text(call(MM_PATH, mm_body(parts, model="qwen3.6-plus")))


# -- uploads ----------------------------------------------------------------------------------


def get_policy(
    emu: Emulator, model: str = "qwen-vl-plus", *, key: str = MAIN_KEY, **headers: str
) -> requests.Response:
    return requests.get(
        emu.base_url + "/uploads",
        params={"action": "getPolicy", "model": model},
        headers={"Authorization": f"Bearer {key}", **headers},
        timeout=30,
    )


def upload(
    policy: dict[str, Any], name: str, content: bytes, **overrides: str
) -> requests.Response:
    form = {
        "OSSAccessKeyId": policy["oss_access_key_id"],
        "Signature": policy["signature"],
        "policy": policy["policy"],
        "key": f"{policy['upload_dir']}/{name}",
        "x-oss-object-acl": policy["x_oss_object_acl"],
        "x-oss-forbid-overwrite": policy["x_oss_forbid_overwrite"],
        "success_action_status": "200",
        "x-oss-content-type": "image/png",
        **overrides,
    }
    return requests.post(
        policy["upload_host"], data=form, files={"file": (name, content)}, timeout=30
    )


def test_the_policy_answer_has_the_shape_the_official_sdk_reads(emu: Emulator) -> None:
    response = get_policy(emu)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"request_id", "data"}
    assert set(body["data"]) >= {
        "policy", "signature", "upload_dir", "upload_host", "expire_in_seconds",
        "max_file_size_mb", "capacity_limit_mb", "oss_access_key_id", "x_oss_object_acl",
        "x_oss_forbid_overwrite",
    }  # fmt: skip
    assert body["data"]["upload_host"] == emu.url + "/oss-upload"


@pytest.mark.parametrize(
    ("key", "headers", "model", "expected"),
    [
        ("sk-nope", {}, "qwen-vl-plus", (401, "InvalidApiKey")),
        (SUB_KEY, {}, "qwen-vl-plus", (403, "Workspace.AccessDenied")),
        (
            SUB_KEY,
            {"X-DashScope-WorkSpace": OTHER_WORKSPACE},
            "qwen-vl-plus",
            (401, "NOT AUTHORIZED"),
        ),
        (
            SUB_KEY,
            {"X-DashScope-WorkSpace": SUB_WORKSPACE},
            "qwen-vl-max",
            (403, "Model.AccessDenied"),
        ),
        (MAIN_KEY, {}, "no-such-model", (400, "InvalidParameter")),
        (MAIN_KEY, {}, "", (400, "BadRequest.EmptyModel")),
    ],
)
def test_the_policy_endpoint_applies_key_workspace_and_grant_rules(
    emu: Emulator, key: str, headers: dict[str, str], model: str, expected: tuple[int, str]
) -> None:
    status, code, _ = error_of(get_policy(emu, model, key=key, **headers))
    assert (status, code) == expected


def test_the_sub_workspace_key_gets_a_policy_for_a_granted_model(emu: Emulator) -> None:
    response = get_policy(emu, key=SUB_KEY, **{"X-DashScope-WorkSpace": SUB_WORKSPACE})
    assert response.status_code == 200


def test_an_unknown_action_is_refused(emu: Emulator) -> None:
    response = requests.get(
        emu.base_url + "/uploads",
        params={"action": "list", "model": "qwen-vl-plus"},
        headers={"Authorization": f"Bearer {MAIN_KEY}"},
        timeout=30,
    )
    assert error_of(response)[:2] == (400, "InvalidParameter")


def test_an_uploaded_image_is_read_with_the_resolve_header(emu: Emulator, call: Call) -> None:
    policy = get_policy(emu).json()["data"]
    assert upload(policy, "cat.png", png_bytes(12, 9)).status_code == 200
    parts = [{"image": f"oss://{policy['upload_dir']}/cat.png"}, {"text": "What is it?"}]
    assert "(12x9)" in answer_text(call(MM_PATH, mm_body(parts), headers=RESOLVE))
    # Without the header the reference is not a URL the service reads.
    assert error_of(call(MM_PATH, mm_body(parts))) == (400, "InvalidParameter", BAD_URL)


def test_an_oss_reference_never_uploaded_or_for_another_model_is_refused(
    emu: Emulator, call: Call
) -> None:
    policy = get_policy(emu).json()["data"]
    missing = [{"image": f"oss://{policy['upload_dir']}/never.png"}]
    expected = (400, "InvalidParameter.DataInspection", DOWNLOAD_FAILED)
    assert error_of(call(MM_PATH, mm_body(missing), headers=RESOLVE)) == expected
    assert upload(policy, "a.png", png_bytes(2, 2)).status_code == 200
    other_model = mm_body([{"image": f"oss://{policy['upload_dir']}/a.png"}], model="qwen-vl-max")
    assert error_of(call(MM_PATH, other_model, headers=RESOLVE)) == expected


def oss_code(response: requests.Response) -> tuple[int, str]:
    assert response.headers["Content-Type"].startswith("application/xml")
    code = response.text.split("<Code>")[1].split("</Code>")[0]
    return response.status_code, code


def test_the_upload_target_enforces_the_policy(emu: Emulator) -> None:
    emu.uploads.max_file_size_mb = 0.001  # 1048 bytes
    policy = get_policy(emu).json()["data"]
    assert policy["max_file_size_mb"] == 0.001
    assert oss_code(upload(policy, "big.bin", b"x" * 2000)) == (400, "EntityTooLarge")
    assert upload(policy, "small.png", png_bytes(1, 1)).status_code == 200
    assert oss_code(upload(policy, "small.png", png_bytes(1, 1))) == (409, "FileAlreadyExists")
    bad_signature = upload(policy, "c.png", b"x", Signature="forged")
    assert oss_code(bad_signature) == (403, "SignatureDoesNotMatch")
    outside = upload(policy, "d.png", b"x", key="elsewhere/d.png")
    assert oss_code(outside) == (403, "AccessDenied")
    not_a_form = requests.post(policy["upload_host"], data=b"raw", timeout=30)
    assert oss_code(not_a_form) == (400, "InvalidArgument")


def test_reset_forgets_uploads_and_restores_the_limit(emu: Emulator, call: Call) -> None:
    emu.uploads.max_file_size_mb = 1
    policy = get_policy(emu).json()["data"]
    assert upload(policy, "e.png", png_bytes(1, 1)).status_code == 200
    emu.reset()
    assert emu.uploads.max_file_size_mb == 100
    parts = [{"image": f"oss://{policy['upload_dir']}/e.png"}]
    assert error_of(call(MM_PATH, mm_body(parts), headers=RESOLVE))[1] == (
        "InvalidParameter.DataInspection"
    )


def test_the_official_sdk_uploads_to_the_emulator(emu: Emulator, tmp_path: Path) -> None:
    import dashscope  # a [dev] dependency: missing must fail, not skip
    from dashscope.utils.oss_utils import OssUtils

    image = tmp_path / "dog.png"
    image.write_bytes(png_bytes(5, 6))
    saved = dashscope.base_http_api_url
    dashscope.base_http_api_url = emu.base_url
    try:
        url, _ = OssUtils.upload(model="qwen-vl-plus", file_path=str(image), api_key=MAIN_KEY)
    finally:
        dashscope.base_http_api_url = saved
    assert url.startswith("oss://dashscope-instant/")
    assert url.endswith("/dog.png")
    assert emu.uploads.get(url[len("oss://") :], "qwen-vl-plus") is not None


def test_the_right_path_is_the_one_the_client_routing_picks() -> None:
    from dashscope_ws.emulator import EmulatorConfig
    from dashscope_ws.protocol import MULTIMODAL_GENERATION_PATH, generation_path

    # Registered here as a plain text model, but the client routes the qwen3.5 family to the
    # multimodal endpoint: the emulator follows the routing, as the service would.
    model = "qwen3.5-emulator-test"
    assert generation_path(model) == MULTIMODAL_GENERATION_PATH
    config = EmulatorConfig.from_dict({"models": {model: "text"}})
    headers = {"Authorization": f"Bearer {MAIN_KEY}"}
    with Emulator(config) as emu:
        on_text = requests.post(
            emu.base_url + TEXT_PATH,
            json={"model": model, "input": {"messages": [{"role": "user", "content": "hi"}]}},
            headers=headers,
            timeout=30,
        )
        on_mm = requests.post(
            emu.base_url + MM_PATH,
            json=mm_body([{"text": "hi"}], model=model),
            headers=headers,
            timeout=30,
        )
    assert error_of(on_text) == (400, "InvalidParameter", URL_ERROR)
    assert on_mm.status_code == 200
