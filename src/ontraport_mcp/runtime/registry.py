"""The registry: what ``overrides/`` contributes to the runtime, by name, through one mechanism.

Hand-written code registers itself with a decorator in a module of ``overrides/``; the core
never imports ``overrides/`` by name (``load_overrides`` imports the package by its dotted name
when the first piece is needed).  Three kinds of contribution, declared in ``SLOTS``:

* ``@override("tool_name", plan=...)`` — the handler (and confirmation planner) of a catalog tool;
* ``@custom_object("get")`` — the handler of one kind of per-account custom-object tool;
* ``@provides("clean")`` — a hook the runtime calls (the response cleaner, the manifest cap).

``build_registry`` pairs each generated ``ToolSpec`` with its override (or with the generic
binding handler when the stub has a plain ``binding``) and fails loudly on an override for an
unknown tool, a second registration under one name, or a name the slot does not declare.  A stub
with neither answers with a structured ``not_implemented`` error, so the catalog can list a tool
before its code lands.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ToolError
from .toolspec import ToolSpec

if TYPE_CHECKING:
    from .context import ToolContext

Handler = Callable[["ToolContext", dict[str, Any]], Awaitable[dict[str, Any]]]
Planner = Callable[["ToolContext", dict[str, Any]], Awaitable["Plan"]]
F = TypeVar("F", bound=Callable[..., Any])

OVERRIDES_PACKAGE = "ontraport_mcp.overrides"

SLOTS: Mapping[str, Mapping[str, str]] = {
    # slot -> the names it takes -> what a registration under that name must be
    "custom_object": {
        "get": "handler of get_<object>",
        "search": "handler of search_<object>",
        "create": "handler of create_<object>",
        "update": "handler of update_<object>",
        "note": "handler of the _manifest_note tool",
    },
    "hook": {
        "clean": "(value) -> value: Ontraport's envelope and noise fields removed",
        "apply_cap": "(static_count, object_count, cap) -> CapDecision",
        "newest_first": "(items, recency) -> items, most recently modified first",
    },
}


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
    """A programming error in overrides/: unknown or duplicate names."""


_OVERRIDES: dict[str, Override] = {}
_SLOTTED: dict[tuple[str, str], tuple[Any, str]] = {}  # (slot, name) -> (callable, module)
_loaded = False


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


def _slotted(slot: str, name: str) -> Callable[[F], F]:
    if name not in SLOTS[slot]:
        raise RegistryError(f"{slot} {name!r} is not declared; known: {', '.join(SLOTS[slot])}")

    def register(fn: F) -> F:
        found = _SLOTTED.get((slot, name))
        if found is not None and found[0] is not fn:
            raise RegistryError(f"{slot} {name!r} is registered twice: {found[1]}, {fn.__module__}")
        _SLOTTED[(slot, name)] = (fn, fn.__module__)
        return fn

    return register


def custom_object(kind: str) -> Callable[[Handler], Handler]:
    """Register the handler of one kind of custom-object tool (``SLOTS["custom_object"]``)."""
    return _slotted("custom_object", kind)


def provides(hook_name: str) -> Callable[[F], F]:
    """Register the implementation of a runtime hook (``SLOTS["hook"]``)."""
    return _slotted("hook", hook_name)


def load_overrides() -> Mapping[str, Override]:
    """Import every module of ``ontraport_mcp.overrides`` so their decorators run (once)."""
    global _loaded
    if not _loaded:
        package = importlib.import_module(OVERRIDES_PACKAGE)
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            importlib.import_module(f"{package.__name__}.{info.name}")
        missing = [
            f"{s} {n!r}" for s, names in SLOTS.items() for n in names if (s, n) not in _SLOTTED
        ]
        if missing:
            raise RegistryError(f"overrides/ registers no {', '.join(missing)}")
        _loaded = True
    return dict(_OVERRIDES)


def hook(name: str) -> Any:
    """The callable registered for hook ``name`` (loading ``overrides/`` on first use)."""
    found = _SLOTTED.get(("hook", name))
    if found is None:
        load_overrides()
        found = _SLOTTED[("hook", name)]
    return found[0]


def custom_object_handler(kind: str) -> Handler:
    """The handler of custom-object tools of ``kind`` (``spec.meta["kind"]``)."""
    found = _SLOTTED.get(("custom_object", kind))
    if found is None:
        load_overrides()
        found = _SLOTTED.get(("custom_object", kind))
    if found is None:
        raise RegistryError(f"no custom-object handler for kind {kind!r}")
    handler: Handler = found[0]
    return handler


def clean(value: Any) -> Any:
    """The response cleaner (hook ``clean``): what every tool shows of Ontraport's answers."""
    cleaner: Callable[[Any], Any] = hook("clean")
    return cleaner(value)


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


def custom_entry(spec: ToolSpec) -> Entry:
    """The entry of a per-account custom-object tool (or the manifest note)."""
    return Entry(spec, custom_object_handler(str(spec.meta["kind"])), None, "custom object")


def binding_handler(spec: ToolSpec) -> Handler:
    """The generic handler of a tool that is exactly one plain endpoint."""
    assert spec.binding is not None
    binding = spec.binding

    async def handle(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        # the generated, typed method; codegen checked every keyword against the spec
        send = getattr(ctx.api, binding.operation)
        keywords = {p.python_name: args[p.argument] for p in binding.params if p.argument in args}
        result = await send(**keywords)
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
