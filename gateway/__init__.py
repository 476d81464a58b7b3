"""The IO side of aoa beside the HTTP edge in `aoa.py`: one small module per concern.

    state     the per-application State and the request keys (trace, policy ticket)
    inbound   what the client sent → a `core.Call` (body, fields, credentials, pre-call policies)
    exchange  the upstream exchange, the SSE relay to the client, OpenAI-shaped error bodies
    responses_api  the Responses API handlers (translated onto the chat path, or relayed)
    config    environment → Config (every AOA_* variable, validated at start-up)
    redact    secrets scrubbed from log lines and error bodies
    sse       the upstream SSE decoder and the downstream framing
    upstream  connectors, proxies, the upstream session, transport failures → errors
    fetch     guarded fetching of client-named media
    logs      logging set-up, request ids and the access log (text or JSON lines)
    body      the client's body: parsed and checked once, big ones translated in a worker thread
    listen    binding the listening sockets before start-up (clear errors, banner after bind)
    edge      serving those sockets: header deadline, connection cap, aiohttp's own refusals
    google_auth  Google service-account tokens for Vertex AI (the credential of each call)
    keys      key pools: `<P>_API_KEY=k1,k2` round robin with cooldowns
    retry     the upstream attempt loop: which failures are retried, backoff, the budget
    usage     token usage read from answers and streams (and stripped when not asked for)
    metrics   the Prometheus registry behind GET /metrics
    otel      optional OpenTelemetry spans (the `otel` extra)

Gateway policies (key pools, retries, limits, cache, metrics, chat log, the Responses store,
routing) join as modules here too, each built once at start-up from its own variables and called
at one named point of the request path (`aoa.py` and the modules above). Providers never import
from this package.
"""
