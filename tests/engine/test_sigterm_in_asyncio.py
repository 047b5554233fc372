"""SIGTERM's exception must get through asyncio's socket transports, which swallow most exceptions."""

from __future__ import annotations

import asyncio
import socket

import pytest

from annalign.cli.exits import Terminated


class _SignalledOnRead(asyncio.Protocol):
    """A protocol whose callback is where the SIGTERM handler fires (as it may in any transport callback)."""

    def data_received(self, data: bytes) -> None:
        raise Terminated()


async def _read_with_signal() -> None:
    left, right = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(_SignalledOnRead, sock=left)
    try:
        right.send(b"x")
        await asyncio.sleep(0.5)  # the callback runs here; a swallowed exception would let this return
    finally:
        transport.close()
        right.close()


def test_terminated_raised_inside_a_transport_callback_reaches_the_caller() -> None:
    """asyncio logs and drops anything but SystemExit/KeyboardInterrupt raised there; a run then went on and exited 0."""
    with pytest.raises(Terminated) as caught:
        asyncio.run(_read_with_signal())
    assert caught.value.code == 143
