"""The Python floor: a minimal aiohttp proxy that forwards request and response bytes.

One ClientSession; no parsing, auth, logging or translation. Usage: python forwarder.py PORT UPSTREAM
"""

from __future__ import annotations

import sys

import aiohttp
from aiohttp import web

SESSION = web.AppKey("session", aiohttp.ClientSession)


async def forward(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    upstream = request.app["upstream"] + request.path_qs
    async with request.app[SESSION].post(upstream, data=body, headers={"Content-Type": "application/json"}) as resp:
        if resp.content_type == "text/event-stream":
            out = web.StreamResponse(status=resp.status, headers={"Content-Type": "text/event-stream"})
            await out.prepare(request)
            async for chunk in resp.content.iter_any():
                await out.write(chunk)
            await out.write_eof()
            return out
        return web.Response(status=resp.status, body=await resp.read(), content_type=resp.content_type)


async def health(request: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ok"}', content_type="application/json")


async def session(app: web.Application):
    app[SESSION] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    yield
    await app[SESSION].close()


def main() -> None:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app["upstream"] = sys.argv[2].rstrip("/")
    app.cleanup_ctx.append(session)
    app.router.add_get("/healthz", health)
    app.router.add_post("/{tail:.*}", forward)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
