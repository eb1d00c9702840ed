"""The TypeScript SDK 1.x client (``@modelcontextprotocol/sdk``, pinned in package.json) over
streamable HTTP: one Node process runs a token-flow session and an elicitation session."""

from __future__ import annotations

import pytest

from tests.clients.harness import (
    Compat,
    Transcript,
    check_elicitation_transcript,
    check_transcript,
    elicitation_session,
    run_ts_sessions,
    token_session,
)

INVALID_PARAMS = -32602


@pytest.fixture(scope="module")
def transcripts(node_clients: None, compat: Compat) -> list[Transcript]:
    nonce = compat.nonce()
    sessions = [token_session("ts", nonce), elicitation_session("ts", nonce)]
    return run_ts_sessions(compat.url, compat.headers, sessions)


def test_every_tool_class_and_the_token_flow(compat: Compat, transcripts: list[Transcript]):
    tokens = transcripts[0]
    assert tokens.protocol_version == "2025-11-25"
    check_transcript(
        tokens,
        expected_tools=compat.expected_tools,
        bad_arguments_error=compat.bad_arguments_error,
    )


def test_every_success_was_checked_against_the_output_schema(transcripts: list[Transcript]):
    """callTool validated each successful result once, with the SDK's own Ajv validator, and
    found it valid; an error result was not checked (it carries no structuredContent), and the
    bad-argument call returned the error instead of throwing."""
    for transcript in transcripts:
        for label, step in transcript.steps.items():
            if step["result"].get("isError"):
                assert step["validated"] == 0, label
            else:
                assert step["valid"] == [True], label
    assert transcripts[0].steps["bad_arguments"]["threw"] is None


def test_a_mismatch_would_have_thrown(transcripts: list[Transcript]):
    """Control: against a stricter schema the very same call throws -32602, so the clean
    returns above are proof the content matched the listed outputSchema."""
    control = transcripts[0].control
    assert control is not None and control["threw"] is not None
    assert control["threw"]["code"] == INVALID_PARAMS
    assert "output schema" in control["threw"]["message"]


def test_elicitation_confirms_money_and_deletion(compat: Compat, transcripts: list[Transcript]):
    """A client declaring ``elicitation: {form: {}}`` is asked on the call's own stream."""
    check_elicitation_transcript(transcripts[1], bad_arguments_error=compat.bad_arguments_error)
