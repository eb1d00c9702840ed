"""``python -m ontraport_mcp``: the same as the ``ontraport-mcp`` command."""

from .cli import main

main()
