"""What happens to one tool call once it is in: the registry of tools, the one dispatch,
the executor (validation, confirmation, the duplicate guard, results), the manifest, the audit."""
