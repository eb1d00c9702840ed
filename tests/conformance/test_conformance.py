"""The MCP conformance suite's server scenarios that apply to a server like ours.

Applies (run here): server-initialize, ping, tools-list, dns-rebinding-protection,
server-sse-polling, server-sse-multiple-streams.

Does not apply (recorded, not run):
* tools-call-simple-text, -image, -audio, -embedded-resource, -mixed-content, -with-logging,
  -error, -with-progress, -sampling, -elicitation, json-schema-2020-12, elicitation-sep1034-defaults,
  elicitation-sep1330-enums, completion-complete: each demands a fixture tool of the suite's
  own (``test_simple_text``, ``test_error_handling``, ``json_schema_2020_12_tool`` …) that a
  product server does not ship; our tool results, errors and elicitation are tested end to end
  in tests/server, tests/tools and tests/commerce instead. (json-schema-2020-12 also requires
  ``$defs``/``$ref`` in a tool schema, which our portability rule forbids for Gemini/OpenAI.)
* logging-set-level: the server declares no logging capability (logging is deprecated by
  SEP-2577 and our audit log is server-side).
* resources-*, prompts-*: the server exposes tools only.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import ConformanceServer, run_scenario  # noqa: E402

from ontraport_mcp.settings import Settings  # noqa: E402

SCENARIOS = [
    "server-initialize",
    "ping",
    "tools-list",
    "dns-rebinding-protection",
    "server-sse-polling",
    "server-sse-multiple-streams",
]


@pytest.fixture(scope="module")
def conformance_server(sandbox):
    settings = Settings(base_url=sandbox.base_url, audit_log="off")
    with ConformanceServer(
        settings, {"Api-Key": sandbox.api_key, "Api-Appid": sandbox.app_id}
    ) as server:
        yield server


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(conformance_server, scenario, tmp_path):
    code, output, _ = run_scenario(conformance_server.url, scenario, tmp_path)
    assert code == 0, output[-4000:]
    assert " 0 failed" in output, output[-4000:]
