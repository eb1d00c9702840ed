"""The hand-kept API description and /objects/meta snapshot, shipped as package data (read with importlib.resources)."""
