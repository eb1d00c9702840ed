"""Date phrases end to end, through the MCP client: a date argument and a condition value read
``7 days ago`` the same way (one parser, ``ontraport_mcp.domain.dates``), and a bad date comes back as a
structured error that lists the accepted forms in words, never a regex.

The Student custom object's ``enrollment_date`` (a ``fulldate`` field) is a date argument of
``create_student``/``update_student`` whose schema takes any string, so the whole path runs
today. The catalog's date arguments (``since``, ``until``, ``date``, ``due_date``, ...) still
carry an ISO-only ``pattern`` in ``openapi/tools.yaml``; the last test marks that gap.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ontraport_mcp.domain.dates import DATE_FORMS_TEXT
from ontraport_mcp.sandbox.testing import SandboxServer
from tests.server_thread import ServerThread, connect
from tests.snapshots.catalog_facts import STUDENT
from tests.tools.tools_util import check_error, get_record, uniq

pytestmark = pytest.mark.anyio

STUDENTS = STUDENT  # seeded custom object "Student"
ENROLLMENT_DATE = "f1604"


def _midnights(days_back: int) -> set[int]:
    """Midnight UTC ``days_back`` days ago, for today and (should the test straddle midnight)
    tomorrow; worked out here with plain datetime arithmetic, not with the code under test."""
    today = datetime.now(UTC).date()
    return {
        int(datetime.combine(day - timedelta(days=days_back), datetime.min.time(), UTC).timestamp())
        for day in (today, today + timedelta(days=1))
    }


def _no_regex(message: str) -> None:
    for fragment in ("\\d", "[0-9]", "^", "(?:", "does not match"):
        assert fragment not in message, message


async def test_a_date_argument_takes_the_phrases_a_condition_takes(
    mcp_server: ServerThread, sandbox: SandboxServer, api: httpx.Client
) -> None:
    name = uniq("Phrase")
    async with connect(mcp_server.url, sandbox.headers) as client:
        created = await client.call_tool(
            "create_student", {"student_name": name, "enrollment_date": "7 days ago"}
        )
        assert not created.is_error, created.content
        student = created.structured_content["id"]
        stored = int(get_record(api, STUDENTS, student)[ENROLLMENT_DATE])
        assert stored in _midnights(7)

        # the same phrase in a condition selects the record; one day later does not
        found = await client.call_tool(
            "search_student",
            {"condition": f'student name = "{name}" and enrollment date >= 7 days ago'},
        )
        assert not found.is_error, found.content
        assert [int(r["id"]) for r in found.structured_content["records"]] == [student]
        missed = await client.call_tool(
            "search_student",
            {"condition": f'student name = "{name}" and enrollment date >= 6 days ago'},
        )
        assert not missed.is_error, missed.content
        assert missed.structured_content["records"] == []

        updated = await client.call_tool(
            "update_student", {"id": student, "enrollment_date": "in 2 weeks"}
        )
        assert not updated.is_error, updated.content
        assert int(get_record(api, STUDENTS, student)[ENROLLMENT_DATE]) in _midnights(-14)


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("create_student", {"student_name": "X", "enrollment_date": "next tuesday"}),
        ("search_student", {"condition": "enrollment date > next tuesday"}),
    ],
)
async def test_a_bad_date_lists_the_accepted_forms_in_words(
    mcp_server: ServerThread, sandbox: SandboxServer, tool: str, arguments: dict[str, Any]
) -> None:
    async with connect(mcp_server.url, sandbox.headers) as client:
        result = await client.call_tool(tool, arguments)
    data = check_error(result, "invalid_arguments", "next tuesday", "7 days ago", "ISO 8601")
    assert DATE_FORMS_TEXT in data["message"]
    _no_regex(data["message"])
    assert "7 days ago" in data["details"]["choices"]


async def test_catalog_date_arguments_take_phrases(
    mcp_server: ServerThread, sandbox: SandboxServer
) -> None:
    async with connect(mcp_server.url, sandbox.headers) as client:
        result = await client.call_tool("get_contact_log", {"contact_id": 1, "since": "7 days ago"})
        assert not result.is_error, result.content
        bad = await client.call_tool("get_contact_log", {"contact_id": 1, "since": "someday"})
    data = check_error(bad, "invalid_arguments", "someday", "7 days ago")
    _no_regex(data["message"])
