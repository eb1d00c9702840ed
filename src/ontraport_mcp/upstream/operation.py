"""What the generated API (``generated/api.py``) and the upstream transport share: an operation's
description, the result of one call, and ``Send``, the one function every call goes through."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of ``openapi/ontraport.yaml``, as the transport needs it."""

    operation_id: str
    method: str
    path: str
    query: tuple[str, ...] = ()  # the API's names of its query parameters
    content_types: tuple[str, ...] = ()  # the request body's media types, spec order
    idempotent: bool = False  # safe to retry (GET)


@dataclass(frozen=True, slots=True)
class UpstreamResult:
    status: int
    envelope: dict[str, Any]
    headers: Mapping[str, str]  # names lower-cased

    @property
    def data(self) -> Any:
        return self.envelope.get("data")

    @property
    def account_id(self) -> Any:
        return self.envelope.get("account_id")


class Send(Protocol):
    """Send one operation: ``query`` keyed by API names (None values are left out), ``body``
    the request body (JSON when the operation takes JSON, else a form)."""

    async def __call__(
        self, operation: Operation, query: Mapping[str, Any], body: Mapping[str, Any] | None
    ) -> UpstreamResult: ...
