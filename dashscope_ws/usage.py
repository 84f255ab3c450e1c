"""What did this workspace use: token and request totals per (workspace, model), and cost.

:class:`UsageTracker` is the sink ``DashScopeClient(usage_tracker=...)`` calls once per
successful unary call, once per stream (at its end) and once per embedding batch; the
LangChain callback handler and the LlamaIndex event handler feed the same object. It is
thread-safe (one lock around each update), so one tracker can serve a whole application.

Cost: an optional price table, per model, in currency units per 1M tokens. Cached input
tokens are charged at the ``cached`` price (the ``input`` price when none is given) and the
rest of the input at ``input``; reasoning tokens are part of ``output_tokens`` on the wire
(``output_tokens_details.reasoning_tokens`` is a breakdown), so they are charged once, at
``output``. Prices are the user's: nothing here knows the service's price list.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .types import Usage

__all__ = [
    "DEFAULT_WORKSPACE_LABEL",
    "Price",
    "UsageTotals",
    "UsageTracker",
    "batch_row_usage",
]

DEFAULT_WORKSPACE_LABEL = "(default)"
_MILLION = 1_000_000


@dataclass(frozen=True)
class Price:
    """Prices per 1M tokens for one model.

    Example:
        >>> Price(input=0.8, output=2.0, cached=0.16).cached
        0.16
    """

    input: float
    output: float
    cached: float | None = None


@dataclass
class UsageTotals:
    """Totals for one (workspace, model).

    Example:
        >>> UsageTotals(requests=2, input_tokens=10).total_tokens
        0
    """

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def cost(self, price: Price | None) -> float | None:
        """The cost of these totals at ``price`` (``None`` without a price)."""
        if price is None:
            return None
        cached = min(self.cached_tokens, self.input_tokens)
        cached_price = price.input if price.cached is None else price.cached
        return (
            (self.input_tokens - cached) * price.input
            + cached * cached_price
            + self.output_tokens * price.output
        ) / _MILLION


def _price(value: Price | Mapping[str, float]) -> Price:
    if isinstance(value, Price):
        return value
    unknown = set(value) - {"input", "output", "cached"}
    if unknown or not {"input", "output"} <= set(value):
        raise ValueError(
            f"a price needs 'input' and 'output' (and optionally 'cached'), got {sorted(value)}"
        )
    return Price(float(value["input"]), float(value["output"]), _opt_float(value.get("cached")))


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


class UsageTracker:
    """Thread-safe usage totals per (workspace, model), with optional cost.

    Args:
        prices: model -> :class:`Price` or ``{"input": ..., "output": ..., "cached": ...}``,
            per 1M tokens.
        currency: label shown in :meth:`report` (e.g. ``"CNY"``).

    Example:
        >>> tracker = UsageTracker(prices={"qwen-plus": {"input": 0.8, "output": 2.0}})
        >>> tracker.record(workspace="ws-1", model="qwen-plus",
        ...                usage=Usage(input_tokens=1000, output_tokens=500), kind="chat")
        >>> row, = tracker.to_dict()["rows"]
        >>> row["requests"], row["total_tokens"], row["cost"]
        (1, 1500, 0.0018)
    """

    def __init__(
        self, prices: Mapping[str, Price | Mapping[str, float]] | None = None, currency: str = ""
    ) -> None:
        self.prices = {model: _price(value) for model, value in (prices or {}).items()}
        self.currency = currency
        self._totals: dict[tuple[str | None, str], UsageTotals] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"UsageTracker(<{len(self._totals)} workspace/model rows>)"

    # -- feeding ---------------------------------------------------------------------------

    def record(self, *, workspace: str | None, model: str, usage: Usage, kind: str) -> None:
        """Add one call's usage (the core client's usage sink).

        An answer that reports only ``total_tokens`` (embeddings) counts them as input.
        """
        input_tokens = usage.input_tokens
        if input_tokens is None and usage.output_tokens is None:
            input_tokens = usage.total_tokens
        self.add(
            workspace=workspace,
            model=model,
            kind=kind,
            input_tokens=input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            cached_tokens=usage.cached_tokens or 0,
            reasoning_tokens=usage.reasoning_tokens or 0,
            total_tokens=usage.total_tokens,
        )

    def add(
        self,
        *,
        workspace: str | None,
        model: str,
        kind: str = "chat",
        input_tokens: int = 0,
        output_tokens: int = 0,
        cached_tokens: int = 0,
        reasoning_tokens: int = 0,
        total_tokens: int | None = None,
        requests: int = 1,
    ) -> None:
        """Add counts directly (what the framework handlers call)."""
        total = input_tokens + output_tokens if total_tokens is None else total_tokens
        with self._lock:
            row = self._totals.setdefault((workspace or None, model), UsageTotals())
            row.requests += requests
            row.input_tokens += input_tokens
            row.output_tokens += output_tokens
            row.cached_tokens += cached_tokens
            row.reasoning_tokens += reasoning_tokens
            row.total_tokens += total
            row.by_kind[kind] = row.by_kind.get(kind, 0) + requests

    def reset(self) -> None:
        """Forget every total."""
        with self._lock:
            self._totals.clear()

    # -- reading ---------------------------------------------------------------------------

    def totals(self, *, workspace: str | None = None, model: str | None = None) -> UsageTotals:
        """Sum over the rows matching ``workspace`` and/or ``model`` (all rows when unset)."""
        out = UsageTotals()
        with self._lock:
            rows = [
                row
                for (ws, name), row in self._totals.items()
                if (workspace is None or ws == workspace) and (model is None or name == model)
            ]
            for row in rows:
                for name in ("requests", "input_tokens", "output_tokens", "cached_tokens"):
                    setattr(out, name, getattr(out, name) + getattr(row, name))
                out.reasoning_tokens += row.reasoning_tokens
                out.total_tokens += row.total_tokens
                for kind, count in row.by_kind.items():
                    out.by_kind[kind] = out.by_kind.get(kind, 0) + count
        return out

    def to_dict(self) -> dict[str, Any]:
        """Every row, with cost where a price is known, plus the grand total."""
        with self._lock:
            snapshot = sorted(
                (
                    (ws, model, UsageTotals(**asdict(row)))
                    for (ws, model), row in self._totals.items()
                ),
                key=lambda item: (item[0] or "", item[1]),
            )
        rows = []
        total_cost: float | None = None
        for workspace, model, row in snapshot:
            cost = row.cost(self.prices.get(model))
            if cost is not None:
                total_cost = (total_cost or 0.0) + cost
            rows.append(
                {"workspace": workspace, "model": model, **asdict(row), "cost": _round(cost)}
            )
        return {"currency": self.currency, "rows": rows, "total_cost": _round(total_cost)}

    def report(self) -> str:
        """A printable table: one line per (workspace, model), then the total."""
        data = self.to_dict()
        header = (
            "workspace",
            "model",
            "requests",
            "input",
            "cached",
            "output",
            "reasoning",
            "cost",
        )
        lines: list[tuple[str, ...]] = [header]
        for row in data["rows"]:
            lines.append(
                (
                    row["workspace"] or DEFAULT_WORKSPACE_LABEL,
                    row["model"],
                    str(row["requests"]),
                    str(row["input_tokens"]),
                    str(row["cached_tokens"]),
                    str(row["output_tokens"]),
                    str(row["reasoning_tokens"]),
                    _money(row["cost"], data["currency"]),
                )
            )
        total = self.totals()
        lines.append(
            (
                "total",
                "",
                str(total.requests),
                str(total.input_tokens),
                str(total.cached_tokens),
                str(total.output_tokens),
                str(total.reasoning_tokens),
                _money(data["total_cost"], data["currency"]),
            )
        )
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        return "\n".join(
            "  ".join(
                cell.ljust(width) if i < 2 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(line, widths, strict=True))
            ).rstrip()
            for line in lines
        )


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def batch_row_usage(body: Mapping[str, Any] | None) -> tuple[str, Usage] | None:
    """The model and usage of one Batch output row (an OpenAI-compatible answer body).

    Batch rows use the compatible-mode names (``prompt_tokens``, ``completion_tokens``,
    ``prompt_tokens_details.cached_tokens``, ``completion_tokens_details.reasoning_tokens``;
    Batch API page). ``None`` when the row reports no usage.

    Example:
        >>> body = {"model": "qwen-plus", "usage": {"prompt_tokens": 5, "completion_tokens": 2}}
        >>> model, usage = batch_row_usage(body)
        >>> model, usage.input_tokens, usage.output_tokens
        ('qwen-plus', 5, 2)
    """
    usage = body.get("usage") if isinstance(body, Mapping) else None
    if not isinstance(usage, Mapping):
        return None
    prompt = usage.get("prompt_tokens_details")
    completion = usage.get("completion_tokens_details")
    return str(body.get("model") or "") if body else "", Usage(
        input_tokens=_count(usage.get("prompt_tokens")),
        output_tokens=_count(usage.get("completion_tokens")),
        total_tokens=_count(usage.get("total_tokens")),
        cached_tokens=_count(prompt.get("cached_tokens")) if isinstance(prompt, Mapping) else None,
        reasoning_tokens=(
            _count(completion.get("reasoning_tokens")) if isinstance(completion, Mapping) else None
        ),
        raw=dict(usage),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 10)


def _money(value: float | None, currency: str) -> str:
    if value is None:
        return "-"
    return f"{value:.6f}" + (f" {currency}" if currency else "")
