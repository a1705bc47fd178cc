"""The loopback socket helper the devtools servers listen on."""

from __future__ import annotations

import asyncio
import socket

from trustbot.devtools.loopback import bind_loopback_socket


async def test_accepted_connections_send_without_delay() -> None:
    # asyncio turns Nagle's algorithm off only on sockets whose proto is IPPROTO_TCP; with proto
    # 0 a response written in two pieces (headers, body) waited ~40 ms for the client's delayed
    # ACK, so every call on a kept-alive connection to the emulator took ~45 ms, not ~1 ms.
    sock = bind_loopback_socket()
    nodelay: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted_sock = writer.get_extra_info("socket")
        nodelay.set_result(accepted_sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(accepted, sock=sock)
    async with server:
        host, port = sock.getsockname()
        _, writer = await asyncio.open_connection(host, port)
        try:
            assert await asyncio.wait_for(nodelay, timeout=5) != 0
        finally:
            writer.close()
            await writer.wait_closed()
