"""What DashScope error codes mean to a user: the fix to suggest, the limit a 429 hit.

Pure data, read by :mod:`dashscope_ws.errors` (``APIStatusError.hint``,
``RateLimitError.limit``). Which exception *class* a code maps to stays beside the classes
(``errors._BY_CODE``). Codes and messages come from the official error-code page
(docs/workspace.md lists the sources).
"""

from __future__ import annotations

__all__ = ["LIMIT_CODES", "LIMIT_MESSAGES", "WORKSPACE_HINTS"]

# The fix for errors the user can correct by configuration, by DashScope code.
WORKSPACE_HINTS = {
    "Workspace.AccessDenied": (
        "this key may not use that workspace. A sub-account key must name its own workspace: "
        "pass workspace=... or set DASHSCOPE_WORKSPACE (or use the main account's key)"
    ),
    "NOT AUTHORIZED": (
        "the workspace id is wrong, this key is not a member of it, or the endpoint/region is "
        "wrong: check workspace=... / DASHSCOPE_WORKSPACE and base_url/region"
    ),
    "Model.AccessDenied": (
        "this model is not granted to the workspace: grant it in the Model Studio console "
        "(workspace > model authorisation) or call a model the workspace has"
    ),
    "WorkSpaceNotFound": (
        "no workspace has that id: copy the workspace id from the Model Studio console "
        "and pass it as workspace=... or DASHSCOPE_WORKSPACE"
    ),
    "InvalidApiKey": (
        "check DASHSCOPE_API_KEY; keys are region-specific (a Beijing key fails on the "
        "Singapore endpoint and vice versa)"
    ),
    "Arrearage": "the account is in arrears: top it up in the Alibaba Cloud console",
    "InvalidAppId": (
        "no application has that id here: copy the app id from the Model Studio console "
        "(Application > My apps) and call it in the app's own workspace (workspace=...)"
    ),
    "App.AccessDenied": (
        "this key may not call that app: apps live in one workspace, so pass that workspace "
        "(workspace=...) with a key of it, or use the main account's key"
    ),
    "FlowNotPublished": (
        "the workflow or agent app has unpublished changes or was never published: publish it "
        "in the Model Studio console, then call it again"
    ),
}


# Which limit a 429 hit, from the message first (the texts of the error-code page, see
# docs/workspace.md) and then the code. Compatible-mode codes pair with native ones there.
LIMIT_MESSAGES: tuple[tuple[str, str | None], ...] = (
    ("free allocated quota exceeded", None),  # the free tier is used up: not a rate
    ("requests rate limit exceeded", "rpm"),
    ("exceeded your request limit", "rpm"),
    ("exceeded your current requests list", "rpm"),
    ("allocated quota exceeded", "tpm"),
    ("exceeded your current quota", "tpm"),
    ("increased too quickly", "burst"),
)
LIMIT_CODES = {
    "Throttling.RateQuota": "rpm",
    "LimitRequests": "rpm",
    "limit_requests": "rpm",
    "Throttling.AllocationQuota": "tpm",
    "insufficient_quota": "tpm",
    "Throttling.BurstRate": "burst",
    "limit_burst_rate": "burst",
}
