"""The errors a tool call can end with — each one becomes a structured tool result.

    ToolError                      base: ``{code, error, message, retry_after_s?, details?}``
    ├── InvalidArguments           400  arguments do not match the tool's input schema
    ├── NotAllowed                 403  the access policy refuses this method on this type
    ├── Refused                    409  a safety rule refuses the request (delete-all guard, state
    │                                   rules, raw card numbers, bulk limits)
    ├── NotFound                   404  the record or type does not exist
    └── UpstreamError              the Ontraport API answered with an error status
        ├── RateLimited            429  with ``retry_after_s``; returned at once, never slept on
        ├── UpstreamUnavailable    5xx, timeouts, malformed responses to reads (or a write that
        │                               never left: nothing happened)
        └── OutcomeUnknown         a write was sent and its answer was lost, malformed, late or
                                        a 5xx: it may have happened.  Never "try again": the
                                        message names the read tool to check with first, and
                                        the money duplicate guard counts it as possibly done

Every message says what to do next.  No exception text from a library, and never a credential,
ever reaches a client: the executor turns anything else into a generic ``internal_error``.
"""

from __future__ import annotations

from typing import Any

from . import wirejson

QUOTE_CHARS = 80
"""How much of an offending value an error message quotes: errors quote, they never echo."""


def excerpt(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` cut short for a message, so a huge argument cannot flood the error."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def quote(value: Any, limit: int = QUOTE_CHARS) -> str:
    """``value`` for a message as the client sent it (JSON: ``null``, ``true``, ``"x"``), cut in
    the middle when longer than ``limit``, saying how long it was."""
    text = wirejson.dumps(value)
    if len(text) <= limit:
        return text
    keep = (limit - 5) // 2
    return f"{text[:keep]} … {text[-keep:]} ({len(text):,} characters)"


class ToolError(Exception):
    status: int = 500
    code: str = "internal_error"
    title: str = "Internal error"

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s
        self.details = details or {}
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "error": self.title, "message": self.message}
        if self.retry_after_s is not None:
            body["retry_after_s"] = self.retry_after_s
        if self.details:
            body["details"] = self.details
        body["http_status"] = self.status
        return body


class InvalidArguments(ToolError):
    status = 400
    code = "invalid_arguments"
    title = "Invalid arguments"


class NotAllowed(ToolError):
    status = 403
    code = "not_allowed"
    title = "Not allowed"


class Refused(ToolError):
    status = 409
    code = "refused"
    title = "Refused"


class NotFound(ToolError):
    status = 404
    code = "not_found"
    title = "Not found"


class UpstreamError(ToolError):
    code = "upstream_error"
    title = "Ontraport API error"


class RateLimited(UpstreamError):
    status = 429
    code = "rate_limited"
    title = "Rate limited"


class UpstreamUnavailable(UpstreamError):
    status = 502
    code = "upstream_unavailable"
    title = "Ontraport unavailable"


class OutcomeUnknown(UpstreamError):
    status = 502
    code = "outcome_unknown"
    title = "Outcome unknown"

    def checked_with(self, read_tool: str) -> OutcomeUnknown:
        """The same error, saying which read tool shows whether the write happened."""
        return OutcomeUnknown(
            f"{self.message} It may have happened: check with {read_tool} before retrying, and "
            "do not simply call again.",
            status=self.status,
            details={**self.details, "check_with": read_tool},
        )


# What to tell the agent for each upstream status (the table the mapping reads).
UPSTREAM_ADVICE: dict[int, tuple[type[ToolError], str, str]] = {
    400: (UpstreamError, "bad_request", "Ontraport rejected the request: check the arguments"),
    401: (
        UpstreamError,
        "unauthorized",
        "Ontraport refused the credentials: check the API key and app id",
    ),
    403: (UpstreamError, "forbidden", "The API key's user lacks permission for this in Ontraport"),
    404: (NotFound, "not_found", "No such record or endpoint in Ontraport: check the ids"),
    422: (
        UpstreamError,
        "unprocessable",
        "Ontraport could not process a field value (e.g. an invalid email)",
    ),
    429: (
        RateLimited,
        "rate_limited",
        "The account's request budget is used up: retry after the given seconds",
    ),
}


def upstream_error(
    status: int,
    detail: str | None,
    retry_after_s: float | None = None,
    *,
    budget: str | None = None,
) -> ToolError:
    """Map an Ontraport error status to the structured error the agent sees (``budget``: the
    limit and window a 429 response stated, e.g. "180 requests per 60 s")."""
    if status == 429 and budget:
        advice = (
            f"The account's request budget ({budget}) is used up: retry after the given seconds"
        )
        message = advice + (f". Ontraport said: {detail[:300]}" if detail else ".")
        return RateLimited(message, retry_after_s=retry_after_s)
    if status in UPSTREAM_ADVICE:
        cls, code, advice = UPSTREAM_ADVICE[status]
    elif status >= 500:
        cls, code, advice = (
            UpstreamUnavailable,
            "upstream_unavailable",
            "Ontraport had a server error; reads were retried. Try again shortly",
        )
    else:
        cls, code, advice = UpstreamError, "upstream_error", "Ontraport returned an error"
    message = f"{advice}." if not detail else f"{advice}. Ontraport said: {detail[:300]}"
    return cls(message, retry_after_s=retry_after_s, status=status, code=code)
