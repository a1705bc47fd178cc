"""The sockets trustbot listens on, bound before any work starts (standard library only, so
that the CLI can name the error without importing the server)."""

from __future__ import annotations

import socket


class PortUnavailableError(Exception):
    """A port trustbot is to listen on that it cannot have (in use, or not allowed)."""


def listening_socket(host: str, port: int, setting: str) -> socket.socket:
    """A socket bound to host:port for uvicorn to serve on, or PortUnavailableError naming the
    setting: one line at start-up, where uvicorn would log its own error after start-up."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        reason = error.strerror or type(error).__name__
        raise PortUnavailableError(f"{setting}: cannot listen on {host}:{port}: {reason}") from None
    sock.set_inheritable(True)
    return sock
