"""OpenAI's Responses API (`POST /v1/responses`) on top of any chat upstream.

Ground truth: the official `openai` Python SDK, `openai/types/responses/*` (request params,
`Response`, output items, stream events) and its stream accumulator
`openai/lib/streaming/responses/_responses.py`.

Pure translation, like every provider module: a Responses request → an OpenAI chat request (which
the configured provider then translates as usual), a `chat.completion` → a `response` object, and
`ResponseStream`, which turns `chat.completion.chunk` payloads into Responses stream events with
sequence numbers. Ids and timestamps come in as arguments; the wire is `aoa.py`'s, the store
`gateway/responses_store.py`'s.

Not supported (400 naming the parameter): built-in tools (web search, file search, computer use,
code interpreter, MCP, shell, custom tools…), `conversation`, `prompt` templates, `background`,
`context_management`, logprobs, file ids and file URLs as input. `reasoning` input items go back
to the upstream as the assistant turn's `reasoning_content` (used by the DeepSeek/Qwen-style
upstreams, ignored by the others); opaque reasoning state of other vendors (Gemini thought
signatures, Claude thinking signatures) travels inside tool-call ids, kept intact as `call_id`s.

Split by what it holds: `request` (wire types, parameter policy, request → chat), `response`
(the `response` object from a chat completion, stored records, item lists) and `stream` (chunks →
events, relayed events).
"""

from __future__ import annotations

from .request import (
    ENCRYPTED,
    ENCRYPTED_PREFIX,
    LOCAL,
    MAPPED,
    NEUTRAL,
    UNSUPPORTED,
    ItemIn,
    ResponsesRequest,
    _items_decoder,
    client_param,
    decode_messages,
    decode_request,
    encode_messages,
    input_items,
    namespaces,
    reasoning_text,
    to_chat,
    to_messages,
)
from .response import (
    FINISH,
    DeletedResponse,
    Response,
    Stored,
    carrier,
    decode_response,
    decode_stored,
    encode,
    from_chat,
    item_list,
    output_messages,
    page_params,
    skeleton,
    stored_items,
    valid_id,
)
from .stream import RelayEvents, ResponseStream, frame, relayed_id

__all__ = [
    "DeletedResponse", "ENCRYPTED", "ENCRYPTED_PREFIX", "FINISH", "ItemIn", "LOCAL", "MAPPED", "NEUTRAL",
    "RelayEvents", "Response", "ResponseStream", "ResponsesRequest", "Stored", "UNSUPPORTED", "_items_decoder",
    "carrier", "client_param", "decode_messages", "decode_request", "decode_response", "decode_stored", "encode", "encode_messages",
    "frame", "from_chat", "input_items", "item_list", "namespaces", "output_messages", "page_params", "reasoning_text", "relayed_id",
    "skeleton", "stored_items", "to_chat", "to_messages", "valid_id",
]
