"""The Responses API (POST/GET/DELETE /v1/responses, …/input_items): translated onto the chat
path, its output re-shaped by a `Downstream` subclass and kept in the Responses store, or relayed
to an upstream that has the API itself."""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Awaitable, Callable

import msgspec
from aiohttp import web

from gateway import inbound
from gateway.body import offload
from gateway.exchange import Downstream, attempts, exchange, local_chat, read, served, stream_to_client
from gateway.responses_store import not_found
from gateway.state import STATE
from providers import core, oai, passthrough, responses


class ResponsesDownstream(Downstream):
    """The chat path's chunks (or whole answer) re-shaped into a Responses stream (or object).
    The finished response is stored before its last event is written, so a client that follows
    up with `previous_response_id` at once finds it."""

    def __init__(self, request: web.Request, skel: responses.Response, encrypted: bool, ns: dict[str, str],
                 keep: Callable[[responses.Response], Awaitable[None]]) -> None:
        super().__init__(request)
        self.skel = skel
        self.encrypted = encrypted
        self.ns = ns
        self.keep = keep
        self.shaper = responses.ResponseStream(skel, encrypted=encrypted, ns=ns)

    def frame(self, payloads: list[bytes]) -> bytes:
        return b"".join([e for p in payloads for e in self.shaper.feed(p)])

    async def ending(self) -> bytes:
        events = self.shaper.close(int(time.time()))
        await self.keep(self.shaper.response)
        return b"".join(events)

    def error_frame(self, err: core.Error, key: str) -> bytes:
        st = self.request.app[STATE]
        shown = core.Error(err.status, st.redact(err.message, key), param=err.param, code=err.code, type=err.type)
        return b"".join(self.shaper.fail(shown))

    async def whole(self, body: bytes) -> web.StreamResponse:
        r = responses.from_chat(self.skel, body, encrypted=self.encrypted, completed_at=int(time.time()), ns=self.ns)
        await self.keep(r)
        return web.Response(body=responses.encode(r), content_type="application/json")


class RelayDownstream(Downstream):
    """Relay mode: the upstream's Responses events, already framed with their names."""

    def __init__(self, request: web.Request, events: responses.RelayEvents,
                 claim: Callable[[str], Awaitable[None]] | None) -> None:
        super().__init__(request)
        self.events = events
        self.claim = claim

    async def write(self, payloads: list[bytes]) -> None:
        # Claimed before the client can see the id, so a follow-up at once finds it.
        if self.claim is not None and self.events.id is not None:
            await self.claim(self.events.id)
            self.claim = None
        await super().write(payloads)

    def frame(self, payloads: list[bytes]) -> bytes:
        return b"".join(payloads)

    async def ending(self) -> bytes:
        return b""

    def error_frame(self, err: core.Error, key: str) -> bytes:
        st = self.request.app[STATE]
        event = {"type": "error", "code": err.code or err.type, "message": st.redact(err.message, key), "param": err.param,
                 "sequence_number": self.events.relayed}
        return responses.frame("error", oai.encode(event))


async def _relay_responses(request: web.Request, call: core.Call, suffix: str, method: str = "POST") -> web.StreamResponse:
    st = request.app[STATE]
    assert st.responses_relay is not None
    url = st.responses_relay(suffix)
    assert url is not None
    if request.query_string:
        url += ("&" if "?" in url else "?") + request.query_string
    owner = inbound.bearer(request)
    claim: Callable[[str], Awaitable[None]] | None = None
    if call.key != owner:  # aoa's own upstream key: the upstream cannot tell aoa's clients apart
        claim = functools.partial(st.responses_store.claim, owner)
        rid = call.id if method != "POST" else inbound.field(call.fields, "previous_response_id", inbound.model_decoder)
        if rid:
            await st.responses_store.check_claim(owner, rid, "previous_response_id" if method == "POST" else None)
    body = passthrough.with_model(call, call.model) if method == "POST" else None
    try:
        # Retried like every upstream attempt; headers are rebuilt for each pool key.
        _, resp = await attempts(request, call, lambda: core.Outbound(
            url=url, headers=st.provider.headers(call.key), body=body, method=method, stream=call.stream))
    except core.Error as err:
        if err.status in (404, 405) and method == "POST":
            err.message += f" (this upstream may have no Responses API: set {st.common.prefix}_RESPONSES=translate)"
        raise
    try:
        if call.stream:
            events = responses.RelayEvents()
            down = RelayDownstream(request, events, claim if method == "POST" else None)
            return await stream_to_client(request, call, resp, events, None, down)
        body = passthrough.check_json(await read(request, resp))
        rid = responses.relayed_id(body) if claim is not None and method == "POST" else None
        if rid:
            await claim(rid)  # type: ignore[misc]
        elif claim is not None and method == "DELETE":
            await st.responses_store.unclaim(owner, call.id)
        return web.Response(body=body, content_type="application/json")
    except BaseException:
        resp.close()
        raise
    finally:
        resp.release()


