"""Batch wire requests: the /compatible-mode/v1 root (workspace-host aware) and bodies."""

from __future__ import annotations

import pytest

from dashscope_ws.batch import wire
from dashscope_ws.config import ClientConfig


def test_root_follows_the_workspace_host() -> None:
    config = ClientConfig.resolve(
        api_key="k", workspace="ws1", region="cn-beijing", workspace_in_host=True, env={}
    )
    assert wire.compatible_mode_url(config, "/batches") == (
        "https://ws1.cn-beijing.maas.aliyuncs.com/compatible-mode/v1/batches"
    )
    assert wire.compatible_mode_url(config, "files", workspace="ws2") == (
        "https://ws2.cn-beijing.maas.aliyuncs.com/compatible-mode/v1/files"
    )


def test_requests_carry_workspace_and_multipart() -> None:
    config = ClientConfig.resolve(api_key="k", env={})
    upload = wire.upload_request(config, b'{"a":1}\n', filename="in.jsonl", workspace="ws9")
    assert upload.url == "https://dashscope.aliyuncs.com/compatible-mode/v1/files"
    assert upload.headers["X-DashScope-WorkSpace"] == "ws9"
    assert upload.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert upload.json is None
    assert upload.content is not None
    assert b'name="purpose"\r\n\r\nbatch' in upload.content
    assert b'{"a":1}\n' in upload.content
    cancel = wire.cancel_request(config, "batch_1/../x")
    assert cancel.url.endswith("/batches/batch_1%2F..%2Fx/cancel")  # ids cannot walk paths
    listing = wire.list_request(config, limit=5, after="batch_9")
    assert listing.url.endswith("/batches?limit=5&after=batch_9")


@pytest.mark.parametrize("window", ["24h", "336h", "1d", "14d", "72h"])
def test_windows_in_range(window: str) -> None:
    assert wire.check_window(window) == window


@pytest.mark.parametrize("window", ["23h", "337h", "15d", "24", "1w", ""])
def test_windows_out_of_range(window: str) -> None:
    with pytest.raises(ValueError, match="completion_window"):
        wire.check_window(window)


def test_create_body_and_job_parsing() -> None:
    config = ClientConfig.resolve(api_key="k", env={})
    create = wire.create_request(
        config, input_file_id="file-batch-1", endpoint="/v1/embeddings",
        completion_window="48h", metadata={"ds_name": "n"},
    )  # fmt: skip
    assert create.json == {
        "input_file_id": "file-batch-1", "endpoint": "/v1/embeddings",
        "completion_window": "48h", "metadata": {"ds_name": "n"},
    }  # fmt: skip
    job = wire.parse_job({"id": "b", "status": "failed", "errors": {"data": [
        {"code": "invalid_input_file", "message": "bad"}]}})  # fmt: skip
    assert job.done
    assert job.errors == ("invalid_input_file: bad",)
    assert job.output_file_id is None
