"""``ontraport-mcp serve`` as a user runs it: a real process, its banner, its refusals, its help."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ontraport_mcp.cli import SERVE_FLAGS
from ontraport_mcp.settings import Settings
from tests.clients.test_stdio_config import README, config_block
from tests.server_thread import connect

CLI = [sys.executable, "-m", "ontraport_mcp"]
# no ONTRAPORT_* setting leaks in, and state stays out of $HOME
CLEAN_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("ONTRAPORT_")},
    "ONTRAPORT_DATA_DIR": tempfile.mkdtemp(prefix="ontraport-mcp-cli-"),
}


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, env=env or CLEAN_ENV
    )


def test_serve_help_names_the_variable_of_every_flag():
    text = " ".join(_run(["serve", "--help"]).stdout.split())
    fields = Settings.model_fields
    for flag, field, _, _ in SERVE_FLAGS:
        assert flag in text
        if field is None:
            continue
        assert field in fields, f"{flag} maps to no setting"
        assert f"ONTRAPORT_{field.upper()}" in text, flag


def test_single_account_http_without_a_token_refuses_to_start_in_one_line():
    env = {**CLEAN_ENV, "ONTRAPORT_API_KEY": "k", "ONTRAPORT_APP_ID": "a"}
    done = _run(["serve", "--port", "0"], env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "ONTRAPORT_MCP_TOKEN" in lines[0], done.stderr
    assert "k" not in lines[0].split("ONTRAPORT_")[0]  # the key's value is not echoed


def test_a_short_request_state_key_is_a_one_line_refusal_that_echoes_nothing():
    env = {**CLEAN_ENV, "ONTRAPORT_REQUEST_STATE_KEYS": "tooshort-secret"}
    done = _run(["serve", "--port", "0"], env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "32 bytes" in lines[0] and "tooshort" not in lines[0], done.stderr


def test_grants_lists_and_refuses_what_it_does_not_know():
    listed = _run(["grants", "list"])
    assert listed.returncode == 0 and "no OAuth grants" in listed.stdout, listed.stderr
    unknown = _run(["grants", "revoke", "no-such-grant"])
    assert unknown.returncode == 1 and not unknown.stderr.count("Traceback")


def test_json_logs_are_one_object_per_line():
    """``--log-format json``: every stderr line is a JSON object (uvicorn's own included)."""
    proc = subprocess.Popen(
        [*CLI, "serve", "--sandbox", "--port", "0", "--log-format", "json", "--log-level", "INFO"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=CLEAN_ENV,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.search(r"serving MCP at (\S+)", first)
        assert url is not None, first
        httpx.get(url.group(1).replace("/mcp", "/health"), timeout=5)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, "INFO logging wrote nothing"
    for line in lines:
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(entry), line


def test_a_port_in_use_is_a_one_line_refusal():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        done = _run(["serve", "--port", str(taken.getsockname()[1])])
    assert done.returncode == 2
    assert "cannot listen" in done.stderr and "--port" in done.stderr


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, float]]:
    """``serve --sandbox --port 0`` in a child process: its banner, and when the first line came."""
    proc = subprocess.Popen(
        [*CLI, "serve", "--sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=CLEAN_ENV,
        cwd=Path(__file__).parent,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # blocks until the banner starts (or the process ends)
        assert first.startswith("ontraport-mcp "), first + (
            proc.stderr.read() if proc.stderr else ""
        )
        url = re.search(r"serving MCP at (\S+)", first)
        assert url is not None
        # the port is bound before the banner: the URL answers at once, no retry
        health = httpx.get(url.group(1).replace("/mcp", "/health"), timeout=5)
        assert health.status_code == 200
        rest = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            rest.append(line)
            if line.startswith('  {"mcpServers"') and "command" in line:
                break
        yield first + "".join(rest), time.monotonic()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _block(banner: str, title: str) -> str:
    lines = banner.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(title))
    return lines[at + 1].strip()


async def _tools(url: str, headers: dict[str, str]) -> list[str]:
    """tools/list through the MCP client with exactly the headers a config gives."""
    async with connect(url, headers) as client:
        return [tool.name for tool in (await client.list_tools()).tools]


@pytest.mark.anyio
async def test_every_printed_http_config_is_right_for_its_client(served):
    banner, _ = served
    cursor = json.loads(_block(banner, "Cursor"))["mcpServers"]["ontraport"]
    assert set(cursor) == {"url", "headers"}
    vscode = json.loads(_block(banner, "VS Code"))["servers"]["ontraport"]
    assert vscode["type"] == "http" and vscode["url"] == cursor["url"]
    assert vscode["headers"] == cursor["headers"]
    claude = shlex.split(_block(banner, "Claude Code"))
    assert claude[:6] == ["claude", "mcp", "add", "--transport", "http", "ontraport"]
    assert claude[6] == cursor["url"]
    sent = dict(h.split(": ", 1) for flag, h in zip(claude[7::2], claude[8::2], strict=True))
    assert sent == cursor["headers"]
    inspector = shlex.split(_block(banner, "MCP Inspector"))
    assert inspector[:4] == ["npx", "@modelcontextprotocol/inspector", "--cli", cursor["url"]]
    assert "get_objects" in await _tools(cursor["url"], cursor["headers"])


def test_the_printed_desktop_config_is_the_readme_one(served):
    """The README's block is launched as written by tests/clients and tests/test_first_run."""
    banner, _ = served
    printed = json.loads(_block(banner, "Claude Desktop"))
    assert printed == config_block(README.read_text())


@pytest.mark.anyio
async def test_shutdown_does_not_wait_for_an_unanswered_confirmation():
    """SIGTERM while a pushed question waits for a user ends the process within the grace."""
    import anyio
    import mcp_types as types

    proc = subprocess.Popen(
        [*CLI, "serve", "--sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=CLEAN_ENV,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.search(r"serving MCP at (\S+)", first)
        assert url is not None, first
        asked = anyio.Event()

        async def never(context: object, params: object) -> types.ElicitResult:
            asked.set()
            await anyio.sleep(120)
            return types.ElicitResult(action="cancel")

        headers = {"Api-Key": "sandbox-key", "Api-Appid": "2_AppID_SANDBOX"}
        async with anyio.create_task_group() as tg:

            async def call() -> None:
                try:
                    async with connect(
                        url.group(1), headers, mode="legacy", elicitation_callback=never
                    ) as client:
                        await client.call_tool("delete_object", {"object_type_id": 0, "id": 3})
                except Exception:  # noqa: BLE001 — the server going away ends the call
                    pass

            tg.start_soon(call)
            with anyio.fail_after(30):
                await asked.wait()
            started = time.monotonic()
            proc.terminate()
            await anyio.to_thread.run_sync(lambda: proc.wait(timeout=20))
            took = time.monotonic() - started
            tg.cancel_scope.cancel()
        assert took < 12, took
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