async def create_response(request: web.Request) -> web.StreamResponse:
    call = await inbound.read_call(request, "resp", required=("input",))
    if request.app[STATE].policies.observe:  # token limits count Responses usage too
        return await served(request, call, lambda: _create_response(request, call), chat=False)
    return await _create_response(request, call)


async def _create_response(request: web.Request, call: core.Call) -> web.StreamResponse:
    st = request.app[STATE]
    if st.responses_relay is not None:
        return await _relay_responses(request, call, "")
    req = await offload(len(call.body), responses.decode_request, call.body)
    history: list[oai.Message] = []
    if req.previous_response_id:
        prev = await st.responses_store.load(inbound.bearer(request), req.previous_response_id, "previous_response_id")
        history = responses.decode_messages(prev.messages)

    def translate() -> tuple[list[oai.Message], bytes]:
        turn = history + responses.to_messages(responses.input_items(req))
        return turn, oai.encode(responses.to_chat(req, turn, call.model))

    turn, chat = await offload(len(call.body), translate)
    rid = f"resp_{secrets.token_hex(20)}"
    skel = responses.skeleton(req, call.fields, rid, call.created, call.client_model or call.model)
    fields = call.fields

    async def keep(r: responses.Response) -> None:
        if req.store is False:
            return
        ids, items = responses.stored_items(req, fields, rid)
        record = responses.Stored(
            response=msgspec.Raw(responses.encode(r)),
            messages=msgspec.Raw(responses.encode_messages(turn + responses.output_messages(r))),
            item_ids=ids, items=items,
        )
        await st.responses_store.save(inbound.bearer(request), rid, record)  # responses belong to their credential

    encrypted = responses.ENCRYPTED in (req.include or ())
    down = ResponsesDownstream(request, skel, encrypted, responses.namespaces(req), keep)
    call = msgspec.structs.replace(
        call, id=st.new_id("chatcmpl"), body=chat, fields=inbound.fields_decoder.decode(chat), include_usage=call.stream
    )
    p = st.provider
    try:
        if st.local:
            return await local_chat(request, call, None, down)
        return await exchange(request, call, lambda: p.chat(st.settings, call), p.chat_result, p.ChatStream, down=down)
    except core.Error as err:
        err.param = responses.client_param(err.param)
        raise


async def _lookup_call(request: web.Request) -> core.Call:
    rid = request.match_info["id"]
    if not responses.valid_id(rid):
        raise not_found(rid)
    return core.Call(id=rid, created=int(time.time()), model="", client_model="", key=await inbound.upstream_key(request))


async def get_response(request: web.Request) -> web.StreamResponse:
    call = await _lookup_call(request)
    st = request.app[STATE]
    if st.responses_relay is not None:
        call.stream = request.query.get("stream", "").lower() == "true"  # a stored stream replayed
        return await _relay_responses(request, call, f"/{call.id}", "GET")
    if request.query.get("stream", "").lower() == "true":
        raise core.Error(400, "Replaying a stored response as a stream is not supported here.", param="stream", code="unsupported_value")
    stored = await st.responses_store.load(inbound.bearer(request), call.id)
    return web.Response(body=bytes(stored.response), content_type="application/json")


async def delete_response(request: web.Request) -> web.StreamResponse:
    call = await _lookup_call(request)
    st = request.app[STATE]
    if st.responses_relay is not None:
        return await _relay_responses(request, call, f"/{call.id}", "DELETE")
    await st.responses_store.drop(inbound.bearer(request), call.id)
    return web.Response(body=responses.encode(responses.DeletedResponse(id=call.id)), content_type="application/json")


async def response_input_items(request: web.Request) -> web.StreamResponse:
    call = await _lookup_call(request)
    st = request.app[STATE]
    if st.responses_relay is not None:
        return await _relay_responses(request, call, f"/{call.id}/input_items", "GET")
    limit, order, after = responses.page_params(request.query)
    stored = await st.responses_store.load(inbound.bearer(request), call.id)
    body = responses.item_list(stored.items, limit, order, after, stored.item_ids)
    return web.Response(body=body, content_type="application/json")
