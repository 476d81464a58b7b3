"""The IO side of aoa beside the HTTP edge in `aoa.py`: one small module per concern.

    config    environment → Config (every AOA_* variable, validated at start-up)
    redact    secrets scrubbed from log lines and error bodies
    sse       the upstream SSE decoder and the downstream framing
    upstream  connectors, proxies, the upstream session, transport failures → errors
    fetch     guarded fetching of client-named media
    logs      logging set-up and the access log
    body      the client's body: parsed and checked once, big ones translated in a worker thread
    edge      the listening socket: header deadline, connection cap, aiohttp's own refusals
    google_auth  Google service-account tokens for Vertex AI (the credential of each call)
    keys      key pools: `<P>_API_KEY=k1,k2` round robin with cooldowns
    retry     the upstream attempt loop: which failures are retried, backoff, the budget
    usage     token usage read from answers and streams (and stripped when not asked for)
    metrics   the Prometheus registry behind GET /metrics
    otel      optional OpenTelemetry spans (the `otel` extra)

Gateway policies (key pools, retries, limits, cache, metrics, chat log, the Responses store,
routing) join as modules here too, each built once at start-up from its own variables and called
at one named point of the request path in `aoa.py`. Providers never import from this package.
"""
