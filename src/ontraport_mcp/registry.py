"""The tool registry: generated stubs merged with hand-written overrides, by name.

An override is a coroutine registered with ``@override("tool_name")`` in a module of
``overrides/``.  ``build_registry`` pairs each generated ``ToolSpec`` with its override (or with
the generic executor when the stub has a plain ``binding``) and fails loudly on an override for
an unknown tool or a second override for the same tool.  A stub with neither answers with a
structured ``not_implemented`` error, so the catalog can list a tool before its code lands.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ToolError
from .toolspec import ToolSpec

if TYPE_CHECKING:
    from .context import ToolContext

Handler = Callable[["ToolContext", dict[str, Any]], Awaitable[dict[str, Any]]]
Planner = Callable[["ToolContext", dict[str, Any]], Awaitable["Plan"]]


@dataclass(frozen=True, slots=True)
class Plan:
    """What a confirmed tool is about to do, shown to the user before it happens.

    ``target`` and ``amount`` bind a confirmation to exactly this record and sum."""

    summary: str
    target: str
    amount: str | None = None


@dataclass(frozen=True, slots=True)
class Override:
    name: str
    handler: Handler
    plan: Planner | None
    module: str


class RegistryError(Exception):
    """A programming error in overrides/: unknown or duplicate tool names."""


_OVERRIDES: dict[str, Override] = {}


def override(name: str, *, plan: Planner | None = None) -> Callable[[Handler], Handler]:
    """Register the hand-written handler of tool ``name`` (and its confirmation planner)."""

    def register(handler: Handler) -> Handler:
        if name in _OVERRIDES and _OVERRIDES[name].handler is not handler:
            raise RegistryError(
                f"tool {name!r} is overridden twice: {_OVERRIDES[name].module} and {handler.__module__}"
            )
        _OVERRIDES[name] = Override(name, handler, plan, handler.__module__)
        return handler

    return register


def load_overrides() -> Mapping[str, Override]:
    """Import every module of ``ontraport_mcp.overrides`` so their decorators run."""
    package = importlib.import_module("ontraport_mcp.overrides")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        importlib.import_module(f"{package.__name__}.{info.name}")
    return dict(_OVERRIDES)


@dataclass(frozen=True, slots=True)
class Entry:
    spec: ToolSpec
    handler: Handler
    plan: Planner | None = None
    source: str = "generated"


def build_registry(
    tools: Iterable[ToolSpec], overrides: Mapping[str, Override]
) -> dict[str, Entry]:
    specs = {}
    for spec in tools:
        if spec.name in specs:
            raise RegistryError(f"duplicate tool name {spec.name!r} in the generated catalog")
        specs[spec.name] = spec
    unknown = sorted(set(overrides) - set(specs))
    if unknown:
        raise RegistryError(
            f"overrides for tools that are not in the catalog: {', '.join(unknown)}"
        )
    entries: dict[str, Entry] = {}
    for name, spec in specs.items():
        if name in overrides:
            found = overrides[name]
            entries[name] = Entry(spec, found.handler, found.plan, found.module)
        elif spec.binding is not None:
            entries[name] = Entry(spec, binding_handler(spec), None, "generated binding")
        else:
            entries[name] = Entry(spec, not_implemented, None, "missing")
    return entries


def binding_handler(spec: ToolSpec) -> Handler:
    """The generic handler of a tool that is exactly one plain endpoint."""
    assert spec.binding is not None
    binding = spec.binding

    async def handle(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        params = {p.api_name: args[p.argument] for p in binding.params if p.argument in args}
        result = await ctx.call(binding.operation, params=params)
        from .overrides.cleaner import clean

        return {
            **{p.argument: args.get(p.argument) for p in binding.params},
            "result": clean(result.envelope),
        }

    return handle


async def not_implemented(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    raise ToolError(
        f"{ctx.spec.name} is in the catalog but has no implementation yet in this version.",
        status=501,
        code="not_implemented",
    )
