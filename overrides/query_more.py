"""More Query tools: get_task_form_requirements (what complete_task will need for one task)."""

from __future__ import annotations

from typing import Any

from ontraport_mcp.runtime.context import ToolContext
from ontraport_mcp.runtime.policy import check
from ontraport_mcp.runtime.registry import override

from .tasks import TASK_TYPE, describe_requirements, get_task, task_requirements


@override("get_task_form_requirements")
async def get_task_form_requirements(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    check(TASK_TYPE, "get", "Task")
    task = await get_task(ctx, int(args["id"]))
    reqs = await task_requirements(ctx, [task])
    return describe_requirements(task, next(iter(reqs.values())))
