"""The object access policy for the generic CRUD tools — a table, checked in one function.

The table is ``ACCESS_POLICY`` from the generated catalog (``openapi/tools.yaml`` is its source).
Order of the check: custom objects (id ≥ 10000) use the ``custom`` row; a built-in type must be
listed; the method must be allowed.  A refusal names the specialised tools to use instead.
"""

from __future__ import annotations

from typing import Any, Literal

from ..errors import NotAllowed
from ..generated.tools import ACCESS_POLICY
from ..upstream.meta import CUSTOM_OBJECT_MIN_ID

Method = Literal["get", "create", "update", "delete"]
_VERB = {"get": "read", "create": "create", "update": "update", "delete": "delete"}


def rule_for(type_id: int) -> dict[str, Any] | None:
    if type_id >= CUSTOM_OBJECT_MIN_ID:
        custom: dict[str, Any] = ACCESS_POLICY["custom"]
        return custom
    row: dict[str, Any] | None = ACCESS_POLICY["types"].get(str(type_id))
    return row


def allowed_methods(type_id: int) -> list[str]:
    rule = rule_for(type_id)
    return list(rule["methods"]) if rule else []


def check(type_id: int, method: Method, type_name: str = "") -> None:
    rule = rule_for(type_id)
    label = f"{type_name or 'object type'} ({type_id})"
    if rule is None:
        raise NotAllowed(
            f"The generic tools do not expose {label}. Use list_allowed_object_types to see "
            "which object types are available."
        )
    if method in rule["methods"]:
        return
    tools = [t for t in rule.get("tools", []) if not t.startswith("get_<")]
    hint = (
        f" Use {', '.join(tools)} instead."
        if tools
        else f" Allowed here: {', '.join(rule['methods']) or 'nothing'}."
    )
    raise NotAllowed(
        f"The generic tools cannot {_VERB[method]} {label} records.{hint}",
        details={"object_type_id": type_id, "method": method, "use_instead": tools},
    )
