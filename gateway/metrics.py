"""Prometheus metrics: a small in-process registry and its text exposition (`GET /metrics`).

Names follow the OpenTelemetry GenAI semantic conventions where one exists, rendered the way
OpenTelemetry's Prometheus exporter renders them (dots → underscores, the unit as a suffix):
`gen_ai.server.request.duration` → `gen_ai_server_request_duration_seconds`,
`gen_ai.server.time_to_first_token` → `gen_ai_server_time_to_first_token_seconds`,
`gen_ai.client.token.usage` → `gen_ai_client_token_usage`, with `gen_ai_operation_name`,
`gen_ai_provider_name`, `gen_ai_request_model` and `gen_ai_token_type` labels. Everything else
is `aoa_*`. https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/

Hand-rolled rather than `prometheus-client`: the runtime dependency rule, and the hot path —
aoa runs on one event loop, so a sample is a dict update with no lock; a histogram observation
is one `bisect`. Tests parse the output with prometheus-client's own parser.

Label values never hold a key or a prompt: keys appear as their pool index, models as the name
after alias resolution (capped: past `MAX_MODELS` distinct names the rest count as `other`, so a
client cannot grow the registry without bound).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any

__all__ = ["Metrics", "PROVIDER_NAME", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_MODELS = 100

# gen_ai.provider.name well-known values; other kinds are named by their AOA_TYPE.
PROVIDER_NAME = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "gemini": "gcp.gemini",
    "vertex": "gcp.vertex_ai",
    "anthropic": "anthropic",
    "claude": "anthropic",
    "deepseek": "deepseek",
    "kimi": "moonshot",
    "glm": "zhipu",
}

# gen_ai.operation.name per route (paths with and without the /v1 prefix).
OPERATION = {
    "/v1/chat/completions": "chat",
    "/chat/completions": "chat",
    "/v1/completions": "text_completion",
    "/completions": "text_completion",
    "/v1/embeddings": "embeddings",
    "/embeddings": "embeddings",
    "/v1/responses": "chat",
    "/responses": "chat",
}

# The semantic conventions' advised buckets.
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)
# aoa's own time per request is well under a millisecond; the buckets say how far under.
OVERHEAD_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: tuple[str, ...], values: tuple[Any, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape(str(v))}"' for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _num(v: float) -> str:
    if v == float("inf"):
        return "+Inf"
    return repr(float(v)) if isinstance(v, float) and not v.is_integer() else str(int(v))


class Counter:
    def __init__(self, name: str, help: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.help, self.labels = name, help, labels
        self.values: dict[tuple, float] = {}

    def inc(self, key: tuple = (), amount: float = 1) -> None:
        self.values[key] = self.values.get(key, 0) + amount

    def render(self, out: list[str]) -> None:
        out.append(f"# HELP {self.name}_total {self.help}\n# TYPE {self.name}_total counter\n")
        for key, v in self.values.items():
            out.append(f"{self.name}_total{_labels(self.labels, key)} {_num(v)}\n")


class Gauge:
    def __init__(self, name: str, help: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.help, self.labels = name, help, labels
        self.values: dict[tuple, float] = {}

    def render(self, out: list[str]) -> None:
        out.append(f"# HELP {self.name} {self.help}\n# TYPE {self.name} gauge\n")
        for key, v in self.values.items():
            out.append(f"{self.name}{_labels(self.labels, key)} {_num(v)}\n")


class Histogram:
    def __init__(self, name: str, help: str, labels: tuple[str, ...], buckets: tuple[float, ...]) -> None:
        self.name, self.help, self.labels, self.buckets = name, help, labels, buckets
        # per label set: [count per bucket…, count above the last bucket, sum]
        self.values: dict[tuple, list[float]] = {}

    def observe(self, key: tuple, value: float) -> None:
        row = self.values.get(key)
        if row is None:
            row = self.values[key] = [0] * (len(self.buckets) + 1) + [0.0]
        row[bisect.bisect_left(self.buckets, value)] += 1
        row[-1] += value

    def render(self, out: list[str]) -> None:
        out.append(f"# HELP {self.name} {self.help}\n# TYPE {self.name} histogram\n")
        for key, row in self.values.items():
            running = 0
            for bound, n in zip((*self.buckets, float("inf")), row):
                running += n
                le = 'le="' + _num(bound) + '"'
                out.append(f"{self.name}_bucket{_labels(self.labels, key, le)} {running}\n")
            out.append(f"{self.name}_sum{_labels(self.labels, key)} {_num(row[-1])}\n")
            out.append(f"{self.name}_count{_labels(self.labels, key)} {running}\n")


OP_LABELS = ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model")


class Metrics:
    """Every series aoa exports. The request path calls `start`/`finish` (in the middleware) and
    the attempt loop calls `upstream_error`/`retry`; key-pool state is read at scrape time."""

    def __init__(self, kind: str, pool: Any = None) -> None:
        self.provider = PROVIDER_NAME.get(kind, kind)
        self.pool = pool
        self.shared: Any = None  # the Redis store (gateway/shared.py) when AOA_REDIS_URL is set
        self.models: set[str] = set()
        self.in_flight = 0
        self.streams = 0
        self.attempts = 0
        self.requests = Counter(
            "aoa_requests", "Requests answered, by route, status and model.",
            ("http_route", "http_response_status_code", "gen_ai_request_model"),
        )
        self.duration = Histogram(
            "gen_ai_server_request_duration_seconds", "Time from request arrival to the last byte of the answer.",
            (*OP_LABELS, "http_response_status_code"), DURATION_BUCKETS,
        )
        self.ttft = Histogram(
            "gen_ai_server_time_to_first_token_seconds", "Streams: time from request arrival to the first chunk sent to the client.",
            OP_LABELS, TTFT_BUCKETS,
        )
        self.upstream = Histogram(
            "aoa_upstream_duration_seconds", "Time spent waiting for the upstream (until its first chunk, for streams).",
            ("gen_ai_operation_name",), DURATION_BUCKETS,
        )
        self.overhead = Histogram(
            "aoa_overhead_seconds", "aoa's own time per request until the answer's headers: total minus upstream wait.",
            ("gen_ai_operation_name",), OVERHEAD_BUCKETS,
        )
        self.token_usage = Histogram(
            "gen_ai_client_token_usage", "Tokens per request as the upstream reported them (input, output).",
            ("gen_ai_token_type", "gen_ai_provider_name", "gen_ai_request_model"), TOKEN_BUCKETS,
        )
        # The parts the conventions have no token type for; input/output totals are
        # gen_ai_client_token_usage_sum.
        self.tokens = Counter(
            "aoa_tokens", "Tokens the upstream reported as cached (of input) and reasoning (of output).",
            ("gen_ai_token_type", "gen_ai_request_model"),
        )
        self.errors = Counter("aoa_upstream_errors", "Failed upstream attempts by reason (HTTP status or transport failure).", ("reason",))
        self.retries = Counter("aoa_upstream_retries", "Upstream attempts retried, by the reason of the failure before them.", ("reason",))

    # --- the request path -----------------------------------------------------------------

    def model(self, name: str) -> str:
        """The model label: "" for routes without one, `other` past the cap."""
        if name in self.models:
            return name
        if not name or name == "-":
            return ""
        if len(self.models) >= MAX_MODELS or len(name) > 128:
            return "other"
        self.models.add(name)
        return name

    def upstream_error(self, reason: str) -> None:
        self.errors.inc((reason,))

    def retry(self, reason: str) -> None:
        self.retries.inc((reason,))

    def finish(self, route: str, status: int, trace: Any) -> None:
        """One finished request (any route); GenAI series for the model routes only."""
        model = self.model(trace.model)
        self.requests.inc((route, status, model))
        op = OPERATION.get(route)
        if op is None:
            return
        self.duration.observe((op, self.provider, model, status), trace.elapsed())
        if trace.attempts:
            self.upstream.observe((op,), trace.upstream_s)
        if trace.overhead_s is not None:
            self.overhead.observe((op,), trace.overhead_s)
        if trace.ttft_s is not None:
            self.ttft.observe((op, self.provider, model), trace.ttft_s)
        if trace.tokens_in is not None:
            self.token_usage.observe(("input", self.provider, model), trace.tokens_in)
        if trace.tokens_out is not None:
            self.token_usage.observe(("output", self.provider, model), trace.tokens_out)
        if trace.tokens_cached:
            self.tokens.inc(("cached", model), trace.tokens_cached)
        if trace.tokens_reasoning:
            self.tokens.inc(("reasoning", model), trace.tokens_reasoning)

    # --- exposition -----------------------------------------------------------------------

    def render(self) -> bytes:
        out: list[str] = []
        self.requests.render(out)
        _gauge(out, "aoa_requests_in_flight", "Requests being answered now.", [((), self.in_flight)])
        _gauge(out, "aoa_streams_in_flight", "Streams open to clients now.", [((), self.streams)])
        _counter(out, "aoa_upstream_attempts", "Upstream requests sent, retries included.", [((), self.attempts)])
        self.errors.render(out)
        self.retries.render(out)
        if self.pool is not None:
            keys = [(str(i),) for i in range(len(self.pool))]
            _gauge(out, "aoa_key_cooling", "1 while the upstream key (by position in <P>_API_KEY) is put aside.", list(zip(keys, map(int, self.pool.cooling()))), ("key",))
            _counter(out, "aoa_key_cooldowns", "Times each upstream key was put aside.", list(zip(keys, self.pool.cooldowns)), ("key",))
            _counter(out, "aoa_key_failures", "Rate limits and refusals per upstream key.", list(zip(keys, self.pool.failures)), ("key",))
        if self.shared is not None:
            _counter(out, "aoa_shared_state_failures", "Redis operations that failed (limits then admit, the cache misses).", [((), self.shared.failures)])
        for h in (self.duration, self.ttft, self.upstream, self.overhead, self.token_usage):
            h.render(out)
        self.tokens.render(out)
        return "".join(out).encode()


def _gauge(out: list[str], name: str, help: str, rows: Iterable[tuple[tuple, float]], labels: tuple[str, ...] = ()) -> None:
    g = Gauge(name, help, labels)
    g.values = dict(rows)
    g.render(out)


def _counter(out: list[str], name: str, help: str, rows: Iterable[tuple[tuple, float]], labels: tuple[str, ...] = ()) -> None:
    c = Counter(name, help, labels)
    c.values = dict(rows)
    c.render(out)

