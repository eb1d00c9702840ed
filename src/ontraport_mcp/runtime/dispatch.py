"""The one dispatch: every way a tool is listed or called goes through ``Dispatch``.

    2026-07-28 fast path ─┐
    SDK handlers (both eras, full and light sessions) ─┤
    HTTP facade (/tools/{name}) ─┼─▶ Dispatch.call ─▶ entry (static, or the account's
    stdio ─┘                         custom objects) ─▶ access ─▶ ToolContext ─▶ executor

``Dispatch`` holds the inventory — the static entries of the registry and, per account, the
custom-object tools its ``/objects/meta`` gives (built once per meta version, capped by the
``apply_cap`` hook) — and the access rule: an OAuth grant's level (``read``, ``write``, ``full``;
header credentials and stdio are ``full``) narrowed by the operator's ``--read-only`` and
``--toolsets``.  A tool outside the caller's access is neither listed nor callable.  Listings are
cached per account, meta version and access, already encoded, so a ``tools/list`` served from
the cache costs no schema work.

Transports map what this raises: ``UnknownTool`` (no such tool for this caller) and a
``ToolError`` from reading the account's object types (HTTP 401 means the credential is refused).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mcp_types as types

from .. import observe, wirejson
from ..credentials import Credentials
from ..errors import NotAllowed, NotFound, ToolError
from ..generated.tools import TOOLS
from ..upstream.meta import AccountMeta
from .context import Services, ToolContext
from .executor import ToolOutcome, error_result, run_tool
from .manifest import NOTE_TOOL, Manifest, build_manifest, note_tool, to_wire
from .registry import Entry, Handler, build_registry, custom_entry, load_overrides
from .toolspec import ACCESS_LEVELS, TOOL_CLASSES, TOOLSETS, ToolSpec

ACCESS_SCOPE_KEY = "ontraport_mcp.access"
"""Where the OAuth gate puts a grant's level in the ASGI scope (absent: ``full``)."""
_UNAVAILABLE_RETRY_S = 5.0
_MAX_ACCOUNTS = 10_000  # cached manifests; the oldest goes first


class UnknownTool(NotFound):
    code = "unknown_tool"


@dataclass(frozen=True, slots=True)
class Access:
    """What one caller may use: tool classes (from the level) and toolsets (operator's)."""

    level: str
    classes: frozenset[str]
    toolsets: frozenset[str]
    read_only: bool = False

    def allows(self, spec: ToolSpec) -> bool:
        return spec.tool_class in self.classes and spec.toolset in self.toolsets

    def refusal(self, spec: ToolSpec) -> ToolError:
        """Why ``spec`` is out of reach, naming what would allow it."""
        if spec.toolset not in self.toolsets:
            return NotAllowed(
                f"{spec.name} belongs to the toolset {spec.toolset!r}, which this server does "
                f"not serve (it serves: {', '.join(sorted(self.toolsets))}).",
                code="toolset_disabled",
                details={"toolset": spec.toolset},
            )
        needed = TOOL_CLASSES[spec.tool_class].level
        if self.read_only:
            why = "this server runs read-only"
        else:
            why = f"this connection's access level is {self.level!r}"
        return NotAllowed(
            f"{spec.name} needs the access level {needed!r}; {why}. Reconnect and approve "
            f"{needed!r} access to use it.",
            code="access_denied",
            details={"needs": needed, "level": self.level},
        )


def access_for(level: str | None, *, read_only: bool, toolsets: Sequence[str]) -> Access:
    """The access of a caller at ``level`` (None: ``full``) on a server with these flags."""
    level = level if level is not None and level in ACCESS_LEVELS else "full"
    classes = ACCESS_LEVELS[level]
    if read_only:  # an operator's flag only narrows
        classes &= ACCESS_LEVELS["read"]
    served = frozenset(toolsets) & frozenset(TOOLSETS)
    return Access(level, classes, served, read_only)


@dataclass(frozen=True, slots=True)
class Listing:
    """One caller's ``tools/list``: the SDK's objects and the same list encoded once."""

    tools: tuple[types.Tool, ...]
    encoded: bytes  # the JSON array of the tools, as the SDK would write it
    ttl_ms: int | None = None  # set when the listing is a stand-in (Ontraport unreachable)


