"""The Ontraport API: the transport under the generated client, and the per-account meta
cache."""
