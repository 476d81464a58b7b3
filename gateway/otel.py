"""Optional OpenTelemetry traces: one span per request, exported over OTLP/HTTP.

`AOA_OTEL_ENDPOINT=http://collector:4318` turns it on; it needs the `otel` extra
(`pip install 'aoa[otel]'`: opentelemetry-sdk and the OTLP/HTTP exporter), never a hard
dependency. The exporter's own variables (`OTEL_EXPORTER_OTLP_HEADERS`, `…_TIMEOUT`,
`OTEL_BSP_*`) apply. Export runs on the SDK's batch thread, never on the event loop.

The span is written when the request ends, from the facts the request path already keeps
(`gateway/logs.Trace`): nothing per request while it runs, and nothing at all when off. A
`traceparent` header from the client makes it a child of the client's span. Names and attributes
follow the GenAI conventions (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/):
`{gen_ai.operation.name} {gen_ai.request.model}`, `gen_ai.usage.input_tokens`, … No prompt, answer
or key is ever an attribute. Not done: a client span per upstream attempt and `traceparent` sent
upstream (the attempt count and the upstream's time are attributes of the one span instead).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from providers import core

from .metrics import OPERATION, PROVIDER_NAME

__all__ = ["Tracing", "check_available"]


def check_available() -> None:
    """At start-up: AOA_OTEL_ENDPOINT set without the extra refuses to start."""
    try:
        import opentelemetry.exporter.otlp.proto.http.trace_exporter  # noqa: F401
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        raise core.ConfigError(
            "AOA_OTEL_ENDPOINT is set but OpenTelemetry is not installed (pip install 'aoa[otel]')"
        ) from None


class Tracing:
    def __init__(self, endpoint: str, kind: str, version: str) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.trace import SpanKind, Status, StatusCode
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        # A provider of our own, not the global one: aoa sets no process-wide state.
        self.provider = TracerProvider(resource=Resource.create({"service.name": "aoa", "service.version": version}))
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
        self.tracer = self.provider.get_tracer("aoa", version)
        self.propagator = TraceContextTextMapPropagator()
        self.kind = SpanKind.SERVER
        self.error = Status(StatusCode.ERROR)
        self.gen_ai_provider = PROVIDER_NAME.get(kind, kind)

    def record(self, method: str, route: str, status: int, trace: Any, headers: Mapping[str, str]) -> None:
        end = time.time_ns()
        start = end - int(trace.elapsed() * 1e9)
        context = self.propagator.extract(headers) if "traceparent" in headers else None
        op = OPERATION.get(route)
        attrs: dict[str, Any] = {
            "http.request.method": method,
            "http.route": route,
            "http.response.status_code": status,
        }
        if op is not None:
            name = f"{op} {trace.model}"
            attrs |= {
                "gen_ai.operation.name": op,
                "gen_ai.provider.name": self.gen_ai_provider,
                "gen_ai.request.model": trace.model,
                "aoa.stream": trace.stream,
                "aoa.upstream.attempts": trace.attempts,
                "aoa.upstream.duration": trace.upstream_s,
            }
            if trace.key_index >= 0:
                attrs["aoa.upstream.key_index"] = trace.key_index
            if trace.tokens_in is not None:
                attrs["gen_ai.usage.input_tokens"] = trace.tokens_in
            if trace.tokens_out is not None:
                attrs["gen_ai.usage.output_tokens"] = trace.tokens_out
            if trace.ttft_s is not None:
                attrs["aoa.time_to_first_chunk"] = trace.ttft_s
        else:
            name = f"{method} {route}"
        if status >= 400:
            attrs["error.type"] = str(status)
        span = self.tracer.start_span(name, context=context, kind=self.kind, attributes=attrs, start_time=start)
        if status >= 500:
            span.set_status(self.error)
        span.end(end_time=end)

    def close(self) -> None:
        self.provider.shutdown()
