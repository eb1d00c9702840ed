"""Invariants over the whole generated inventory (style note 9).

What a client sees of every listed tool (portable names and schemas, bounded descriptions,
annotations that match the class, the count under the cap) is checked on the live listing, static
and custom-object tools together, in ``tests/test_tool_snapshots.py``."""

import json
from typing import Any

from jsonschema import Draft202012Validator

from ontraport_mcp.generated.tools import ACCESS_POLICY, TOOLS

# The product surface: these names are fixed (they match Ontraport's hosted server).
CATALOG_NAMES = {
    # CRUD
    "saveorupdate_object",
    "create_object",
    "get_objects",
    "update_object",
    "delete_object",
    "delete_objects",
    # Query
    "list_allowed_object_types",
    "get_object_meta",
    "count_objects",
    "get_account_info",
    "get_groups",
    "get_subscribers",
    "get_contact_log",
    "get_automation_log",
    "get_recent_messages",
    "get_recent_notes",
    "get_recent_tasks",
    "get_task_form_requirements",
    "get_scheduled_broadcasts",
    "get_landing_page_url",
    "build_api_condition",
    # Manage
    "manage_tags",
    "manage_subscriptions",
    "manage_relationships",
    "assign_task",
    "complete_task",
    "cancel_task",
    "reschedule_task",
    "pause_unpause_objects",
    # Commerce
    "get_invoices",
    "get_purchases",
    "get_failed_transactions",
    "get_payments",
    "create_invoice",
    "update_invoice",
    "pay_invoice",
    "process_transaction",
    "log_offline_purchase",
    "mark_transaction_paid",
    "rerun_transaction",
    "refund_transaction",
    "void_transaction",
    "write_off_transaction",
    "cancel_subscription",
    "convert_transaction",
    "send_invoice",
    "update_order",
    "validate_offer",
}
MONEY = {
    "create_invoice",
    "update_invoice",
    "pay_invoice",
    "process_transaction",
    "log_offline_purchase",
    "mark_transaction_paid",
    "rerun_transaction",
    "refund_transaction",
    "void_transaction",
    "write_off_transaction",
    "cancel_subscription",
    "convert_transaction",
    "update_order",
}


def test_the_catalog_names_and_nothing_else():
    names = [t.name for t in TOOLS]
    assert len(names) == len(set(names)) == len(CATALOG_NAMES)
    assert set(names) == CATALOG_NAMES


def test_money_and_destructive_classes():
    """Which tools ask for confirmation; the annotations each class gets are checked on the live
    listing (tests/test_tool_snapshots.py)."""
    assert {t.name for t in TOOLS if t.tool_class == "$"} == MONEY
    assert {t.name for t in TOOLS if t.tool_class == "D"} == {"delete_object", "delete_objects"}


def test_confirmed_tools_carry_the_confirmation_fields():
    for tool in TOOLS:
        props = tool.input_schema["properties"]
        if tool.tool_class in ("D", "$"):
            assert "confirmation_token" in props
            assert tool.output_schema["required"] == ["status"]
        else:
            assert "confirmation_token" not in props
        assert ("force" in props) is (tool.tool_class == "$")


def test_descriptions_have_examples():
    for tool in TOOLS:
        assert "Example" in tool.description, tool.name


def test_examples_are_valid_arguments():
    for tool in TOOLS:
        example = json.loads(tool.description.rsplit("Example: ", 1)[1])
        errors = list(Draft202012Validator(tool.input_schema).iter_errors(example))
        assert not errors, (tool.name, errors[0].message if errors else None)


def test_listed_schemas_only_leave_keywords_out():
    """tools/list may omit guard rails and optional result keys, never change or add anything:
    every argument the server accepts is valid against the listed input schema (with the same
    argument names, types, enums and required), every result against the listed output schema."""
    for tool in TOOLS:
        wire = tool.wire()
        _relaxes(wire["inputSchema"], tool.input_schema, tool.name, is_input=True)
        _relaxes(wire["outputSchema"], tool.output_schema, tool.name, is_input=False)
        assert wire["outputSchema"]["required"] == tool.output_schema["required"], tool.name


def test_formats_left_out_of_the_listing_are_stated_in_words():
    for tool in TOOLS:
        listed = tool.wire()["inputSchema"]["properties"]
        for name, full in tool.input_schema["properties"].items():
            if "pattern" in json.dumps(full):
                assert "ISO 8601" in listed[name].get("description", ""), (tool.name, name)


def _relaxes(wire: Any, full: Any, where: str, *, is_input: bool) -> None:
    assert isinstance(wire, dict) and isinstance(full, dict), where
    if is_input:
        kept = ("type", "enum", "required", "anyOf", "items", "properties", "format")
        for key in kept:
            assert (key in wire) is (key in full), (where, key)
        if full.get("additionalProperties") is False:
            assert wire.get("additionalProperties") is False, where
    else:
        assert wire.get("type") == full.get("type") and wire.get("enum") == full.get("enum")
    for key, value in wire.items():
        assert key in full, (where, key)
        if key == "properties":
            if is_input:
                assert set(value) == set(full[key]), where
            for name, sub in value.items():
                if is_input and _points_elsewhere(sub, full[key][name], name, where):
                    continue
                _relaxes(sub, full[key][name], f"{where}.{name}", is_input=is_input)
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            _relaxes(value, full[key], f"{where}[]", is_input=is_input)
        elif key == "required" and not is_input:
            assert set(value) <= set(full[key]), where
        elif key == "anyOf":
            assert len(value) == len(full[key]), where
            for sub, full_sub in zip(value, full[key], strict=True):
                _relaxes(sub, full_sub, f"{where}|", is_input=is_input)
        else:
            assert value == full[key], (where, key)


def _points_elsewhere(wire: Any, full: Any, name: str, where: str) -> bool:
    """A ``$listed`` pointer: a structured argument listed as one line naming the tool that
    lists the same argument in full (the offer: validate_offer).  Checks that tool does."""
    if "properties" not in full or "properties" in wire:
        return False
    assert set(wire) == {"type", "description"} and wire["type"] == full["type"], where
    named = [t for t in TOOLS if t.name in wire["description"] and t.name != where]
    assert named, (where, "the pointer names no tool")
    listed_there = dict(named[0].wire()["inputSchema"]["properties"][name])
    listed_there.pop("description", None)  # each tool says what the argument is for; the shape
    _relaxes(listed_there, full, f"{named[0].name}.{name}", is_input=True)  # must be the same
    return True


def test_the_offer_is_listed_in_full_once():
    """Five tools take an offer; only validate_offer lists its shape, the others point there
    (and still validate against the full schema)."""
    takers = [t for t in TOOLS if "offer" in t.input_schema["properties"]]
    full = [
        t.name for t in takers if "properties" in t.wire()["inputSchema"]["properties"]["offer"]
    ]
    assert full == ["validate_offer"]
    assert len(takers) == 5
    for tool in takers:
        assert "products" in tool.input_schema["properties"]["offer"]["properties"], tool.name
        assert "$listed" not in json.dumps(tool.input_schema), tool.name


def test_access_policy_covers_the_documented_types():
    assert set(ACCESS_POLICY["types"]["0"]["methods"]) == {"get", "create", "update", "delete"}
    assert ACCESS_POLICY["types"]["46"]["methods"] == ["get"]
    assert set(ACCESS_POLICY["custom"]["methods"]) == {"get", "create", "update", "delete"}
    assert "2" not in ACCESS_POLICY["types"]
