"""Task (type 1) status model: 0 pending, 1 complete, 2 cancelled. One transition table, used by
``/task/*`` and by ``PUT /Tasks``."""

from __future__ import annotations

from typing import Any

from .clock import now
from .errors import bad

STATUS_NAMES = {"0": "pending", "1": "complete", "2": "cancelled"}

# action -> (statuses it may start from, resulting status or None when the status stays)
TASK_TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "complete": (frozenset({"0"}), "1"),
    "cancel": (frozenset({"0"}), "2"),
    "reopen": (frozenset({"1", "2"}), "0"),
    "reschedule": (frozenset({"0"}), None),
}
PAST = {
    "complete": "completed",
    "cancel": "cancelled",
    "reopen": "reopened",
    "reschedule": "rescheduled",
}
# PUT /Tasks status changes map onto the same table
STATUS_TO_ACTION = {"1": "complete", "2": "cancel", "0": "reopen"}


def describe(status: str | None) -> str:
    s = str(status) if status is not None else "?"
    return f"{s} ({STATUS_NAMES.get(s, 'unknown')})"


def check(action: str, task: dict[str, Any]) -> None:
    allowed, _ = TASK_TRANSITIONS[action]
    status = str(task.get("status") or "0")
    if status not in allowed:
        valid = ", ".join(describe(s) for s in sorted(allowed))
        raise bad(
            f"Task {task['id']} cannot be {PAST[action]}: its status is "
            f"{describe(status)}; {action} is only valid from status {valid}"
        )


def status_change(task: dict[str, Any], new_status: str | None) -> dict[str, Any]:
    """Extra fields for a status change through ``PUT /Tasks`` (validated against the table)."""
    if new_status not in STATUS_TO_ACTION:
        raise bad("Task status must be 0 (pending), 1 (complete) or 2 (cancelled)")
    action = STATUS_TO_ACTION[new_status]
    check(action, task)
    if new_status == "1":
        return {"date_complete": str(now())}
    if new_status == "0":
        return {"date_complete": "0", "call_outcome_id": "0"}
    return {}
