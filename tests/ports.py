"""A port for a server a test starts."""

from __future__ import annotations

import random
import socket


def free_port() -> int:
    """A port free now, below the kernel's ephemeral range (32768 and up on Linux): a port the
    kernel hands out could be taken, before the server binds it, as the local end of any
    connection this process makes (seen once: EADDRINUSE). Random, so that two suites run at
    once (.ci/run) seldom try the same one."""
    for _ in range(200):
        port = random.randint(20_000, 32_000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")
