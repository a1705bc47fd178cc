"""A listening address on 127.0.0.1 that the OS picks, for the local servers of devtools."""

from __future__ import annotations

import socket


def bind_loopback_socket() -> socket.socket:
    """A TCP socket bound to 127.0.0.1 on a free port; the caller serves on it or closes it."""
    # proto=IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on accepted sockets
    # whose proto says TCP. Without it a response written in two pieces waits for the client's
    # delayed ACK: on a kept-alive connection (httpx, a shared aiohttp session) every call to a
    # devtools server took ~45 ms instead of ~1 ms.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock
