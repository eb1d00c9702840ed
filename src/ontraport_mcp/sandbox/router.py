"""Path table of the /1 API: exact-case match first, then a case-insensitive fallback (except the
``form``/``Form`` and ``message``/``Message`` controllers, which differ only by case)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import SandboxConfig
from .errors import ApiError
from .store import Store

MISSING: Any = object()


class RawJSON(str):
    """``data`` that is already JSON text (spliced into the envelope without re-encoding)."""


@dataclass
class Ctx:
    store: Store
    config: SandboxConfig
    method: str
    path: str
    params: dict[str, Any]
    type_id: int | None = None  # fixed object type of a named alias route

    @property
    def account_id(self) -> int:
        return self.config.account_id


@dataclass
class Result:
    data: Any = MISSING
    misc: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Ctx], Result]
CASE_SENSITIVE_HEADS = frozenset({"form", "message"})


class Router:
    def __init__(self) -> None:
        self.exact: dict[tuple[str, str], tuple[Handler, int | None]] = {}
        self.folded: dict[tuple[str, str], tuple[Handler, int | None]] = {}
        self.methods: dict[str, set[str]] = {}
        self.folded_methods: dict[str, set[str]] = {}

    def add(self, method: str, path: str, handler: Handler, type_id: int | None = None) -> None:
        self.exact[(method, path)] = (handler, type_id)
        self.methods.setdefault(path, set()).add(method)
        head = path.strip("/").split("/")[0].lower()
        if head not in CASE_SENSITIVE_HEADS:
            self.folded[(method, path.lower())] = (handler, type_id)
            self.folded_methods.setdefault(path.lower(), set()).add(method)

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.add(method, path, fn)
            return fn

        return deco

    def resolve(self, method: str, path: str) -> tuple[Handler, int | None]:
        path = "/" + path.strip("/")
        hit = self.exact.get((method, path))
        if hit:
            return hit
        head = path.strip("/").split("/")[0].lower()
        if head not in CASE_SENSITIVE_HEADS:
            hit = self.folded.get((method, path.lower()))
            if hit:
                return hit
        allowed = self.methods.get(path) or (
            self.folded_methods.get(path.lower()) if head not in CASE_SENSITIVE_HEADS else None
        )
        if allowed:
            raise ApiError(
                405,
                f"Method {method} is not allowed on {path}; allowed: {', '.join(sorted(allowed))}",
            )
        raise ApiError(404, f"Unknown endpoint {path}")
