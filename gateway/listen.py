"""Binding the listening sockets before anything else starts, so that a port in use or a host
that does not resolve is one clear line naming the variable (exit 2), and the "serving on"
banner is only printed once aoa really listens."""

from __future__ import annotations

import errno
import socket

from providers.core import ConfigError


def bind(host: str, port: int, backlog: int = 1024) -> list[socket.socket]:
    """Listening sockets for every address `host` resolves to (like asyncio's create_server)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"AOA_HOST={host!r} does not resolve to an address here ({exc.strerror})") from None
    sockets: list[socket.socket] = []
    seen: set[tuple] = set()
    try:
        for family, kind, proto, _, addr in infos:
            if (family, addr) in seen:
                continue
            seen.add((family, addr))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(addr)
            except OSError as exc:
                raise ConfigError(_why(host, port, addr, exc)) from None
            sock.listen(backlog)
            sock.setblocking(False)
            if port == 0:  # every address on the same (first chosen) port
                port = sock.getsockname()[1]
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _why(host: str, port: int, addr: tuple, exc: OSError) -> str:
    where = f"{addr[0]}:{port}" if ":" not in str(addr[0]) else f"[{addr[0]}]:{port}"
    if exc.errno == errno.EADDRINUSE:
        return f"AOA_PORT={port}: {where} is already in use by another process; stop it or choose another AOA_PORT"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"AOA_PORT={port}: not allowed to listen on {where} (ports below 1024 need privileges); choose AOA_PORT ≥ 1024"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"AOA_HOST={host!r}: {addr[0]} is not an address of this machine; use 0.0.0.0, :: or one of its own addresses"
    return f"AOA_HOST={host!r} AOA_PORT={port}: cannot listen on {where} ({exc.strerror or exc})"
