"""OpenTelemetry traces: one span per ``tools/call``, one child span per request to Ontraport.

=============================  ==========================================================
span                           attributes
=============================  ==========================================================
``tools/call <tool>``          ``gen_ai.tool.name`` (a ``custom:<kind>`` label for the
(kind SERVER)                  account's custom-object tools, whose names are account data),
                               ``ontraport.tool.class``, ``ontraport.outcome``,
                               ``ontraport.request_id``; status ERROR for ``error:<code>``
``ontraport <operation>``      ``ontraport.operation``, ``http.response.status_code``
(kind CLIENT, child)           (0: no answer), ``ontraport.attempt``
=============================  ==========================================================

No argument, account, credential or record id is ever an attribute, and exceptions are not
recorded on spans (their text may quote customer data).

The spans go to a ``TracerProvider`` of this module's own, never the process-wide one.  The MCP
SDK opens its own span (``tools/call <tool>``, from ``mcp.server._otel.OpenTelemetryMiddleware``)
around every request it handles, on the process-wide provider: left unconfigured, that one is a
no-op, so the SDK path does not show two spans of the same name.  It still carries a W3C
``traceparent`` a client sent in ``_meta`` as the current context (a non-recording span), so on
the SDK path our span joins the client's trace.  An operator who configures the process-wide
provider too (``opentelemetry-instrument``) gets the SDK's span as well, as the parent of ours.

Exported over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (the exporter reads its
usual ``OTEL_EXPORTER_OTLP_*`` variables); without it nothing is installed at all.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from ..observe import Span
from .metrics import tool_label

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def otlp_configured(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for OTLP export (the variables of the OTel spec)."""
    return any(environ.get(name) for name in ENDPOINT_VARIABLES)


def otlp_exporter() -> SpanExporter:
    """The OTLP/HTTP exporter, imported only when traces are asked for."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise RuntimeError(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set, but the OTLP exporter is not installed: "
            "pip install opentelemetry-exporter-otlp-proto-http (or unset the variable)."
        ) from None
    return OTLPSpanExporter()


class _Traced:
    """One OTel span around one ``observe`` span, current while the block runs."""

    __slots__ = ("owner", "span", "otel", "token")

    def __init__(self, owner: Tracing, span: Span) -> None:
        self.owner = owner
        self.span = span
        self.otel: Any = None
        self.token: Any = None

    def __enter__(self) -> None:
        span = self.span
        attrs = span.attributes
        if span.kind == "tools/call":
            tool = tool_label(str(attrs.get("tool", "")), self.owner.catalog)
            attributes: dict[str, Any] = {
                "gen_ai.tool.name": tool,
                "ontraport.tool.class": str(attrs.get("tool_class", "")),
            }
            if attrs.get("request_id"):
                attributes["ontraport.request_id"] = str(attrs["request_id"])
            name, kind = f"tools/call {tool}", SpanKind.SERVER
        else:
            operation = str(attrs.get("operation", ""))
            attributes = {
                "ontraport.operation": operation,
                "ontraport.attempt": int(attrs.get("attempt", 1)),
            }
            name, kind = f"ontraport {operation}", SpanKind.CLIENT
        self.otel = self.owner.tracer.start_span(name, kind=kind, attributes=attributes)
        self.token = otel_context.attach(trace.set_span_in_context(self.otel))

    def __exit__(self, *exc: object) -> None:
        span, otel = self.span, self.otel
        try:
            if span.kind == "tools/call":
                otel.set_attribute("ontraport.outcome", span.outcome)
                if span.outcome.startswith("error:"):
                    otel.set_status(Status(StatusCode.ERROR, span.outcome[6:]))
            else:
                otel.set_attribute("http.response.status_code", int(span.status or 0))
                if not span.status or span.status >= 500:
                    otel.set_status(Status(StatusCode.ERROR))
            otel.end()
        finally:
            otel_context.detach(self.token)


class Tracing:
    """The provider, its exporter and the ``observe`` observer that opens the spans."""

    def __init__(
        self,
        exporter: SpanExporter | None = None,
        *,
        tool_names: Iterable[str] = (),
        processor: SpanProcessor | None = None,
        service_version: str = "",
    ) -> None:
        self.catalog = frozenset(tool_names)
        resource = Resource.create(
            {"service.name": "ontraport-mcp", "service.version": service_version}
        )
        self.provider = TracerProvider(resource=resource)
        if processor is None:
            processor = BatchSpanProcessor(exporter if exporter is not None else otlp_exporter())
        self.provider.add_span_processor(processor)
        self.tracer = self.provider.get_tracer("ontraport_mcp", service_version)

    def observer(self, span: Span) -> contextlib.AbstractContextManager[Any]:
        """The ``observe.watch`` observer."""
        return _Traced(self, span)

    def shutdown(self) -> None:
        """Flush what is queued and stop the exporter (bounded by the SDK's own timeouts)."""
        self.provider.shutdown()
