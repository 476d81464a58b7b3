"""Tiny outbound proxies on loopback: HTTP (absolute-form and CONNECT, RFC 9110 §9.3.6) and
SOCKS5 (RFC 1928, username/password per RFC 1929), each with optional credentials.

They record every accepted connection and what it asked for, so a test can prove that aoa
really goes through the proxy, authenticates, and reuses one connection across requests.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import struct
import threading
from dataclasses import dataclass, field


@dataclass
class Seen:
    target: str = ""  # host:port the client asked to reach
    method: str = ""  # CONNECT, GET, POST … (HTTP) or "socks5"
    auth: str | None = None  # user:pass as presented, None when none was sent
    refused: bool = False


@dataclass
class _Proxy:
    user: str | None = None
    password: str | None = None
    connections: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> "_Proxy":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("proxy did not start")
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()
        self._server.close()
        tasks = asyncio.all_tasks(self.loop)
        for t in tasks:
            t.cancel()
        self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self.loop.close()

    def stop(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)

    @property
    def accepted(self) -> list[Seen]:
        return [c for c in self.connections if not c.refused]

    def _credentials_ok(self, given: str | None) -> bool:
        if self.user is None:
            return True
        return given == f"{self.user}:{self.password}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def _splice(a_r, a_w, b_r, b_w) -> None:
    await asyncio.gather(_pipe(a_r, b_w), _pipe(b_r, a_w))


class HTTPProxy(_Proxy):
    @property
    def url(self) -> str:
        auth = f"{self.user}:{self.password}@" if self.user is not None else ""
        return f"http://{auth}127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        auth = None
        kept = [lines[0]]
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "proxy-authorization":
                scheme, _, token = value.strip().partition(" ")
                if scheme.lower() == "basic":
                    auth = base64.b64decode(token).decode()
                continue  # never forwarded to the origin
            kept.append(line)
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
        else:  # absolute-form: http://host:port/path
            hostport = target.split("://", 1)[1].split("/", 1)[0]
            host, _, port = hostport.rpartition(":")
            port = port or "80"
        seen = Seen(target=f"{host}:{port}", method=method, auth=auth)
        self.connections.append(seen)
        if not self._credentials_ok(auth):
            seen.refused = True
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"t\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        try:
            up_r, up_w = await asyncio.open_connection(host, int(port))
        except OSError:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        if method == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
        else:
            # The origin accepts absolute-form targets; later requests on this keep-alive
            # connection go to the same origin and are relayed blindly.
            up_w.write("\r\n".join(kept).encode("latin-1"))
            await up_w.drain()
        await _splice(reader, writer, up_r, up_w)


class SOCKS5Proxy(_Proxy):
    @property
    def url(self) -> str:
        auth = f"{self.user}:{self.password}@" if self.user is not None else ""
        return f"socks5://{auth}127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen = Seen(method="socks5")
        self.connections.append(seen)
        try:
            ver, n = await reader.readexactly(2)
            methods = await reader.readexactly(n)
            if ver != 5:
                raise ConnectionError
            want = 0x00 if self.user is None else 0x02
            if want not in methods:
                seen.refused = True
                writer.write(b"\x05\xff")
                await writer.drain()
                writer.close()
                return
            writer.write(bytes([5, want]))
            await writer.drain()
            if want == 0x02:
                _, ulen = await reader.readexactly(2)
                user = (await reader.readexactly(ulen)).decode()
                (plen,) = await reader.readexactly(1)
                password = (await reader.readexactly(plen)).decode()
                seen.auth = f"{user}:{password}"
                if not self._credentials_ok(seen.auth):
                    seen.refused = True
                    writer.write(b"\x01\x01")
                    await writer.drain()
                    writer.close()
                    return
                writer.write(b"\x01\x00")
                await writer.drain()
            _, cmd, _, atyp = await reader.readexactly(4)
            if atyp == 1:
                host = socket.inet_ntoa(await reader.readexactly(4))
            elif atyp == 3:
                (ln,) = await reader.readexactly(1)
                host = (await reader.readexactly(ln)).decode()
            else:
                host = socket.inet_ntop(socket.AF_INET6, await reader.readexactly(16))
            (port,) = struct.unpack("!H", await reader.readexactly(2))
            seen.target = f"{host}:{port}"
            if cmd != 1:
                writer.write(b"\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00")
                await writer.drain()
                writer.close()
                return
            try:
                up_r, up_w = await asyncio.open_connection(host, port)
            except OSError:
                writer.write(b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00")
                await writer.drain()
                writer.close()
                return
            writer.write(b"\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        await _splice(reader, writer, up_r, up_w)
