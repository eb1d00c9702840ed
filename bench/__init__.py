"""Benchmarks of ontraport-mcp (issue #8): ``python -m bench [--quick | --smoke]``.

A canned Ontraport upstream in its own process (``bench.upstream``), a multi-process raw
HTTP/1.1 load driver (``bench.httpload``), the server started as ``ontraport-mcp serve`` in a
subprocess, and the measurements (``bench.scenarios``) judged against the issue's targets
(``bench.report``).  Nothing listens beyond 127.0.0.1; every process started is stopped.
"""