class Dispatch:
    """The inventory, the access rule and the one call path (see the module docstring)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        settings = services.settings
        self.entries: dict[str, Entry] = build_registry(TOOLS, load_overrides())
        self.static_specs = [
            e.spec for e in sorted(self.entries.values(), key=lambda e: e.spec.name)
        ]
        self.static_wire = [to_wire(s) for s in self.static_specs]
        self._manifests: dict[str, tuple[AccountMeta, Manifest]] = {}
        self._listings: dict[tuple[str, Access], tuple[AccountMeta, Listing]] = {}
        self._levels = {
            level: access_for(level, read_only=settings.read_only, toolsets=settings.toolsets)
            for level in ACCESS_LEVELS
        }

    def access(self, level: str | None) -> Access:
        return self._levels.get(level or "full", self._levels["full"])

    # --- the inventory -----------------------------------------------------------------------

    async def manifest(self, creds: Credentials) -> Manifest:
        """The account's custom-object tools (and note), built once per meta version."""
        meta = await self.services.meta.get(creds)
        cached = self._manifests.get(creds.account_hash)
        if cached is not None and cached[0] is meta:
            return cached[1]
        built = build_manifest(
            self.static_specs, self.static_wire, meta, self.services.settings.manifest_cap
        )
        self._manifests[creds.account_hash] = (meta, built)
        if len(self._manifests) > _MAX_ACCOUNTS:
            self._manifests.pop(next(iter(self._manifests)))
        return built

    async def listing(self, creds: Credentials, access: Access) -> Listing:
        """The caller's tools; when Ontraport cannot be read, the static tools and a note (a
        ``ToolError`` with status 401 is raised instead: the credential is refused)."""
        try:
            meta = await self.services.meta.get(creds)
        except ToolError as exc:
            if exc.status == 401:
                raise
            retry_s = _retry_s(exc)
            tools = [
                w
                for s, w in zip(self.static_specs, self.static_wire, strict=True)
                if access.allows(s)
            ]
            tools.append(to_wire(unavailable_note(exc, retry_s)))
            return _listing(tools, ttl_ms=int(retry_s * 1000))
        key = (creds.account_hash, access)
        cached = self._listings.get(key)
        if cached is not None and cached[0] is meta:
            return cached[1]
        manifest = await self.manifest(creds)
        specs = [*self.static_specs, *manifest.tools]
        tools = [w for s, w in zip(specs, manifest.wire, strict=True) if access.allows(s)]
        listing = _listing(tools)
        self._listings[key] = (meta, listing)
        if len(self._listings) > _MAX_ACCOUNTS:
            self._listings.pop(next(iter(self._listings)))
        return listing

    async def entry(self, creds: Credentials, name: str) -> Entry:
        """The entry of tool ``name`` for this account (``UnknownTool`` when it has none)."""
        found = self.entries.get(name)
        if found is not None:
            return found
        try:
            manifest = await self.manifest(creds)
        except ToolError as exc:
            if name == NOTE_TOOL and exc.status != 401:  # the note of a stand-in listing
                spec = unavailable_note(exc, _retry_s(exc))
                return Entry(spec, _unavailable_handler(exc.message), None, "manifest note")
            raise
        custom = manifest.by_name.get(name)
        if custom is None:
            raise UnknownTool(
                f"Unknown tool: {name}. Call tools/list for the tools of this account.",
                details={"tool": name},
            )
        return custom_entry(custom)

    # --- the call ----------------------------------------------------------------------------

    async def call(
        self,
        creds: Credentials,
        name: str,
        args: dict[str, Any],
        *,
        access: Access,
        request: Any = None,
        input_responses: Mapping[str, Any] | None = None,
    ) -> ToolOutcome:
        """Run one tool call for one caller; errors of the call itself become error results,
        while ``UnknownTool`` and a failed read of the account's types are raised."""
        entry = await self.entry(creds, name)
        if not access.allows(entry.spec):
            return error_result(access.refusal(entry.spec))
        ctx = ToolContext(
            services=self.services,
            credentials=creds,
            spec=entry.spec,
            request=request,
            input_responses=dict(input_responses) if input_responses else None,
        )
        with observe.tool_call(entry.spec.name, entry.spec.tool_class) as span:
            result = await run_tool(entry, ctx, args)
            span.outcome = ctx.outcome
        return result

    def fast_eligible(self, access: Access) -> frozenset[str]:
        """Static tools a transport may run without the SDK (never asks the user anything)."""
        return frozenset(
            name
            for name, entry in self.entries.items()
            if not entry.spec.needs_confirmation and access.allows(entry.spec)
        )


def _listing(tools: Sequence[types.Tool], ttl_ms: int | None = None) -> Listing:
    dumped = [t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in tools]
    return Listing(tuple(tools), wirejson.dumps(dumped).encode(), ttl_ms)


def _retry_s(exc: ToolError) -> float:
    return max(1.0, exc.retry_after_s or _UNAVAILABLE_RETRY_S)


def unavailable_note(exc: ToolError, retry_s: float) -> ToolSpec:
    """The ``_manifest_note`` tool of a listing made without the account's object types."""
    reason = f"Ontraport's object types (/objects/meta) could not be read: {exc.message}"
    return dataclasses.replace(
        note_tool(()),
        title="Custom-object tools unavailable",
        description=(
            f"This account's custom-object tools are missing from this list. {reason} "
            f"The standard tools work as usual (custom objects too, through get_objects, "
            f"create_object, update_object with their object_type_id). List the tools again "
            f"in about {retry_s:.0f} s to get the custom-object tools."
        ),
        meta={"kind": "note", "omitted": [], "unavailable": reason},
    )


def _unavailable_handler(message: str) -> Handler:
    async def handle(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "omitted": [],
            "unavailable": message,
            "how_to_reach": "List the tools again shortly; meanwhile use get_objects, "
            "create_object and update_object with the object_type_id.",
        }

    return handle
