"""Invariants over the whole generated inventory (style note 9)."""

from ontraport_mcp.generated.tools import ACCESS_POLICY, TOOLS
from ontraport_mcp.schema_rules import name_problems, schema_problems

# The product surface: these 48 names are fixed (they match Ontraport's hosted server).
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


def test_all_48_names_and_nothing_else():
    names = [t.name for t in TOOLS]
    assert len(names) == len(set(names)) == 48
    assert set(names) == CATALOG_NAMES


def test_every_schema_is_client_portable():
    for tool in TOOLS:
        assert not name_problems(tool.name)
        assert not schema_problems(tool.input_schema, is_input=True), tool.name
        assert not schema_problems(tool.output_schema, is_input=False), tool.name


def test_annotations_match_class():
    for tool in TOOLS:
        hints = tool.annotations
        assert hints["readOnlyHint"] is (tool.tool_class == "R"), tool.name
        assert hints["destructiveHint"] is (tool.tool_class in ("D", "$")), tool.name
        assert hints["openWorldHint"] is True
        if tool.tool_class == "R":
            assert hints["idempotentHint"] is True
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


def test_descriptions_are_bounded_and_have_examples():
    for tool in TOOLS:
        assert 80 < len(tool.description) <= 1200, tool.name
        assert "Example" in tool.description, tool.name


def test_access_policy_covers_the_documented_types():
    assert set(ACCESS_POLICY["types"]["0"]["methods"]) == {"get", "create", "update", "delete"}
    assert ACCESS_POLICY["types"]["46"]["methods"] == ["get"]
    assert set(ACCESS_POLICY["custom"]["methods"]) == {"get", "create", "update", "delete"}
    assert "2" not in ACCESS_POLICY["types"]
