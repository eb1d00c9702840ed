"""``server.json``, the MCP Registry entry: valid against the registry's schema (vendored here,
see README.md in this folder), in step with the package's version, and naming only arguments,
variables and headers the server really takes."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
from jsonschema import Draft7Validator

import ontraport_mcp
from ontraport_mcp.credentials import Credentials
from ontraport_mcp.settings import Settings
from tests.ship.shipping import ROOT, project

SCHEMA_FILE = ROOT / "tests" / "ship" / "server.schema.json"
SCHEMA_ID = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
# SHA-256 of the published file at SCHEMA_ID; the vendored copy is that file, byte for byte
SCHEMA_SHA256 = "3fba09590c99f61735d234822279f4223fab9e300c0a81e81c91ab62a4114de0"


def load_schema() -> dict[str, Any]:
    return dict(json.loads(SCHEMA_FILE.read_text()))


def load_entry() -> dict[str, Any]:
    return dict(json.loads((ROOT / "server.json").read_text()))


def schema_errors(entry: dict[str, Any]) -> list[str]:
    validator = Draft7Validator(load_schema(), format_checker=Draft7Validator.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(entry)
    ]


def test_the_vendored_schema_is_the_published_one() -> None:
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == SCHEMA_SHA256
    assert load_schema()["$id"] == SCHEMA_ID
    Draft7Validator.check_schema(load_schema())


def test_server_json_is_valid_in_the_current_schema() -> None:
    entry = load_entry()
    assert entry["$schema"] == SCHEMA_ID
    assert schema_errors(entry) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("description",), "x" * 101),  # the registry caps descriptions at 100 characters
        (("name",), "ontraport-mcp"),  # not reverse-DNS: no namespace
        (("packages", 0, "version"), "latest"),
        (("remotes", 0, "url"), "{host}/mcp"),  # 2025-12-11 URLs start with http(s)://
    ],
)
def test_the_schema_refuses_what_the_registry_refuses(path: tuple[Any, ...], value: Any) -> None:
    entry = copy.deepcopy(load_entry())
    target = entry
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert schema_errors(entry)


def test_versions_agree() -> None:
    entry = load_entry()
    version = project()["version"]
    assert entry["version"] == version == ontraport_mcp.__version__
    (package,) = [p for p in entry["packages"] if p["registryType"] == "pypi"]
    assert package["version"] == version
    assert package["identifier"] == project()["name"]


def test_the_package_environment_is_what_settings_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each variable the entry asks for lands in the setting single-account mode uses."""
    (package,) = load_entry()["packages"]
    names = {v["name"] for v in package["environmentVariables"]}
    assert names == {"ONTRAPORT_API_KEY", "ONTRAPORT_APP_ID"}
    assert all(v["isSecret"] and v["isRequired"] for v in package["environmentVariables"])
    monkeypatch.setenv("ONTRAPORT_API_KEY", "key-from-env")
    monkeypatch.setenv("ONTRAPORT_APP_ID", "2_AppID_ENV")
    settings = Settings()
    assert settings.api_key is not None and settings.app_id is not None
    assert settings.api_key.get_secret_value() == "key-from-env"
    assert settings.app_id.get_secret_value() == "2_AppID_ENV"


def test_the_remote_headers_are_the_ones_the_server_reads() -> None:
    (remote,) = load_entry()["remotes"]
    assert remote["type"] == "streamable-http"
    assert remote["url"].endswith("/mcp")
    sent = {h["name"] for h in remote["headers"]}
    assert sent == set(Credentials(app_id="a", api_key="k").headers())
    assert all(h["isSecret"] for h in remote["headers"])
    variables = set(remote.get("variables", {}))
    assert {part.split("}")[0] for part in remote["url"].split("{")[1:]} == variables


def test_the_readme_proves_ownership_to_the_registry() -> None:
    """The registry accepts a PyPI package only if its description (README.md, the wheel's long
    description) carries ``mcp-name: <server name>``."""
    assert f"mcp-name: {load_entry()['name']}" in (ROOT / "README.md").read_text()
