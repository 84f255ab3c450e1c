"""``dashscope-ws batch …``: submit, status, wait, results, cancel and list batch jobs.

Registered by ``cli.py`` (``COMMANDS``). Unlike ``chat``, batch commands never fall back to
a throw-away emulator: a job outlives the process, so they use the configured service
(``DASHSCOPE_API_KEY``, ``DASHSCOPE_BASE_URL``, ``DASHSCOPE_WORKSPACE``).

Input for ``submit FILE`` is JSONL, one request per line, any of: a full batch line
(``{"custom_id", "body": {...}}``), a chat request (``{"messages": [...], ...parameters}``)
or a bare list of messages. ``--texts FILE`` embeds one text per line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .batch import BatchJobs, BatchResult, BatchRun, RequestLine, embedding_lines
from .batch.lines import CHAT_ENDPOINT, EMBEDDINGS_ENDPOINT
from .client import DashScopeClient

__all__ = ["add_batch"]

_ENDPOINTS = {"chat": CHAT_ENDPOINT, "embeddings": EMBEDDINGS_ENDPOINT}


def add_batch(subparsers: Any) -> None:
    """Declare ``batch`` and its sub-commands."""
    parser = subparsers.add_parser("batch", help="DashScope Batch jobs (half price, async)")
    commands = parser.add_subparsers(dest="batch_command", metavar="ACTION", required=True)

    def action(name: str, help_text: str, *, ids: bool = True) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
        sub.add_argument("--workspace", help="workspace id (default: DASHSCOPE_WORKSPACE)")
        sub.add_argument("--poll", type=float, default=5.0, help="first poll interval, s")
        if ids:
            sub.add_argument("ids", nargs="*", metavar="BATCH_ID", help="batch job ids")
            sub.add_argument("--state", help="state file written by `submit --state`")
        return sub

    submit = action("submit", "upload requests and create batch jobs", ids=False)
    submit.add_argument("file", nargs="?", help="JSONL of chat requests (or batch lines)")
    submit.add_argument("--texts", help="a text file to embed, one text per line")
    submit.add_argument("--model", help="model (default qwen-plus / text-embedding-v4)")
    submit.add_argument("--endpoint", choices=sorted(_ENDPOINTS), help="default: from input")
    submit.add_argument("--dimensions", type=int, help="embedding dimensions")
    submit.add_argument("--window", default="24h", help="completion window 24h..336h")
    submit.add_argument("--name", help="job name (ds_name)")
    submit.add_argument("--description", help="job description (ds_description)")
    submit.add_argument("--state", help="save the submission here to resume it later")
    submit.add_argument("--max-lines", type=int, default=50_000, help=argparse.SUPPRESS)
    submit.add_argument("--wait", action="store_true", help="wait until the jobs finish")
    action("status", "show the status of jobs")
    wait = action("wait", "wait until jobs finish")
    wait.add_argument("--timeout", type=float, help="give up after this many seconds")
    results = action("results", "print one JSON line per input row (in input order)")
    results.add_argument("--output", help="write the JSONL here instead of stdout")
    action("cancel", "cancel jobs")
    listing = action("list", "list recent jobs", ids=False)
    listing.add_argument("--limit", type=int, default=20)
    parser.set_defaults(handler=run_batch)


def run_batch(args: argparse.Namespace) -> int:
    """Run one ``batch`` action; returns the exit code."""
    with DashScopeClient(workspace=args.workspace) as client:
        jobs = BatchJobs(client, poll_interval=args.poll, max_poll_interval=max(args.poll, 60))
        if args.batch_command == "submit":
            return _submit(jobs, args)
        if args.batch_command == "list":
            listed = jobs.list_jobs(limit=args.limit)
            for job in listed:
                print(_job_line(job))
            if not listed:
                # An empty stdout reads like a hang or a silent failure: say so, on stderr
                # so that scripts reading the tab-separated lines still see none.
                print("no batch jobs", file=sys.stderr)
            return 0
        run = _load(jobs, args)
        if args.batch_command == "cancel":
            run = jobs.cancel(run)
        elif args.batch_command == "wait":
            run = jobs.wait(run, timeout=args.timeout)
        elif args.batch_command == "results":
            return _results(jobs, run, args.output)
        for batch_id in run.batch_ids:
            print(_job_line(run.jobs[batch_id]))
        return 0


def _load(jobs: BatchJobs, args: argparse.Namespace) -> BatchRun:
    if args.state:
        return jobs.resume(args.state)
    if not args.ids:
        raise ValueError("give batch ids or --state FILE")
    return jobs.attach(args.ids)


def _job_line(job: Any) -> str:
    name = job.metadata.get("ds_name", "")
    counts = f"{job.finished_rows}/{job.total} rows, {job.failed} failed"
    return f"{job.id}\t{job.status}\t{counts}\t{name}".rstrip()


def _submit(jobs: BatchJobs, args: argparse.Namespace) -> int:
    if bool(args.file) == bool(args.texts):
        raise ValueError("give either FILE (chat requests) or --texts FILE")
    if args.texts:
        if args.endpoint not in (None, "embeddings"):
            raise ValueError("--texts goes with --endpoint embeddings")
        texts = Path(args.texts).read_text(encoding="utf-8").splitlines()
        model = args.model or "text-embedding-v4"
        lines: Any = embedding_lines(texts, model=model, dimensions=args.dimensions)
    else:
        endpoint = _ENDPOINTS[args.endpoint or "chat"]
        lines = _request_lines(Path(args.file), endpoint, args.model)
    run = jobs.submit(
        lines, completion_window=args.window, name=args.name, description=args.description,
        state_path=args.state, max_lines=args.max_lines,
    )  # fmt: skip
    if args.wait:
        run = jobs.wait(run)
    for batch_id in run.batch_ids:
        print(_job_line(run.jobs[batch_id]))
    if args.state:
        print(f"state saved to {args.state}", file=sys.stderr)
    return 0


def _request_lines(path: Path, endpoint: str, model: str | None) -> Iterator[RequestLine]:
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle):
            if not raw.strip():
                continue
            item = json.loads(raw)
            custom_id = str(number)
            if isinstance(item, list):
                body: dict[str, Any] = {"messages": item}
            elif isinstance(item, dict) and isinstance(item.get("body"), dict):
                custom_id = str(item.get("custom_id", number))
                body = dict(item["body"])
            elif isinstance(item, dict):
                body = dict(item)
            else:
                raise ValueError(f"{path}:{number + 1}: expected a JSON object or list")
            if model:
                body["model"] = model
            body.setdefault(
                "model", "qwen-plus" if endpoint == CHAT_ENDPOINT else "text-embedding-v4"
            )
            yield RequestLine(custom_id, endpoint, body)


def _row_json(row: BatchResult) -> str:
    item: dict[str, Any] = {"index": row.index, "custom_id": row.custom_id, "ok": row.ok}
    if row.error is not None:
        item["error"] = {
            "code": row.error.code, "message": row.error.message,
            "status": row.error.status, "request_id": row.error.request_id,
        }  # fmt: skip
    elif row.text is not None:
        item["text"] = row.text
    elif row.embedding is not None:
        item["embedding"] = row.embedding
    else:
        item["body"] = row.body
    return json.dumps(item, ensure_ascii=False) + "\n"


def _results(jobs: BatchJobs, run: BatchRun, output: str | None) -> int:
    """Print the rows; exit code 2 when some rows failed (they are printed with their error)."""
    rows = jobs.results(run)
    if output:
        with Path(output).open("w", encoding="utf-8") as handle:
            handle.writelines(_row_json(row) for row in rows)
    else:
        sys.stdout.writelines(_row_json(row) for row in rows)
    return 0 if all(row.ok for row in rows) else 2
