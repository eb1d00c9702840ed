"""The Python SDK 2.x client (``mcp.Client``) over streamable HTTP, in both protocol eras:
``auto`` negotiates 2026-07-28 (confirmation by an input-required round), ``legacy`` the
2025-11-25 handshake (confirmation pushed as ``elicitation/create`` on the call's stream)."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from tests.clients.harness import (
    Compat,
    accept_elicitation,
    check_elicitation_transcript,
    check_transcript,
    elicitation_session,
    run_python_session,
    token_session,
)
from tests.server_thread import connect

pytestmark = pytest.mark.anyio
ERAS = pytest.mark.parametrize(
    ("mode", "era"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")], ids=["2026", "2025"]
)


def test_the_client_is_the_2x_sdk():
    assert version("mcp").startswith("2.")


@ERAS
async def test_every_tool_class_and_the_token_flow(compat: Compat, mode: str, era: str):
    async with connect(compat.url, compat.headers, mode=mode) as client:
        transcript = await run_python_session(
            client, token_session(f"py{mode}", compat.nonce()), []
        )
    assert transcript.protocol_version == era
    check_transcript(
        transcript,
        expected_tools=compat.expected_tools,
        bad_arguments_error=compat.bad_arguments_error,
    )
    # the client checks structuredContent on every success (call_tool → validate_tool_result);
    # control: content that misses the listed outputSchema is rejected by that same check
    assert transcript.control is not None and transcript.control["threw"] is not None
    assert "Invalid structured content" in transcript.control["threw"]["message"]


@ERAS
async def test_elicitation_confirms_money_and_deletion(compat: Compat, mode: str, era: str):
    seen: list[str] = []
    callback = accept_elicitation(seen)
    async with connect(
        compat.url, compat.headers, mode=mode, elicitation_callback=callback
    ) as client:
        session = elicitation_session(f"py{mode}", compat.nonce())
        transcript = await run_python_session(client, session, seen)
    assert transcript.protocol_version == era
    check_elicitation_transcript(transcript, bad_arguments_error=compat.bad_arguments_error)
