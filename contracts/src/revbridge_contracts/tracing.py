"""W3C trace context inside stream messages.

HTTP hops are propagated by the OpenTelemetry instrumentations; a stream entry is not HTTP, so
the producer copies the current context into the envelope and the consumer continues it.
"""

from __future__ import annotations

from opentelemetry import context, propagate


def current_trace_fields() -> dict[str, str]:
    """The ``traceparent``/``tracestate`` of the active span, for an outgoing message."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {k: v for k, v in carrier.items() if k in ("traceparent", "tracestate")}


def context_from(traceparent: str | None, tracestate: str | None = None) -> context.Context:
    """The context a consumer should run its span in, continuing the producer's trace."""
    carrier = {"traceparent": traceparent or ""}
    if tracestate:
        carrier["tracestate"] = tracestate
    return propagate.extract(carrier)
