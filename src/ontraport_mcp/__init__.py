"""ontraport-mcp: an MCP server for Ontraport CRM."""

__version__ = "0.1.0"
__all__ = ["__version__"]
