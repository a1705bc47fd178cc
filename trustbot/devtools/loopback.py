"""A listening address on 127.0.0.1 that the OS picks, for the local servers of devtools."""

from __future__ import annotations

import socket


def bind_loopback_socket() -> socket.socket:
    """A TCP socket bound to 127.0.0.1 on a free port; the caller serves on it or closes it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock
