"""The one record type that describes a tool, shared by generated stubs, overrides and the server.

codegen emits a ``ToolSpec`` per catalog entry into ``ontraport_mcp.generated.tools``; an override
(``overrides/``) registers a handler for a tool *by name*; the registry (``ontraport_mcp.runtime.registry``)
merges the two and refuses unknown or duplicate names.  Custom-object tools are built at run time
with the same type.  Nothing else declares a tool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ToolClass = Literal["R", "W", "D", "$"]
"""R read-only · W write (reversible or additive) · D destructive · $ moves money."""


@dataclass(frozen=True, slots=True)
class ClassInfo:
    """What a tool class means: its MCP hints, whether it confirms, the access level it needs."""

    meaning: str
    annotations: Mapping[str, bool]
    confirmed: bool  # acts only after the user confirms a summary (see ``confirm``)
    level: str  # the least access level that allows it (see ``ACCESS_LEVELS``)


# readOnlyHint true only for R; destructiveHint true for D and $; openWorldHint always true
# (every tool acts on an external account).  idempotentHint comes from the catalog entry.
TOOL_CLASSES: Mapping[str, ClassInfo] = {
    "R": ClassInfo(
        "reads only",
        {"readOnlyHint": True, "destructiveHint": False, "openWorldHint": True},
        confirmed=False,
        level="read",
    ),
    "W": ClassInfo(
        "writes (reversible or additive)",
        {"readOnlyHint": False, "destructiveHint": False, "openWorldHint": True},
        confirmed=False,
        level="write",
    ),
    "D": ClassInfo(
        "deletes or cannot be undone",
        {"readOnlyHint": False, "destructiveHint": True, "openWorldHint": True},
        confirmed=True,
        level="full",
    ),
    "$": ClassInfo(
        "moves money",
        {"readOnlyHint": False, "destructiveHint": True, "openWorldHint": True},
        confirmed=True,
        level="full",
    ),
}

ACCESS_LEVELS: Mapping[str, frozenset[str]] = {
    # an OAuth grant's level (and the header/stdio default, ``full``) -> the classes it allows
    "read": frozenset({"R"}),
    "write": frozenset({"R", "W"}),
    "full": frozenset({"R", "W", "D", "$"}),
}

TOOLSETS: Mapping[str, str] = {
    "crud": "records of any object type: get, create, update, delete",
    "query": "searches, conditions, account facts",
    "manage": "tags, sequences, campaigns, tasks, notes",
    "commerce": "offers, invoices, payments, subscriptions",
    "custom": "the account's own custom objects (built per account from /objects/meta)",
}

CLASS_ANNOTATIONS: Mapping[str, Mapping[str, bool]] = {
    name: info.annotations for name, info in TOOL_CLASSES.items()
}

CONFIRMED_CLASSES: frozenset[str] = frozenset(
    name for name, info in TOOL_CLASSES.items() if info.confirmed
)
"""Classes whose tools act only after the user confirms a summary (see ``confirm``)."""


def annotations_for(tool_class: str, *, idempotent: bool) -> dict[str, Any]:
    """MCP tool annotations (wire form) consistent with a tool class."""
    hints: dict[str, Any] = dict(CLASS_ANNOTATIONS[tool_class])  # the title is on the tool itself
    hints["idempotentHint"] = True if tool_class == "R" else idempotent
    return hints


@dataclass(frozen=True, slots=True)
class ParamBinding:
    """One API parameter filled from one tool argument."""

    api_name: str  # as the Ontraport API spells it (``objectID``)
    argument: str  # the tool argument it comes from (``object_type_id``)
    python_name: str  # the keyword of the generated client function (``object_id``)


@dataclass(frozen=True, slots=True)
class Binding:
    """A tool that is exactly one plain endpoint: the generic executor calls it directly."""

    operation: str
    params: tuple[ParamBinding, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """Everything an MCP client sees of a tool, plus where its Ontraport calls go."""

    name: str
    title: str
    description: str
    tool_class: ToolClass
    toolset: str
    idempotent: bool
    input_schema: Mapping[str, Any]
    output_schema: Mapping[str, Any]
    operations: tuple[str, ...] = ()
    binding: Binding | None = None
    object_type_id: int | None = None  # fixed type for custom-object tools
    meta: Mapping[str, Any] = field(default_factory=dict)
    # What ``tools/list`` shows, when leaner than the schemas above (codegen fills these for the
    # static tools: see ``codegen/render.py``).  ``input_schema`` stays the one arguments are
    # validated against; ``output_schema`` the one results are checked against in tests.
    wire_input_schema: Mapping[str, Any] | None = None
    wire_output_schema: Mapping[str, Any] | None = None

    @property
    def annotations(self) -> dict[str, Any]:
        return annotations_for(self.tool_class, idempotent=self.idempotent)

    @property
    def needs_confirmation(self) -> bool:
        return self.tool_class in CONFIRMED_CLASSES

    def wire(self) -> dict[str, Any]:
        """The tool as it appears in ``tools/list`` (camelCase keys)."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": (
                self.input_schema if self.wire_input_schema is None else self.wire_input_schema
            ),
            "outputSchema": (
                self.output_schema if self.wire_output_schema is None else self.wire_output_schema
            ),
            "annotations": self.annotations,
        }


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of ``openapi/ontraport.yaml`` as the generated client exposes it."""

    operation_id: str
    method: str
    path: str
    module: str  # dotted path below ``ontraport_mcp.generated.client.api``
    query: Mapping[str, str]  # API parameter name -> keyword of ``_get_kwargs``
    body_model: str | None = None  # model class name in ``generated.client.models`` (or None)
    content_types: tuple[str, ...] = ()
    idempotent: bool = False  # safe to retry (GET)
    enums: Mapping[str, str] = field(default_factory=dict)  # API param -> generated enum class
